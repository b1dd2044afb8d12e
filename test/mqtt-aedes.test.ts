/**
 * The core's MQTT engine (firmware/mqtt) over the Node socket, against a real broker (aedes, as
 * inside the mock platform), in the clear and over TLS. How the engine meets a broker that
 * misbehaves is the MQTT contract's business (mqtt-contract.test.ts); how the socket itself
 * connects, verifies and fails is node-socket.test.ts's.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { once } from "node:events";
import { Aedes, type AedesOptions, type AuthenticateError, type Client } from "aedes";
import { connectMqtt, type MqttConnectOptions } from "../firmware/mqtt/client";
import type { MqttHandlers, MqttSession } from "../firmware/mqtt/session";
import { createNodeClock } from "../hal/node/clock";
import { createNodeSocketTransport, type NodeSocketOptions } from "../hal/node/socket";
import { HalMqttError, HalNetworkError } from "../firmware/contracts";

interface Listening {
  url: string;
  stop(): Promise<void>;
}

/** A TCP server on 127.0.0.1:0 that forgets no socket on stop. */
async function listen(onSocket: (socket: net.Socket) => void): Promise<Listening> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    onSocket(socket);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Broker extends Listening {
  aedes: Aedes;
  clients: Map<string, Client>;
}

async function startBroker(options: AedesOptions = {}): Promise<Broker> {
  const aedes = await Aedes.createBroker(options);
  const clients = new Map<string, Client>();
  aedes.on("client", (client) => clients.set(client.id, client));
  const server = await listen((socket) => aedes.handle(socket));
  return {
    ...server,
    aedes,
    clients,
    async stop() {
      await server.stop();
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    },
  };
}

/** Handlers that record what the session reports. */
function recorder() {
  const messages: { topic: string; payload: string }[] = [];
  const closes: (Error | undefined)[] = [];
  let onMessage: (() => void) | undefined;
  let onClose: (() => void) | undefined;
  const handlers: MqttHandlers = {
    onMessage(topic, payload) {
      messages.push({ topic, payload: Buffer.from(payload).toString("utf8") });
      onMessage?.();
    },
    onClose(error) {
      closes.push(error);
      onClose?.();
    },
  };
  return {
    handlers,
    messages,
    closes,
    nextMessage: () => new Promise<void>((resolve) => (onMessage = resolve)),
    closed: () => new Promise<void>((resolve) => (closes.length > 0 ? resolve() : (onClose = resolve))),
  };
}

function connectOptions(url: string, extra: Partial<MqttConnectOptions> = {}): MqttConnectOptions {
  return { url, clientId: "dev-1", username: "user", password: "pass", keepAliveSeconds: 60, connectTimeoutMs: 5000, ...extra };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 50));

/** connectMqtt over a Node socket with these options, as the simulator's Hal does. */
function transportWith(options: NodeSocketOptions = {}) {
  const hal = { socket: createNodeSocketTransport(options), clock: createNodeClock() };
  return { connect: (connect: MqttConnectOptions, handlers: MqttHandlers) => connectMqtt(hal, connect, handlers) };
}

