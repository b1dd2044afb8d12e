/**
 * The core's MQTT codec (firmware/mqtt/serialize.ts, parse.ts) against mqtt-packet, the
 * independent oracle, with fast-check: what the core writes, mqtt-packet reads field for field;
 * what mqtt-packet writes (as a broker would), the core reads field for field, however the bytes
 * are split into chunks; and no byte sequence makes the reader throw anything but
 * MqttProtocolError, nor accept a packet that mqtt-packet reads differently.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import mqttPacket from "mqtt-packet";
import { CONNACK, MqttProtocolError, PINGRESP, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK, UNSUBACK, type InboundPacket } from "../firmware/mqtt/packet";
import { PacketReader } from "../firmware/mqtt/parse";
import { encodeConnect, encodeDisconnect, encodePingreq, encodePuback, encodePublish, encodeSubscribe } from "../firmware/mqtt/serialize";

const RUNS = 300;

/** Parses with mqtt-packet; throws on its error or on leftover bytes. */
function oracleParse(bytes: Uint8Array): mqttPacket.Packet[] {
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const packets: mqttPacket.Packet[] = [];
  let failure: Error | undefined;
  parser.on("packet", (packet: mqttPacket.Packet) => packets.push(packet));
  parser.on("error", (error: Error) => (failure ??= error));
  const left = parser.parse(Buffer.from(bytes));
  if (failure) throw failure;
  if (left !== 0) throw new Error(`${left} bytes left over`);
  return packets;
}

/** Reads every packet from `chunks` with the core's reader. */
function coreParse(chunks: Uint8Array[], maxPacketBytes = 1 << 20): InboundPacket[] {
  const reader = new PacketReader(maxPacketBytes);
  const packets: InboundPacket[] = [];
  for (const chunk of chunks) {
    reader.feed(chunk);
    for (let packet = reader.next(); packet !== undefined; packet = reader.next()) packets.push(packet);
  }
  return packets;
}

/** Splits bytes at the given cut points (sorted, deduplicated, inside the array). */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.slice(start, point));
    start = point;
  }
  return chunks;
}

/** The fields both sides carry, in the oracle's vocabulary. */
function asOracle(packet: InboundPacket): Record<string, unknown> {
  switch (packet.type) {
    case CONNACK: return { cmd: "connack", returnCode: packet.returnCode, sessionPresent: packet.sessionPresent };
    case PUBLISH: return { cmd: "publish", topic: packet.topic, payload: Buffer.from(packet.payload).toString("hex"), qos: packet.qos, dup: packet.dup, retain: packet.retain, messageId: packet.qos > 0 ? packet.packetId : undefined };
    case SUBACK: return { cmd: "suback", messageId: packet.packetId, granted: packet.returnCodes };
    case PINGRESP: return { cmd: "pingresp" };
    default: return { cmd: { [PUBACK]: "puback", [PUBREC]: "pubrec", [PUBREL]: "pubrel", [PUBCOMP]: "pubcomp", [UNSUBACK]: "unsuback" }[packet.type], messageId: packet.packetId };
  }
}

function oracleFields(packet: mqttPacket.Packet): Record<string, unknown> {
  const p = packet as unknown as Record<string, unknown>;
  switch (packet.cmd) {
    case "connack": return { cmd: "connack", returnCode: p.returnCode, sessionPresent: p.sessionPresent };
    case "publish": return { cmd: "publish", topic: p.topic, payload: Buffer.from(p.payload as Buffer).toString("hex"), qos: p.qos, dup: p.dup, retain: p.retain, messageId: (p.qos as number) > 0 ? p.messageId : undefined };
    case "suback": return { cmd: "suback", messageId: p.messageId, granted: p.granted };
    case "pingresp": return { cmd: "pingresp" };
    default: return { cmd: packet.cmd, messageId: p.messageId };
  }
}

// ---- arbitraries ------------------------------------------------------------------------------

/** Text MQTT allows in a UTF-8 string: any code point but U+0000 (no lone surrogates). */
const mqttText = (options: { minLength?: number; maxLength: number }) =>
  fc.string({ unit: "binary", ...options }).filter((text) => !text.includes("\u0000"));
