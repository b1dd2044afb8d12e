import { strict as assert } from "node:assert";
import { connect as netConnect, type Socket } from "node:net";
import mqtt from "mqtt";
import mqttPacket from "mqtt-packet";
import { startPlatform, type RunningPlatform } from "../simulator/platform/index";
import { MAX_MQTT_PACKET_BYTES } from "../simulator/platform/broker";
import { PID, SECRET, mqttCredentials, registerDevice, registerPsk, signedHeaders, testConfig } from "./platform-helpers";

function openSocket(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = netConnect(Number(port), hostname, () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Resolves with everything the server sent once it closes the connection. */
function untilClosed(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    socket.on("data", (chunk) => (text += chunk.toString("latin1")));
    socket.on("error", () => undefined);
    socket.once("close", () => resolve(text));
  });
}

describe("platform: malformed, oversized and slow inputs leave the server serving others", function () {
  let platform: RunningPlatform;
  const sockets: Socket[] = [];

  beforeEach(async () => {
    platform = await startPlatform({
      memory: true, config: testConfig(), mqttConnectTimeoutMs: 500,
      httpLimits: { headersTimeoutMs: 400, requestTimeoutMs: 800, idleTimeoutMs: 1500, maxConnections: 20 },
    });
  });
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await platform.close();
  });

  async function stillServes(deviceName: string): Promise<void> {
    const answer = await registerDevice(platform.httpUrl, { deviceName });
    assert.equal(answer.json?.Response?.State, 0, answer.text);
  }

  it("answers a garbage request line with 400 and closes that socket only", async () => {
    const socket = await openSocket(platform.httpUrl);
    sockets.push(socket);
    const answer = untilClosed(socket);
    socket.write("\x00\x01GARBAGE \xff\xfe\r\n\r\n");
    const text = await answer;
    assert.match(text, /^HTTP\/1\.1 400/);
    assert.match(text, /\r\nDate: \w{3}, \d{2} \w{3} \d{4} /);
    await stillServes("dev001");
  });

  it("refuses headers over the size cap", async () => {
    const socket = await openSocket(platform.httpUrl);
    sockets.push(socket);
    const answer = untilClosed(socket);
    socket.write(`POST /device/register HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
    assert.match(await answer, /^HTTP\/1\.1 431/);
    await stillServes("dev001");
  });

  it("closes connections that trickle their headers (slowloris) while others register", async () => {
    const slow = await Promise.all(Array.from({ length: 10 }, () => openSocket(platform.httpUrl)));
    sockets.push(...slow);
    const closed = slow.map(untilClosed);
    for (const socket of slow) socket.write("POST /device/register HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    await stillServes("dev001");
    await Promise.all(closed); // the header timeout closes every one of them
  });

  it("closes a request whose body never completes", async () => {
    const socket = await openSocket(platform.httpUrl);
    sockets.push(socket);
    const answer = untilClosed(socket);
    socket.write("POST /device/register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"Pro");
    const text = await answer;
    assert.ok(text === "" || /^HTTP\/1\.1 408/.test(text), text);
    await stillServes("dev001");
  });

  it("stops reading a chunked body at the cap and answers BodyTooLarge", async () => {
    const socket = await openSocket(platform.httpUrl);
    sockets.push(socket);
    const answer = untilClosed(socket);
    const body = JSON.stringify({ ProductId: PID, DeviceName: "dev001" });
    const headers = signedHeaders({ secret: SECRET, host: "127.0.0.1", body });
    socket.write(`POST /device/register HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join("\r\n")}\r\n\r\n`);
    const chunk = "x".repeat(1024);
    for (let i = 0; i < 64 && !socket.destroyed; i++) socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    const text = await answer;
    assert.match(text, /InvalidParameter\.BodyTooLarge/);
    assert.match(text, /Connection: close/i);
    await stillServes("dev002");
  });

  it("caps concurrent HTTP connections and recovers when they go", async () => {
    // Timeouts far beyond the test timeout: only the cap can close the extra socket.
    const capped = await startPlatform({
      memory: true, config: testConfig(),
      httpLimits: { headersTimeoutMs: 120_000, requestTimeoutMs: 120_000, idleTimeoutMs: 120_000, maxConnections: 5 },
    });
    try {
      const idle = await Promise.all(Array.from({ length: 5 }, () => openSocket(capped.httpUrl)));
      sockets.push(...idle);
      const extra = await openSocket(capped.httpUrl).catch(() => undefined);
      if (extra) {
        sockets.push(extra);
        await untilClosed(extra); // over the cap: dropped at once
      }
      for (const socket of idle) socket.destroy();
      // The server counts them gone once their close events run.
      for (let attempt = 0; ; attempt++) {
        const answer = await registerDevice(capped.httpUrl, { deviceName: "dev001" }).catch(() => undefined);
        if (answer?.json?.Response?.State === 0) break;
        if (attempt > 50) assert.fail("the server did not recover after the idle connections closed");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await capped.close();
    }
  });

  it("frees the sockets of 2,100 idle clients that neither read nor close once their header timeout is answered: a registration succeeds within 6 s", async function () {
    this.timeout(60_000);
    // Short header timeouts, and an idle timeout no test waits for: only destroying the
    // timed-out sockets can make room under the default cap of 2,048 connections.
    const flooded = await startPlatform({
      memory: true, config: testConfig(),
      httpLimits: { headersTimeoutMs: 500, requestTimeoutMs: 500, idleTimeoutMs: 120_000, maxConnections: 2048 },
    });
    const idle: Socket[] = [];
    try {
      const { hostname, port } = new URL(flooded.httpUrl);
      // allowHalfOpen and paused: the server's FIN (or its 408) is never read nor answered, as a stalled client does.
      const open = () => new Promise<void>((resolve) => {
        const socket = netConnect({ port: Number(port), host: hostname, allowHalfOpen: true }, () => resolve());
        socket.pause();
        socket.on("error", () => resolve()); // past the cap the server drops the connection
        socket.once("close", () => resolve());
        idle.push(socket);
      });
      for (let i = 0; i < 2100; i += 300) await Promise.all(Array.from({ length: Math.min(300, 2100 - i) }, open));
      const flooding = Date.now();
      for (;;) {
        const answer = await registerDevice(flooded.httpUrl, { deviceName: "dev001" }).catch(() => undefined);
        if (answer?.json?.Response?.State === 0) break;
        if (Date.now() - flooding > 6_000) assert.fail("no registration got through within 6 s of the flood");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      for (const socket of idle) socket.destroy();
      await flooded.close();
    }
  });

  it("logs registrations the client abandons mid-body as aborted, at debug level, one line a second with the count left out; never InternalError, in the log or the console", async () => {
    let clock = Date.now();
    const lines: Array<Record<string, unknown>> = [];
    const watched = await startPlatform({ memory: true, config: testConfig(), now: () => clock, log: (event) => lines.push(event) });
    const aborted = () => lines.filter((line) => line.event === "register" && line.outcome === "aborted");
    const abandon = async () => {
      const socket = await openSocket(watched.httpUrl);
      socket.on("error", () => undefined);
      socket.write("POST /device/register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"Pro");
      await new Promise((resolve) => setTimeout(resolve, 20)); // the server reads the headers and waits for the body
      socket.resetAndDestroy();
    };
    const until = async (check: () => boolean, what: string) => {
      for (let i = 0; !check(); i++) {
        if (i > 200) assert.fail(`${what}: ${JSON.stringify(lines)}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };
    try {
      for (let i = 0; i < 30; i++) await abandon();
      await until(() => aborted().length === 1, "the first abandoned request is logged");
      await new Promise((resolve) => setTimeout(resolve, 300)); // the other 29 are seen (and left out) meanwhile
      clock += 1_000;
      await abandon();
      await until(() => aborted().length === 2, "a second line once the interval has passed");
      assert.deepEqual(aborted().map((line) => [line.level, line.suppressed]), [["debug", undefined], ["debug", 29]]);
      assert.equal(lines.filter((line) => line.outcome === "InternalError").length, 0, JSON.stringify(lines));
      assert.doesNotMatch(JSON.stringify(watched.events.recent()), /InternalError|request aborted/);
      assert.match(JSON.stringify(watched.events.recent()), /the client left before its request was complete \(29 more not shown\)/);
    } finally {
      await watched.close();
    }
  });

  it("logs a Cloud API call abandoned mid-body as aborted at debug level, not InternalError", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const watched = await startPlatform({ memory: true, config: testConfig(), log: (event) => lines.push(event) });
    try {
      const socket = await openSocket(watched.httpUrl);
      socket.on("error", () => undefined);
      socket.write("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-TC-Action: DescribeDevice\r\nContent-Length: 100\r\n\r\n{\"Pro");
      await new Promise((resolve) => setTimeout(resolve, 50));
      socket.resetAndDestroy();
      for (let i = 0; !lines.some((line) => line.event === "cloudapi"); i++) {
        if (i > 200) assert.fail("no cloudapi line");
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      assert.deepEqual(lines.filter((line) => line.event === "cloudapi").map((line) => [line.outcome, line.level, line.action]), [["aborted", "debug", "DescribeDevice"]]);
    } finally {
      await watched.close();
    }
  });

  it("caps concurrent MQTT connections per listener", async () => {
    // A CONNECT timeout far beyond the test timeout: only the cap can close the extra socket.
    const capped = await startPlatform({ memory: true, config: testConfig(), maxMqttConnections: 3, mqttConnectTimeoutMs: 120_000 });
    try {
      const held = await Promise.all(Array.from({ length: 3 }, () => openSocket(capped.mqttUrl)));
      sockets.push(...held);
      const extra = await openSocket(capped.mqttUrl).catch(() => undefined);
      if (extra) {
        sockets.push(extra);
        await untilClosed(extra);
      }
      for (const socket of held) socket.destroy();
      const psk = await registerPsk(capped.httpUrl, "dev002");
      for (let attempt = 0; ; attempt++) {
        const client = await mqtt.connectAsync(capped.mqttUrl, { ...mqttCredentials(PID, "dev002", psk), reconnectPeriod: 0, connectTimeout: 2000 }).catch(() => undefined);
        if (client) { await client.endAsync(); break; }
        if (attempt > 50) assert.fail("the broker did not accept connections again");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await capped.close();
      await capped.close(); // close is idempotent
    }
  });

  it("closes MQTT sockets that send garbage or no CONNECT, and still accepts devices", async () => {
    const garbage = await openSocket(platform.mqttUrl);
    const silent = await openSocket(platform.mqttUrl);
    sockets.push(garbage, silent);
    const closedGarbage = untilClosed(garbage);
    const closedSilent = untilClosed(silent);
    garbage.write(Buffer.from([0xf0, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x01]));
    await closedGarbage;
    await closedSilent; // the CONNECT timeout
    const psk = await registerPsk(platform.httpUrl, "dev003");
    const client = await mqtt.connectAsync(platform.mqttUrl, { ...mqttCredentials(PID, "dev003", psk), reconnectPeriod: 0 });
    await client.endAsync();
  });

  it("closes an MQTT connection that streams an oversized packet", async () => {
    const psk = await registerPsk(platform.httpUrl, "dev004");
    const socket = await openSocket(platform.mqttUrl);
    sockets.push(socket);
    const closed = untilClosed(socket);
    const credentials = mqttCredentials(PID, "dev004", psk);
    socket.write(mqttPacket.generate({ cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clean: true, keepalive: 60, ...credentials, password: Buffer.from(credentials.password) }));
    // A PUBLISH of 1 MiB: the broker must drop the connection rather than buffer and route it.
    const topic = `$thing/up/property/${PID}/dev004`;
    const routed: string[] = [];
    platform.broker.aedes.on("publish", (packet) => { if (packet.topic === topic) routed.push(packet.topic); });
    const publish = mqttPacket.generate({ cmd: "publish", topic, payload: Buffer.alloc(1024 * 1024), qos: 0, dup: false, retain: false });
    assert.ok(publish.length > MAX_MQTT_PACKET_BYTES);
    for (let sent = 0; sent < publish.length && !socket.destroyed; sent += 16 * 1024) {
      await new Promise<void>((resolve) => socket.write(publish.subarray(sent, sent + 16 * 1024), () => resolve()));
    }
    await closed;
    assert.deepEqual(routed, []);
    await stillServes("dev005");
  });
});