describe("the core's MQTT engine over the Node socket, against aedes", () => {
  const transport = transportWith();
  let stops: (() => Promise<void>)[] = [];
  let sessions: MqttSession[] = [];

  afterEach(async () => {
    for (const session of sessions) await session.close();
    for (const stop of stops.reverse()) await stop();
    stops = [];
    sessions = [];
  });

  async function broker(options: AedesOptions = {}): Promise<Broker> {
    const started = await startBroker(options);
    stops.push(() => started.stop());
    return started;
  }

  it("connects with clientId, username and password, and close() reports onClose without error", async () => {
    let seen: { id: string; username?: string; password?: string } | undefined;
    const b = await broker({
      authenticate(client, username, password, done) {
        seen = { id: client.id, username, password: password?.toString() };
        done(null, true);
      },
    });
    const rec = recorder();
    const session = await transport.connect(connectOptions(b.url), rec.handlers);
    assert.deepEqual(seen, { id: "dev-1", username: "user", password: "pass" });
    await session.close();
    await session.close(); // idempotent
    assert.deepEqual(rec.closes, [undefined]);
  });

  it("rejects with HalMqttError carrying the CONNACK code when credentials are refused", async () => {
    const b = await broker({
      authenticate(_client, _username, _password, done) {
        const error = new Error("bad credentials") as AuthenticateError;
        error.returnCode = 4;
        done(error, null);
      },
    });
    const rec = recorder();
    await assert.rejects(transport.connect(connectOptions(b.url), rec.handlers), (error: unknown) => {
      assert.ok(error instanceof HalMqttError);
      assert.equal(error.returnCode, 4);
      return true;
    });
    assert.deepEqual(rec.closes, [], "onClose is only for established sessions");
  });

  it("rejects a refused subscription with HalMqttError 0x80 and keeps the session", async () => {
    const b = await broker({
      authorizeSubscribe(_client, subscription, done) {
        done(null, subscription.topic.startsWith("forbidden/") ? null : subscription);
      },
    });
    const session = await transport.connect(connectOptions(b.url), recorder().handlers);
    sessions.push(session);
    await assert.rejects(session.subscribe("forbidden/x", 1), (error: unknown) => {
      assert.ok(error instanceof HalMqttError);
      assert.equal(error.returnCode, 0x80);
      return true;
    });
    await session.subscribe("allowed/x", 1);
  });

  for (const qos of [0, 1] as const) {
    it(`round-trips a QoS ${qos} publish through the broker to onMessage`, async () => {
      const b = await broker();
      const rec = recorder();
      const session = await transport.connect(connectOptions(b.url), rec.handlers);
      sessions.push(session);
      await session.subscribe("t/echo", qos);
      const arrived = rec.nextMessage();
      await session.publish("t/echo", Buffer.from(`hello ${qos}`), qos);
      await arrived;
      assert.deepEqual(rec.messages, [{ topic: "t/echo", payload: `hello ${qos}` }]);
    });
  }

  it("delivers a QoS 1 message from the broker and acknowledges it with PUBACK", async () => {
    const b = await broker();
    const rec = recorder();
    const session = await transport.connect(connectOptions(b.url), rec.handlers);
    sessions.push(session);
    await session.subscribe("down/control", 1);
    const acked = once(b.aedes, "ack");
    const arrived = rec.nextMessage();
    b.aedes.publish({ cmd: "publish", topic: "down/control", payload: Buffer.from('{"x":1}'), qos: 1, dup: false, retain: false }, () => {});
    await arrived;
    await acked;
    assert.deepEqual(rec.messages, [{ topic: "down/control", payload: '{"x":1}' }]);
  });

  it("reports a broker-side close through onClose(HalNetworkError) exactly once", async () => {
    const b = await broker();
    const rec = recorder();
    const session = await transport.connect(connectOptions(b.url), rec.handlers);
    b.clients.get("dev-1")!.close();
    await rec.closed();
    await tick();
    assert.equal(rec.closes.length, 1);
    assert.ok(rec.closes[0] instanceof HalNetworkError);
    await assert.rejects(session.publish("t", Buffer.from("late"), 1), HalNetworkError);
    await session.close(); // after a drop: no second onClose
    assert.equal(rec.closes.length, 1);
  });

  it("sends PINGREQ at the keep-alive interval", async () => {
    const b = await broker();
    const session = await transport.connect(connectOptions(b.url, { keepAliveSeconds: 1 }), recorder().handlers);
    sessions.push(session);
    const [, client] = await once(b.aedes, "ping");
    assert.equal((client as Client).id, "dev-1");
  });

  it("ends the session with the handler's own error when onMessage throws", async () => {
    const b = await broker();
    const rec = recorder();
    const bug = new Error("handler bug");
    const session = await transport.connect(connectOptions(b.url), {
      onMessage() {
        throw bug;
      },
      onClose: rec.handlers.onClose,
    });
    await session.subscribe("t/bug", 0);
    await session.publish("t/bug", Buffer.from("boom"), 0);
    await rec.closed();
    assert.deepEqual(rec.closes, [bug]);
  });

  it("rejects with HalNetworkError 'refused' when nothing listens", async () => {
    const server = await listen(() => {});
    await server.stop(); // the port is now closed
    await assert.rejects(transport.connect(connectOptions(server.url), recorder().handlers), (error: unknown) => {
      assert.ok(error instanceof HalNetworkError);
      assert.equal(error.code, "refused");
      return true;
    });
  });

  it("rejects URLs that are not mqtt:// or mqtts://", async () => {
    await assert.rejects(transport.connect(connectOptions("http://127.0.0.1:1"), recorder().handlers), HalNetworkError);
    await assert.rejects(transport.connect(connectOptions("not a url"), recorder().handlers), HalNetworkError);
  });

  describe("over TLS (mqtts://)", () => {
    let pem: { key: string; cert: string };
    let tlsUrl: string;
    let stopTls: () => Promise<void>;

    before(async () => {
      // A throwaway self-signed certificate for 127.0.0.1, made by the system openssl.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "explorer-mqtts-"));
      try {
        execFileSync("openssl", [
          "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
          "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
          "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem"),
        ], { stdio: "ignore" });
        pem = { key: fs.readFileSync(path.join(dir, "key.pem"), "utf8"), cert: fs.readFileSync(path.join(dir, "cert.pem"), "utf8") };
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
      const aedes = await Aedes.createBroker();
      const sockets = new Set<net.Socket>();
      const server = tls.createServer(pem, (socket) => {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
        aedes.handle(socket);
      });
      server.on("tlsClientError", () => {});
      server.listen(0, "127.0.0.1");
      await once(server, "listening");
      tlsUrl = `mqtts://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
      stopTls = async () => {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await new Promise<void>((resolve) => aedes.close(() => resolve()));
      };
    });

    after(() => stopTls());

    it("connects and round-trips a message when the broker's CA is trusted", async () => {
      const trusting = transportWith({ ca: pem.cert });
      const rec = recorder();
      const session = await trusting.connect(connectOptions(tlsUrl), rec.handlers);
      sessions.push(session);
      await session.subscribe("t/tls", 1);
      const arrived = rec.nextMessage();
      await session.publish("t/tls", Buffer.from("secure"), 1);
      await arrived;
      assert.deepEqual(rec.messages, [{ topic: "t/tls", payload: "secure" }]);
    });

    it("rejects with HalNetworkError 'tls' when the certificate is not trusted", async () => {
      await assert.rejects(transport.connect(connectOptions(tlsUrl), recorder().handlers), (error: unknown) => {
        assert.ok(error instanceof HalNetworkError);
        assert.equal(error.code, "tls");
        return true;
      });
    });
  });
});