const topicName = mqttText({ minLength: 1, maxLength: 40 }).filter((text) => !/[+#]/.test(text));
const topicFilter = fc.array(fc.oneof(mqttText({ maxLength: 8 }).filter((text) => !/[+#/]/.test(text)), fc.constant("+")), { minLength: 1, maxLength: 5 })
  .chain((levels) => fc.boolean().map((hash) => (hash ? [...levels, "#"] : levels).join("/")))
  .filter((filter) => filter.length > 0);
const packetId = fc.integer({ min: 1, max: 65535 });
const payload = fc.uint8Array({ maxLength: 300 });

/** Packets a broker sends, as mqtt-packet objects. */
const brokerPacket: fc.Arbitrary<mqttPacket.Packet> = fc.oneof(
  fc.integer({ min: 0, max: 5 }).chain((returnCode) => fc.boolean().map((present) => ({ cmd: "connack", returnCode, sessionPresent: returnCode === 0 && present }) as mqttPacket.Packet)),
  fc.record({ topic: topicName, payload, qos: fc.constantFrom(0, 1, 2), messageId: packetId, retain: fc.boolean(), dup: fc.boolean() })
    .map(({ topic, payload: body, qos, messageId, retain, dup }) => ({ cmd: "publish", topic, payload: Buffer.from(body), qos, messageId, retain, dup: qos > 0 && dup }) as mqttPacket.Packet),
  fc.record({ cmd: fc.constantFrom("puback", "pubrec", "pubrel", "pubcomp", "unsuback"), messageId: packetId }).map((packet) => packet as mqttPacket.Packet),
  fc.record({ messageId: packetId, granted: fc.array(fc.constantFrom(0, 1, 2, 128), { minLength: 1, maxLength: 5 }) }).map(({ messageId, granted }) => ({ cmd: "suback", messageId, granted }) as mqttPacket.Packet),
  fc.constant({ cmd: "pingresp" } as mqttPacket.Packet),
);

describe("MQTT codec (firmware/mqtt) against mqtt-packet", () => {
  describe("what the core writes, mqtt-packet reads", () => {
    it("CONNECT: client id, user name, password bytes, keep-alive, clean session, MQTT 3.1.1", () => {
      fc.assert(fc.property(mqttText({ maxLength: 40 }), fc.option(mqttText({ maxLength: 80 }), { nil: undefined }), fc.uint8Array({ maxLength: 100 }), fc.integer({ min: 0, max: 65535 }), (clientId, username, password, keepAliveSeconds) => {
        const bytes = encodeConnect({ clientId, username, password: username === undefined ? undefined : password, keepAliveSeconds });
        const [packet] = oracleParse(bytes) as mqttPacket.IConnectPacket[];
        assert.equal(packet.cmd, "connect");
        assert.deepEqual([packet.protocolId, packet.protocolVersion, packet.clean, packet.keepalive, packet.clientId], ["MQTT", 4, true, keepAliveSeconds, clientId]);
        assert.equal(packet.username, username);
        assert.deepEqual(packet.password === undefined ? undefined : [...packet.password], username === undefined ? undefined : [...password]);
      }), { numRuns: RUNS });
    });

    it("SUBSCRIBE: packet identifier, topic filter and QoS", () => {
      fc.assert(fc.property(packetId, topicFilter, fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2>, (id, filter, qos) => {
        const [packet] = oracleParse(encodeSubscribe(id, filter, qos)) as mqttPacket.ISubscribePacket[];
        assert.deepEqual([packet.cmd, packet.messageId, packet.subscriptions.map(({ topic, qos: granted }) => ({ topic, qos: granted }))], ["subscribe", id, [{ topic: filter, qos }]]);
      }), { numRuns: RUNS });
    });

    it("PUBLISH: topic, payload, QoS, packet identifier, DUP and RETAIN", () => {
      fc.assert(fc.property(topicName, payload, fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2>, packetId, fc.boolean(), fc.boolean(), (topic, body, qos, id, dup, retain) => {
        const bytes = encodePublish(topic, body, qos, id, { dup: qos > 0 && dup, retain });
        const [packet] = oracleParse(bytes) as mqttPacket.IPublishPacket[];
        assert.deepEqual(
          [packet.cmd, packet.topic, Buffer.from(packet.payload as Buffer).toString("hex"), packet.qos, packet.dup, packet.retain, qos > 0 ? packet.messageId : undefined],
          ["publish", topic, Buffer.from(body).toString("hex"), qos, qos > 0 && dup, retain, qos > 0 ? id : undefined],
        );
      }), { numRuns: RUNS });
    });

    it("PUBACK, PINGREQ and DISCONNECT", () => {
      fc.assert(fc.property(packetId, (id) => {
        assert.deepEqual(oracleParse(encodePuback(id)).map((p) => [p.cmd, (p as mqttPacket.IPubackPacket).messageId]), [["puback", id]]);
      }), { numRuns: RUNS });
      assert.deepEqual(oracleParse(encodePingreq()).map((p) => p.cmd), ["pingreq"]);
      assert.deepEqual(oracleParse(encodeDisconnect()).map((p) => p.cmd), ["disconnect"]);
    });

    it("refuses, with RangeError, what MQTT cannot carry", () => {
      assert.throws(() => encodePublish("a/+/b", new Uint8Array(0), 0, 0), RangeError);
      assert.throws(() => encodePublish("", new Uint8Array(0), 0, 0), RangeError);
      assert.throws(() => encodePublish("a\u0000b", new Uint8Array(0), 0, 0), RangeError);
      assert.throws(() => encodePublish("a\ud800b", new Uint8Array(0), 0, 0), RangeError);
      assert.throws(() => encodePublish("a", new Uint8Array(0), 1, 0), RangeError, "QoS 1 needs a packet identifier");
      assert.throws(() => encodeSubscribe(1, "a/#/b", 1), RangeError);
      assert.throws(() => encodeSubscribe(1, "a/b+", 1), RangeError);
      assert.throws(() => encodeConnect({ clientId: "x".repeat(65536), keepAliveSeconds: 60 }), RangeError);
      assert.throws(() => encodeConnect({ clientId: "x", password: new Uint8Array(1), keepAliveSeconds: 60 }), RangeError, "a password needs a user name");
      assert.throws(() => encodeConnect({ clientId: "x", keepAliveSeconds: 65536 }), RangeError);
    });
  });

  describe("what mqtt-packet writes (as a broker), the core reads", () => {
    it("every packet a broker sends, field for field, however the stream is split", () => {
      fc.assert(fc.property(fc.array(brokerPacket, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 8 }), (packets, cuts) => {
        const stream = Buffer.concat(packets.map((packet) => mqttPacket.generate(packet)));
        const read = coreParse(split(new Uint8Array(stream), cuts));
        assert.deepEqual(read.map(asOracle), oracleParse(new Uint8Array(stream)).map(oracleFields));
      }), { numRuns: RUNS });
    });

    it("refuses a packet announced beyond the bound from its fixed header, before its body arrives", () => {
      fc.assert(fc.property(fc.integer({ min: 64, max: 4096 }), fc.integer({ min: 1, max: 5000 }), (max, extra) => {
        const big = mqttPacket.generate({ cmd: "publish", topic: "t", payload: Buffer.alloc(max + extra), qos: 0, dup: false, retain: false });
        const reader = new PacketReader(max);
        reader.feed(new Uint8Array(big.subarray(0, 5)));
        assert.throws(() => reader.next(), (error: unknown) => error instanceof MqttProtocolError && error.fault === "too-large" && error.code === "too-large");
        assert.throws(() => reader.next(), MqttProtocolError, "the reader stays failed");
      }), { numRuns: 100 });
    });
  });

  describe("hostile bytes", () => {
    it("arbitrary bytes, in arbitrary chunks, end in packets or MqttProtocolError, never another exception", () => {
      fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) => {
        try {
          coreParse(split(bytes, cuts), 128);
        } catch (error) {
          assert.ok(error instanceof MqttProtocolError, `untyped: ${String(error)}`);
          assert.ok(["malformed", "too-large", "unexpected"].includes(error.fault));
        }
      }), { numRuns: 2000 });
    });

    it("a broker's packet with one byte changed: the core refuses it, or reads what mqtt-packet reads", () => {
      fc.assert(fc.property(brokerPacket, fc.nat(), fc.integer({ min: 0, max: 255 }), (packet, at, value) => {
        const bytes = new Uint8Array(mqttPacket.generate(packet));
        bytes[at % bytes.length] = value;
        let read: InboundPacket[];
        try {
          read = coreParse([bytes]);
        } catch (error) {
          assert.ok(error instanceof MqttProtocolError, `untyped: ${String(error)}`);
          return;
        }
        // Accepted: mqtt-packet must read the same packets from the bytes the core consumed.
        const consumed = read.length === 0 ? [] : oracleParse(bytes.subarray(0, consumedLength(bytes, read.length))).map(oracleFields);
        assert.deepEqual(read.map(asOracle), consumed);
      }), { numRuns: 2000 });
    });
  });
});

/** Bytes taken by the first `count` packets of `bytes` (fixed header + Remaining Length each). */
function consumedLength(bytes: Uint8Array, count: number): number {
  let offset = 0;
  for (let i = 0; i < count; i++) {
    let length = 0;
    let multiplier = 1;
    let position = offset + 1;
    for (;;) {
      const digit = bytes[position++];
      length += (digit & 0x7f) * multiplier;
      multiplier *= 128;
      if (!(digit & 0x80)) break;
    }
    offset = position + length;
  }
  return offset;
}
