/**
 * Fuzzing the device-side parsers with fast-check: every input gives a valid result or a typed
 * error (ExplorerError / DynregError / RecordStoreError), never another exception.
 */
import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { createServer, type Server, type Socket, type AddressInfo } from "node:net";
import * as mqttPacket from "mqtt-packet";
import { connectMqtt } from "../../firmware/mqtt/client";
import { createNodeClock } from "../../hal/node/clock";
import { createNodeSocketTransport } from "../../hal/node/socket";
import { HalMqttError, HalNetworkError } from "../../firmware/contracts";
import { checkProperty } from "./lib/fuzz";
import { parseRegisterReply, decryptRegisterPayload, parseRegisterCredentials } from "../../firmware/dynreg-response";
import { parseDownMessage } from "../../firmware/data-template";
import { ExplorerError } from "../../firmware/errors";
import { inspectFlash, loadDevInfo, RECORD_NAMESPACE } from "../../firmware/record-store";
import { seal } from "../../firmware/seal";
import { utf8Encode } from "../../firmware/encoding";
import { createMemoryFlash } from "../../hal/node/flash";
import { nodeCrypto } from "../../hal/node/crypto";

const FAMILY = "fuzz: device parsers";
const SECRET = "fuzzProductSecretAbCdEf12";

function typedOnly(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    if (!(error instanceof ExplorerError)) throw error;
    assert.ok(error.code.length > 0 && error.message.length > 0);
  }
}

/** JSON texts shaped like the platform's answers, with every field possibly of the wrong type. */
const anyJson = fc.jsonValue({ maxDepth: 3 });
const replyLike = fc.oneof(
  fc.record({ Response: fc.record({ Len: anyJson, Payload: fc.oneof(anyJson, fc.base64String({ maxLength: 200 })), RequestId: anyJson, State: anyJson, Error: fc.option(fc.record({ Code: anyJson, Message: anyJson })) }, { requiredKeys: [] }) }),
  fc.record({ code: anyJson, message: anyJson, payload: fc.oneof(anyJson, fc.base64String({ maxLength: 200 })), requestId: anyJson }, { requiredKeys: [] }),
  anyJson,
).map((value) => JSON.stringify(value));

const credentialsLike = fc.oneof(
  fc.record({ encryptionType: fc.oneof(fc.constantFrom(1, 2, 0, 3, "2", null), anyJson), psk: fc.oneof(fc.base64String({ maxLength: 120 }), anyJson), clientCert: fc.oneof(fc.constant("-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----"), fc.string()), clientKey: fc.oneof(fc.constant("-----BEGIN PRIVATE KEY-----\nAA\n-----END PRIVATE KEY-----"), fc.string()) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  anyJson.map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 300 }),
);

describe("fuzz: device-side parsers", function () {
  this.timeout(120_000);

  it("parseRegisterReply: raw bytes and reply-shaped JSON", async () => {
    await checkProperty(FAMILY, fc.property(fc.oneof(fc.uint8Array({ maxLength: 2000 }), replyLike.map((text) => utf8Encode(text))), fc.integer({ min: 100, max: 599 }), (body, httpStatus) => {
      typedOnly(() => parseRegisterReply(body, { productId: "P", deviceName: "d", httpStatus }));
    }), 600);
  });

  it("decryptRegisterPayload: any text, any block count, any announced length", async () => {
    const payload = fc.oneof(fc.string({ maxLength: 300 }), fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b).toString("base64")));
    await checkProperty(FAMILY, fc.property(payload, fc.option(fc.integer({ min: -5, max: 600 }), { nil: undefined }), (text, len) => {
      typedOnly(() => decryptRegisterPayload(nodeCrypto, SECRET, text, len));
    }), 600);
  });

  it("parseRegisterCredentials: credential-shaped JSON and garbage, both auth modes", async () => {
    await checkProperty(FAMILY, fc.property(credentialsLike, fc.constantFrom("psk" as const, "cert" as const), (text, mode) => {
      typedOnly(() => {
        const result = parseRegisterCredentials(text, mode);
        assert.equal(result.encryptionType, mode === "psk" ? 2 : 1);
      });
    }), 600);
  });

  it("parseDownMessage: never throws, always a known kind", async () => {
    const downLike = fc.record({ method: fc.oneof(fc.constantFrom("report_reply", "control", "action", "get_status_reply", "event_reply", "clear_control_reply"), anyJson), clientToken: anyJson, code: anyJson, status: anyJson, params: anyJson }, { requiredKeys: [] }).map((v) => utf8Encode(JSON.stringify(v)));
    await checkProperty(FAMILY, fc.property(fc.oneof(fc.uint8Array({ maxLength: 1000 }), downLike), (payload) => {
      const message = parseDownMessage(payload);
      assert.ok(["report_reply", "control", "reply", "get_status_reply", "action", "other", "invalid"].includes(message.kind));
    }), 800);
  });

  it("record store reads of arbitrary flash contents (raw values and well-sealed garbage)", async () => {
    const storageKey = new Uint8Array(randomBytes(32));
    const hal = { crypto: nodeCrypto, storageKey: () => Uint8Array.from(storageKey) };
    const sealedJson = fc.oneof(
      anyJson,
      fc.record({ v: fc.oneof(fc.constant(1), anyJson), slot: fc.constantFrom("A", "B", "C", 1), seq: fc.oneof(fc.nat(), anyJson), info: anyJson, chunks: fc.oneof(fc.nat({ max: 10 }), anyJson), bytes: fc.oneof(fc.nat(), anyJson), sha256: fc.oneof(fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), maxLength: 64 }), anyJson) }, { requiredKeys: [] }),
    ).map((doc) => seal(hal, utf8Encode(JSON.stringify(doc))).buffer as ArrayBuffer);
    const value = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((b) => Uint8Array.from(b).buffer as ArrayBuffer),
      sealedJson,
      fc.string({ maxLength: 100 }),
      fc.integer(),
      fc.boolean(),
    );
    const keys = fc.constantFrom("rec.a", "rec.b", "rec.a.0", "rec.a.1", "rec.b.0", "rec.b.7", "rec.a.9", "rec.x");
    await checkProperty(FAMILY, fc.property(fc.array(fc.tuple(keys, value), { maxLength: 6 }), (entries) => {
      const flash = createMemoryFlash();
      for (const [key, v] of entries) flash.set(RECORD_NAMESPACE, key, v);
      const store = { ...hal, flash };
      typedOnly(() => {
        const load = loadDevInfo(store);
        assert.ok(["ok", "empty", "unreadable"].includes(load.status));
        const report = inspectFlash(store);
        assert.equal(report.status, load.status);
      });
    }), 500);
  });
});

