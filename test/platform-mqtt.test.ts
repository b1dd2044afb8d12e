import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { connect as tlsConnect } from "node:tls";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import mqtt, { MqttClient, type IClientOptions } from "mqtt";
import { startPlatform, type RunningPlatform } from "../simulator/platform/index";
import { apiClient, apiTarget } from "./cloud-api-helpers";
import { CERT_PID, CERT_SECRET, PID, decrypt, mqttCredentials, nowSeconds, registerDevice, registerPsk, tempDir, testConfig } from "./platform-helpers";
import { describeStores } from "./lib/store-matrix";

const clients: MqttClient[] = [];

async function connect(url: string, options: IClientOptions): Promise<MqttClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
  clients.push(client);
  return new Promise((resolve, reject) => {
    client.once("connect", () => resolve(client));
    client.once("error", (error) => reject(error));
    client.once("close", () => reject(new Error("closed before CONNACK")));
  });
}

/** The CONNACK return code of a refused CONNECT. */
async function refusal(url: string, options: IClientOptions): Promise<number> {
  try {
    await connect(url, options);
  } catch (error) {
    return (error as { code?: number }).code ?? -1;
  }
  throw new Error("CONNECT was accepted");
}

function nextMessage(client: MqttClient, topic: string): Promise<any> {
  return new Promise((resolve) => {
    const onMessage = (received: string, payload: Buffer) => {
      if (received !== topic) return;
      client.off("message", onMessage);
      resolve(JSON.parse(payload.toString()));
    };
    client.on("message", onMessage);
  });
}

function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => (client.connected ? client.once("close", () => resolve()) : resolve()));
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.endAsync(true).catch(() => undefined)));
});

