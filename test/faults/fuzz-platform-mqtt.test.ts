/**
 * Fuzzing the mock platform's MQTT front: raw garbage, CONNECT packets with wrong fields (built
 * with mqtt-packet), and hostile packets after a legitimate CONNECT. The broker answers with
 * well-formed MQTT (a refusing CONNACK, a failing SUBACK) or closes that one connection; it never
 * accepts bad credentials, never grants another device's topic, and a canary still comes online.
 */
import { strict as assert } from "node:assert";
import { connect } from "node:net";
import fc from "fast-check";
import * as mqttPacket from "mqtt-packet";
import { checkProperty, expectCanaryOnline } from "./lib/fuzz";
import { bootBoard, newBoard, startFaultPlatform, type FaultPlatform } from "./lib/harness";
import { buildMqttCredentials } from "../../firmware/mqtt-credentials";
import { getDevInfo } from "../../firmware/record-store";
import { nodeCrypto } from "../../hal/node/crypto";

interface Conversation { packets: mqttPacket.Packet[]; malformed?: string; closed: boolean }

/** Sends the bytes, collects what the broker answers for a while, and parses it strictly. */
function converse(url: string, chunks: Buffer[], waitMs = 150): Promise<Conversation> {
  const target = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: target.hostname, port: Number(target.port) });
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const result: Conversation = { packets: [], closed: false };
    parser.on("packet", (packet) => result.packets.push(packet));
    parser.on("error", (error) => (result.malformed ??= error.message));
    socket.on("data", (chunk) => parser.parse(chunk));
    socket.on("error", () => undefined);
    let finished = false;
    const finish = () => { if (!finished) { finished = true; socket.destroy(); resolve(result); } };
    socket.on("close", () => { result.closed = true; finish(); });
    socket.on("connect", () => {
      for (const chunk of chunks) socket.write(chunk);
      setTimeout(finish, waitMs);
    });
  });
}

function generate(packet: object): Buffer {
  try {
    return mqttPacket.generate(packet as mqttPacket.Packet);
  } catch {
    return Buffer.from(JSON.stringify(packet)).subarray(0, 80); // generate() refused: send junk instead
  }
}

const topic = fc.oneof(
  fc.constantFrom("#", "+/+", "$thing/down/property/FAULTPSK01/d000", "$thing/up/property/FAULTPSK01/d001", "$SYS/#", "", "a/\u0000/b"),
  fc.string({ maxLength: 60 }),
);
const hostilePacket = fc.oneof(
  fc.record({ cmd: fc.constant("publish"), topic, payload: fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)), qos: fc.integer({ min: 0, max: 3 }), messageId: fc.integer({ min: 0, max: 70000 }), retain: fc.boolean(), dup: fc.boolean() }),
  fc.record({ cmd: fc.constant("subscribe"), messageId: fc.integer({ min: 0, max: 70000 }), subscriptions: fc.array(fc.record({ topic, qos: fc.integer({ min: 0, max: 3 }) }), { maxLength: 3 }) }),
  fc.record({ cmd: fc.constant("unsubscribe"), messageId: fc.integer({ min: 0, max: 70000 }), unsubscriptions: fc.array(topic, { maxLength: 3 }) }),
  fc.record({ cmd: fc.constantFrom("pingreq", "disconnect", "puback", "pubrec", "pubrel", "pubcomp", "connack", "suback"), messageId: fc.integer({ min: 0, max: 70000 }) }),
).map(generate);
const garbage = fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => Buffer.from(b));