describe("fuzz: the core's MQTT engine over the Node socket, against a hostile raw server", function () {
  this.timeout(120_000);
  let server: Server;
  let port: number;
  let script: Buffer[] = [];
  const sockets = new Set<Socket>();

  before(async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => undefined);
      const chunks = script;
      socket.once("data", () => {
        for (const chunk of chunks) if (!socket.destroyed) socket.write(chunk);
        setTimeout(() => socket.end(), 30);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Packets the broker could send, with fields a broker should never use; generate() refusing them falls back to raw bytes. */
  const packet = fc.oneof(
    fc.record({ cmd: fc.constant("connack"), returnCode: fc.integer({ min: 0, max: 255 }), sessionPresent: fc.boolean() }),
    fc.record({ cmd: fc.constant("suback"), messageId: fc.integer({ min: 0, max: 70000 }), granted: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 3 }) }),
    fc.record({ cmd: fc.constant("puback"), messageId: fc.integer({ min: 0, max: 70000 }) }),
    fc.record({ cmd: fc.constant("publish"), topic: fc.string({ maxLength: 80 }), payload: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)), qos: fc.integer({ min: 0, max: 3 }), messageId: fc.integer({ min: 0, max: 70000 }), retain: fc.boolean(), dup: fc.boolean() }),
    fc.record({ cmd: fc.constantFrom("pingresp", "pingreq", "disconnect", "unsuback", "subscribe", "connect") }),
  ).map((p) => {
    try {
      return mqttPacket.generate(p as unknown as mqttPacket.Packet);
    } catch {
      return Buffer.from(JSON.stringify(p)).subarray(0, 64);
    }
  });
  const stream = fc.array(fc.oneof(packet, fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.from(b))), { minLength: 1, maxLength: 5 });
  const okConnack = mqttPacket.generate({ cmd: "connack", returnCode: 0, sessionPresent: false } as mqttPacket.IConnackPacket);

  it("every byte stream ends in a session, HalNetworkError or HalMqttError, never another exception", async () => {
    const hal = { socket: createNodeSocketTransport(), clock: createNodeClock() };
    await checkProperty("fuzz: device MQTT engine", fc.asyncProperty(stream, fc.boolean(), async (chunks, connackFirst) => {
      script = connackFirst ? [okConnack, ...chunks] : chunks;
      let closed!: () => void;
      const closedPromise = new Promise<void>((resolve) => (closed = resolve));
      const closes: Array<Error | undefined> = [];
      let session;
      try {
        session = await connectMqtt(
          hal,
          { url: `mqtt://127.0.0.1:${port}`, clientId: "PfuzzDev", username: "u", password: "p", keepAliveSeconds: 30, connectTimeoutMs: 300, ackTimeoutMs: 200 },
          { onMessage: () => undefined, onClose: (error) => { closes.push(error); closed(); } },
        );
      } catch (error) {
        assert.ok(error instanceof HalNetworkError || error instanceof HalMqttError, `untyped: ${String(error)}`);
        return;
      }
      try {
        await session.subscribe("$thing/down/property/P/d", 1);
      } catch (error) {
        assert.ok(error instanceof HalNetworkError || error instanceof HalMqttError, `untyped subscribe error: ${String(error)}`);
      }
      await Promise.race([closedPromise, new Promise((resolve) => setTimeout(resolve, 100))]);
      await session.close();
      assert.equal(closes.length, 1, "onClose exactly once");
      for (const error of closes) assert.ok(error === undefined || error instanceof HalNetworkError, `untyped close: ${String(error)}`);
    }), 80);
  });
});