describeStores("platform: MQTT CONNECT with PSK credentials (docs/PROTOCOL.md §5)", function (store) {
  let platform: RunningPlatform;
  let psk: string;
  const events: Array<Record<string, unknown>> = [];

  beforeEach(async () => {
    events.length = 0;
    platform = await startPlatform({ ...(await store.options()), config: testConfig(), log: (event) => events.push(event) });
    psk = await registerPsk(platform.httpUrl, "dev001");
  });
  afterEach(async () => platform.close());

  for (const algorithm of ["hmacsha256", "hmacsha1"] as const) {
    it(`accepts a registered device (${algorithm}) and activates it on the first CONNECT`, async () => {
      assert.equal((await platform.registry.getDevice(PID, "dev001"))?.state, "registered");
      await connect(platform.mqttUrl, mqttCredentials(PID, "dev001", psk, { algorithm }));
      const device = (await platform.registry.getDevice(PID, "dev001"))!;
      assert.equal(device.state, "activated");
      assert.ok(device.activatedAt! >= device.registeredAt!);
      const accepted = events.filter((event) => event.event === "connect" && event.outcome === "accepted");
      assert.equal(accepted.length, 1);
      assert.equal(accepted[0].activated, true);
      // Nothing the platform logs carries the secret.
      assert.ok(!JSON.stringify(events).includes(psk));
    });
  }

  it("accepts MQTT 3.1 (MQIsdp) clients with a long client id", async () => {
    await connect(platform.mqttUrl, { ...mqttCredentials(PID, "dev001", psk), protocolVersion: 3, protocolId: "MQIsdp" });
  });

  it("treats a millisecond expiry as valid, and refuses an expiry more than 300 s in the past", async () => {
    await connect(platform.mqttUrl, mqttCredentials(PID, "dev001", psk, { expiry: Date.now() + 60_000 }));
    assert.equal(await refusal(platform.mqttUrl, mqttCredentials(PID, "dev001", psk, { expiry: nowSeconds() - 310 })), 4);
    assert.equal(await refusal(platform.mqttUrl, mqttCredentials(PID, "dev001", psk, { expiry: Date.now() - 310_000 })), 4);
  });

  it("accepts Tencent's Python SDK username, whose expiry is its signing time in ms (already past on arrival)", async () => {
    // hub/protocol/protocol.py signs with int(round(time.time() * 1000)): the device's "now".
    await connect(platform.mqttUrl, mqttCredentials(PID, "dev001", psk, { expiry: Date.now() - 2_000 }));
    await connect(platform.mqttUrl, mqttCredentials(PID, "dev001", psk, { expiry: nowSeconds() - 2 }));
  });

  it("refuses a wrong password, a password of another device's PSK and a malformed password", async () => {
    const good = mqttCredentials(PID, "dev001", psk);
    assert.equal(await refusal(platform.mqttUrl, { ...good, password: good.password.replace(/^./, (c) => (c === "a" ? "b" : "a")) }), 4);
    const other = await registerPsk(platform.httpUrl, "dev002");
    assert.equal(await refusal(platform.mqttUrl, { ...good, password: mqttCredentials(PID, "dev001", other).password }), 4);
    for (const password of ["", "nothex;hmacsha256", good.password.replace("hmacsha256", "hmacmd5"), good.password.split(";")[0], good.password.slice(2)]) {
      assert.equal(await refusal(platform.mqttUrl, { ...good, password }), 4, password);
    }
    // The key is the decoded PSK, not its Base64 text.
    const { createHmac } = await import("node:crypto");
    const base64Keyed = createHmac("sha256", psk).update(good.username).digest("hex") + ";hmacsha256";
    assert.equal(await refusal(platform.mqttUrl, { ...good, password: base64Keyed }), 4);
    assert.equal((await platform.registry.getDevice(PID, "dev001"))?.state, "registered", "refused CONNECTs do not activate");
  });

  it("refuses a wrong client id, a username for another client id and malformed usernames", async () => {
    const good = mqttCredentials(PID, "dev001", psk);
    assert.equal(await refusal(platform.mqttUrl, { ...good, clientId: `${PID}nosuchdev` }), 2);
    assert.equal(await refusal(platform.mqttUrl, { ...good, clientId: `${PID}dev002` }), 5); // known, never registered
    const [, appId, connId, expiry] = good.username.split(";");
    for (const username of [`${PID}dev002;${appId};${connId};${expiry}`, `${good.clientId};${appId};${connId}`,
      `${good.clientId};app;${connId};${expiry}`, `${good.clientId};${appId};ab;${expiry}`, `${good.clientId};${appId};${connId};soon`]) {
      const password = mqttCredentials(PID, "dev001", psk).password; // signed over another username anyway
      assert.equal(await refusal(platform.mqttUrl, { clientId: good.clientId, username, password }), 4, username);
    }
    assert.equal(await refusal(platform.mqttUrl, { clientId: good.clientId }), 4);
  });

  it("accepts a keep-alive up to 690 s (or none) and refuses a longer one", async () => {
    await connect(platform.mqttUrl, { ...mqttCredentials(PID, "dev001", psk), keepalive: 690 });
    await connect(platform.mqttUrl, { ...mqttCredentials(PID, "dev001", psk), keepalive: 0 });
    assert.equal(await refusal(platform.mqttUrl, { ...mqttCredentials(PID, "dev001", psk), keepalive: 691 }), 5);
  });

  it("refuses an unregistered device (pre-created, no secret yet)", async () => {
    const made = mqttCredentials(PID, "dev003", Buffer.alloc(16, 7).toString("base64"));
    assert.equal(await refusal(platform.mqttUrl, made), 5);
    assert.equal((await platform.registry.getDevice(PID, "dev003"))?.state, "created");
  });

  it("after activation, registration is refused, and the device still connects", async () => {
    await (await connect(platform.mqttUrl, mqttCredentials(PID, "dev001", psk))).endAsync();
    const refused = await registerDevice(platform.httpUrl, { deviceName: "dev001" });
    assert.equal(refused.json.Response.Error.Code, "FailedOperation.DeviceAlreadyActivated");
    await connect(platform.mqttUrl, mqttCredentials(PID, "dev001", psk));
  });
});