describe("fuzz: the mock platform's MQTT front", function () {
  this.timeout(180_000);
  let env: FaultPlatform;
  let legit: { clientId: string; username: string; password: string; deviceName: string };

  before(async () => {
    env = await startFaultPlatform({ platform: { mqttConnectTimeoutMs: 500 } });
    const board = newBoard("canary", "fuzzlegit");
    const run = await bootBoard(board, { registerUrl: `${env.platform.httpUrl}/device/register`, mqttUrl: env.platform.mqttUrl });
    assert.equal(run.outcome, "online");
    const info = getDevInfo(run.committed)!;
    const credentials = buildMqttCredentials(nodeCrypto, info, { nowSeconds: Date.now() / 1000, mqttUrl: env.platform.mqttUrl });
    legit = { clientId: credentials.clientId, username: credentials.username, password: credentials.password, deviceName: info.deviceName };
  });
  after(async () => env && (await env.close()));

  afterEach(async function () {
    await expectCanaryOnline(env.platform, "fuzz: platform MQTT canary", this.currentTest?.title ?? "?");
  });

  it("raw garbage, then garbage after a legitimate CONNECT", async () => {
    await checkProperty("fuzz: platform MQTT raw bytes", fc.asyncProperty(fc.array(garbage, { minLength: 1, maxLength: 3 }), fc.boolean(), async (chunks, afterConnect) => {
      const prefix = afterConnect ? [generate({ cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clean: true, keepalive: 60, ...legit })] : [];
      const talk = await converse(env.platform.mqttUrl, [...prefix, ...chunks]);
      assert.equal(talk.malformed, undefined, `the broker sent malformed MQTT: ${talk.malformed}`);
      if (!afterConnect) assert.ok(!talk.packets.some((p) => p.cmd === "connack" && (p as mqttPacket.IConnackPacket).returnCode === 0), "garbage got a session");
    }), 150);
  });

  it("CONNECT packets with wrong fields never get a session", async () => {
    const connectPacket = fc.record({
      cmd: fc.constant("connect"),
      protocolId: fc.constantFrom("MQTT", "MQIsdp", "XQTT", ""),
      protocolVersion: fc.constantFrom(3, 4, 5, 0, 99),
      clean: fc.boolean(),
      keepalive: fc.integer({ min: 0, max: 65535 }),
      clientId: fc.oneof(fc.constant(legit?.clientId ?? "x"), fc.string({ maxLength: 80 })),
      username: fc.option(fc.oneof(fc.string({ maxLength: 120 }), fc.constant("CANARY0001fuzzlegit;21010406;abcde;99999999999")), { nil: undefined }),
      password: fc.option(fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b)), { nil: undefined }),
      will: fc.option(fc.record({ topic, payload: fc.uint8Array({ maxLength: 50 }).map((b) => Buffer.from(b)), qos: fc.integer({ min: 0, max: 2 }), retain: fc.boolean() }), { nil: undefined }),
    });
    await checkProperty("fuzz: platform MQTT CONNECT fields", fc.asyncProperty(connectPacket, fc.array(hostilePacket, { maxLength: 3 }), async (packet, rest) => {
      const talk = await converse(env.platform.mqttUrl, [generate(packet), ...rest]);
      assert.equal(talk.malformed, undefined, `the broker sent malformed MQTT: ${talk.malformed}`);
      const accepted = talk.packets.some((p) => p.cmd === "connack" && (p as mqttPacket.IConnackPacket).returnCode === 0);
      assert.ok(!accepted, "a CONNECT without the device's credentials got a session");
    }), 200);
  });

  it("hostile packets after a legitimate CONNECT: foreign topics are never granted", async () => {
    let judged = 0;
    const foreign = fc.constantFrom("#", "$thing/down/property/FAULTPSK01/d000", "$thing/down/property/CANARY0001/other", "+/+/+/+/+", "$thing/#");
    await checkProperty("fuzz: platform MQTT session", fc.asyncProperty(fc.array(hostilePacket, { maxLength: 4 }), foreign, fc.integer({ min: 1, max: 65535 }), async (rest, foreignTopic, messageId) => {
      const connectBytes = generate({ cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clean: true, keepalive: 60, ...legit });
      const subscribe = generate({ cmd: "subscribe", messageId, subscriptions: [{ topic: foreignTopic, qos: 1 }] });
      const talk = await converse(env.platform.mqttUrl, [connectBytes, subscribe, ...rest]);
      assert.equal(talk.malformed, undefined, `the broker sent malformed MQTT: ${talk.malformed}`);
      for (const p of talk.packets) {
        if (p.cmd === "suback" && (p as mqttPacket.ISubackPacket).messageId === messageId) {
          judged++;
          assert.ok((p as mqttPacket.ISubackPacket).granted.every((g) => g === 128 || (typeof g === "object" && (g as { qos?: number }).qos === 128)), `foreign topic ${foreignTopic} granted`);
        }
      }
    }), 150);
    assert.ok(judged > 0, "some SUBACKs for foreign topics were seen and judged");
  });
});