describeStores("platform: topic ACL and data template", function (store) {
  let platform: RunningPlatform;
  let device: MqttClient;
  const up = `$thing/up/property/${PID}/dev001`;
  const down = `$thing/down/property/${PID}/dev001`;

  beforeEach(async () => {
    platform = await startPlatform({ ...(await store.options()), config: testConfig() });
    const psk = await registerPsk(platform.httpUrl, "dev001");
    device = await connect(platform.mqttUrl, mqttCredentials(PID, "dev001", psk));
  });
  afterEach(async () => platform.close());

  it("grants the device's own down topics and refuses others' and wildcards", async () => {
    const granted = await device.subscribeAsync([down, `$thing/down/event/${PID}/dev001`, `$thing/down/action/${PID}/dev001`]);
    assert.deepEqual(granted.map((grant) => grant.qos), [0, 0, 0]);
    // MQTT.js turns a SUBACK with 0x80 into an error that carries the packet.
    const suback = await device.subscribeAsync([`$thing/down/property/${PID}/dev002`, `$thing/down/property/${PID}/+`, "#", up, "$thing/down/property/OTHERPROD1/dev001"])
      .then(() => undefined, (error: { packet?: { granted: number[] } }) => error.packet);
    assert.deepEqual(suback?.granted, [128, 128, 128, 128, 128]);
    assert.ok(device.connected);
  });

  it("disconnects a device that publishes to another device's topic", async () => {
    const gone = closed(device);
    device.publish(`$thing/up/property/${PID}/dev002`, "{}");
    await gone;
  });

  it("disconnects a device that publishes to its own down topic", async () => {
    const gone = closed(device);
    device.publish(down, "{}");
    await gone;
  });

  it("answers every report with report_reply carrying the same clientToken and code 0", async () => {
    await device.subscribeAsync(down);
    for (const clientToken of ["t-1", "t-2"]) {
      const reply = nextMessage(device, down);
      await device.publishAsync(up, JSON.stringify({ method: "report", clientToken, timestamp: nowSeconds(), params: { power: 1 } }), { qos: 1 });
      assert.deepEqual(await reply, { method: "report_reply", clientToken, code: 0, status: "success" });
    }
  });

  it("answers a malformed report with a non-zero code, and ignores non-JSON without disconnecting", async () => {
    await device.subscribeAsync(down);
    const reply = nextMessage(device, down);
    await device.publishAsync(up, JSON.stringify({ method: "report", clientToken: "t-3", params: [1] }));
    const answer = await reply;
    assert.equal(answer.clientToken, "t-3");
    assert.notEqual(answer.code, 0);
    await device.publishAsync(up, Buffer.from([0xff, 0x00, 0x01]));
    const next = nextMessage(device, down);
    await device.publishAsync(up, JSON.stringify({ method: "report", clientToken: "t-4", params: {} }));
    assert.equal((await next).code, 0);
  });

  it("answers an event_post with event_reply on the event down topic", async () => {
    const eventDown = `$thing/down/event/${PID}/dev001`;
    await device.subscribeAsync(eventDown);
    const reply = nextMessage(device, eventDown);
    await device.publishAsync(`$thing/up/event/${PID}/dev001`, JSON.stringify({ method: "event_post", clientToken: "e-1", eventId: "alarm", type: "alert", params: {} }));
    const answer = await reply;
    assert.deepEqual([answer.method, answer.clientToken, answer.code], ["event_reply", "e-1", 0]);
  });

  it("delivers a control message (ControlDeviceData) and records the device's control_reply", async () => {
    await device.subscribeAsync(down, { qos: 1 });
    const control = nextMessage(device, down);
    const sent = await apiClient(apiTarget(platform)).ControlDeviceData({ ProductId: PID, DeviceName: "dev001", Data: JSON.stringify({ power_switch: 1 }) });
    assert.deepEqual(JSON.parse(sent.Result!), { Sent: 1, pushResult: 0 });
    const { clientToken } = JSON.parse(sent.Data!) as { clientToken: string };
    const received = await control;
    assert.deepEqual(received, { method: "control", clientToken, params: { power_switch: 1 } });
    await device.publishAsync(up, JSON.stringify({ method: "control_reply", clientToken, code: 0, status: "ok" }), { qos: 1 });
    let controls = await platform.registry.listControls(PID, "dev001");
    for (let i = 0; i < 50 && !controls[0]?.reply; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      controls = await platform.registry.listControls(PID, "dev001");
    }
    assert.equal(controls.length, 1);
    assert.equal(controls[0].clientToken, clientToken);
    assert.deepEqual({ code: controls[0].reply?.code, status: controls[0].reply?.status }, { code: 0, status: "ok" });
  });

  it("keeps a control message for an offline device for its next get_status (pushResult 23101)", async () => {
    const sent = await apiClient(apiTarget(platform)).ControlDeviceData({ ProductId: PID, DeviceName: "dev002", Data: JSON.stringify({ a: 1 }) });
    assert.deepEqual(JSON.parse(sent.Result!), { Sent: 0, pushResult: 23101 });
    assert.deepEqual(await platform.thing.pendingControl(PID, "dev002"), { a: 1 });
  });

  it("disconnects a device deleted through the Cloud API", async () => {
    const gone = closed(device);
    await apiClient(apiTarget(platform)).DeleteDevice({ ProductId: PID, DeviceName: "dev001" });
    await gone;
  });
});

describeStores("platform: MQTT over TLS: PSK, server-auth and certificates on one port", function (store) {
  let platform: RunningPlatform;
  let temp: ReturnType<typeof tempDir>;
  let serverCert: string;

  before(() => {
    temp = tempDir("explorer-xs-tls-");
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", join(temp.dir, "server.key"), "-out", join(temp.dir, "server.pem"), "-days", "2",
      "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
  });
  after(() => temp.remove());

  beforeEach(async () => {
    const { readFileSync } = await import("node:fs");
    serverCert = readFileSync(join(temp.dir, "server.pem"), "utf8");
    platform = await startPlatform({
      ...(await store.options()), config: testConfig(),
      tls: { key: readFileSync(join(temp.dir, "server.key")), cert: serverCert },
    });
  });
  afterEach(async () => platform.close());

  it("serves registration over HTTPS and PSK devices over MQTT/TLS", async () => {
    const https = await import("node:https");
    const body = JSON.stringify({ ProductId: PID, DeviceName: "dev001" });
    const { signedHeaders } = await import("./platform-helpers");
    const url = new URL(platform.httpsUrl!);
    const answer = await new Promise<any>((resolve, reject) => {
      const req = https.request({ host: url.hostname, port: url.port, path: "/device/register", method: "POST", ca: serverCert, agent: false,
        headers: { ...signedHeaders({ secret: "hzvf5LF9S0isvBhDSauWMaIk", host: "127.0.0.1", body }), "Content-Length": String(body.length) } }, (res) => {
        let text = "";
        res.on("data", (chunk) => (text += chunk));
        res.on("end", () => resolve(JSON.parse(text)));
      });
      req.on("error", reject);
      req.end(body);
    });
    const psk = decrypt("hzvf5LF9S0isvBhDSauWMaIk", answer.Response.Payload).psk;
    await connect(platform.mqttTlsUrl!, { ...mqttCredentials(PID, "dev001", psk), ca: serverCert });
    assert.equal((await platform.registry.getDevice(PID, "dev001"))?.state, "activated");
  });

  it("accepts a cert product's device by its client certificate from the mock CA", async () => {
    const answer = await registerDevice(platform.httpUrl, { productId: CERT_PID, secret: CERT_SECRET, deviceName: "cam001" });
    const { clientCert, clientKey } = decrypt(CERT_SECRET, answer.json.Response.Payload);
    const { username } = mqttCredentials(CERT_PID, "cam001", Buffer.alloc(16).toString("base64"));
    // Over plain TCP, or over TLS without its certificate, it is refused.
    assert.equal(await refusal(platform.mqttUrl, { clientId: `${CERT_PID}cam001`, username, password: "x;hmacsha256" }), 5);
    assert.equal(await refusal(platform.mqttTlsUrl!, { clientId: `${CERT_PID}cam001`, username, ca: serverCert }), 5);
    await connect(platform.mqttTlsUrl!, { clientId: `${CERT_PID}cam001`, username, ca: serverCert, cert: clientCert, key: clientKey });
    assert.equal((await platform.registry.getDevice(CERT_PID, "cam001"))?.state, "activated");
  });

  it("accepts TLS-PSK with identity ProductId+DeviceName and the decoded PSK as key", async () => {
    const psk = await registerPsk(platform.httpUrl, "dev002");
    const url = new URL(platform.mqttTlsUrl!);
    const open = (key: Buffer) => () => tlsConnect({
      host: url.hostname, port: Number(url.port), maxVersion: "TLSv1.2", ciphers: "PSK-AES128-CBC-SHA256:PSK-AES128-GCM-SHA256",
      checkServerIdentity: () => undefined,
      pskCallback: () => ({ identity: `${PID}dev002`, psk: key }),
    });
    const { username } = mqttCredentials(PID, "dev002", psk);
    const client = new MqttClient(open(Buffer.from(psk, "base64")), { clientId: `${PID}dev002`, username, reconnectPeriod: 0, connectTimeout: 5000 } as any);
    clients.push(client);
    await new Promise<void>((resolve, reject) => { client.once("connect", () => resolve()); client.once("error", reject); });
    assert.equal((await platform.registry.getDevice(PID, "dev002"))?.state, "activated");

    const wrong = new MqttClient(open(Buffer.alloc(16, 1)), { clientId: `${PID}dev002`, username, reconnectPeriod: 0, connectTimeout: 3000 } as any);
    clients.push(wrong);
    await new Promise<void>((resolve) => {
      wrong.once("connect", () => { throw new Error("a wrong PSK was accepted"); });
      wrong.once("error", () => resolve());
      wrong.once("close", () => resolve());
    });
    assert.equal(wrong.connected, false);
  });
});

describe("platform: restart persistence with a data folder", () => {
  it("keeps registrations, activations, secrets and the CA across a restart", async () => {
    const temp = tempDir("explorer-xs-data-");
    try {
      const first = await startPlatform({ dataDir: temp.dir, config: testConfig() });
      const psk = await registerPsk(first.httpUrl, "dev001");
      await registerPsk(first.httpUrl, "dev002");
      const client = await connect(first.mqttUrl, mqttCredentials(PID, "dev001", psk));
      await client.endAsync();
      const ca = (await first.certAuthority()).caCertPem;
      await first.close();

      const second = await startPlatform({ dataDir: temp.dir, config: testConfig() });
      try {
        assert.equal((await second.registry.getDevice(PID, "dev001"))?.state, "activated");
        assert.equal((await second.registry.getDevice(PID, "dev002"))?.state, "registered");
        assert.equal((await second.certAuthority()).caCertPem, ca);
        assert.equal((await registerDevice(second.httpUrl, { deviceName: "dev001" })).json.Response.Error.Code, "FailedOperation.DeviceAlreadyActivated");
        const again = await registerDevice(second.httpUrl, { deviceName: "dev002" });
        assert.equal(again.json.Response.State, 1);
        await connect(second.mqttUrl, mqttCredentials(PID, "dev001", psk));
      } finally {
        await second.close();
      }
    } finally {
      temp.remove();
    }
  });

  it("refuses, after a restart, a nonce seen before it", async () => {
    const temp = tempDir("explorer-xs-data-");
    try {
      const { signedHeaders, post } = await import("./platform-helpers");
      const body = JSON.stringify({ ProductId: PID, DeviceName: "dev003" });
      const headers = { ...signedHeaders({ secret: "hzvf5LF9S0isvBhDSauWMaIk", host: "127.0.0.1", body }), Host: "127.0.0.1" };
      const first = await startPlatform({ dataDir: temp.dir, config: testConfig() });
      assert.equal((await post(first.httpUrl, "/device/register", body, headers)).json.Response.State, 0);
      await first.close();
      const second = await startPlatform({ dataDir: temp.dir, config: testConfig() });
      try {
        assert.equal((await post(second.httpUrl, "/device/register", body, headers)).json.Response.Error.Code, "AuthFailure.NonceReplayed");
      } finally {
        await second.close();
      }
    } finally {
      temp.remove();
    }
  });
});
