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

    it("sizes the Remaining Length at each of its boundaries byte for byte as mqtt-packet does", () => {
      // PUBLISH QoS 0 to topic "t": Remaining Length = 2 + 1 + payload.
      for (const remaining of [127, 128, 16_383, 16_384, 2_097_151, 2_097_152]) {
        const body = Buffer.alloc(remaining - 3, 0x5a);
        const core = Buffer.from(encodePublish("t", body, 0, 0));
        const oracle = mqttPacket.generate({ cmd: "publish", topic: "t", payload: body, qos: 0, dup: false, retain: false });
        assert.equal(core.length, oracle.length, `Remaining Length ${remaining}`);
        assert.ok(core.equals(oracle), `Remaining Length ${remaining}: the bytes differ`);
      }
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

    it("reads a Remaining Length of one to four bytes, at each boundary", () => {
      for (const remaining of [127, 128, 16_383, 16_384, 2_097_151, 2_097_152]) {
        const body = Buffer.alloc(remaining - 3, 0xa5);
        const bytes = new Uint8Array(mqttPacket.generate({ cmd: "publish", topic: "t", payload: body, qos: 0, dup: false, retain: false }));
        const read = coreParse(split(bytes, [1, 3, 5]), 4 << 20);
        assert.equal(read.length, 1, `Remaining Length ${remaining}`);
        assert.equal(read[0].type === PUBLISH && read[0].payload.length, remaining - 3, `Remaining Length ${remaining}`);
      }
    });

    it("refuses a fifth Remaining Length byte with its own message", () => {
      const reader = new PacketReader(1 << 30);
      reader.feed(Uint8Array.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]));
      assert.throws(() => reader.next(), (error: unknown) => error instanceof MqttProtocolError && error.fault === "malformed" && /Remaining Length longer than four bytes/.test(error.message));
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
          assertRefusalJustified(bytes, error, 128);
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
          assertRefusalJustified(bytes, error, 1 << 20);
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

/**
 * Where the core is deliberately stricter than mqtt-packet (a broker's packet MQTT 3.1.1 forbids,
 * or one a client never receives): each refusal must be one of these, exactly.
 */
const STRICTER_THAN_ORACLE: RegExp[] = [
  /^the broker sent [A-Z]+, which only a client sends$/,
  /: reserved packet type \d+$/,
  /: PUBLISH with QoS 3$/, /: PUBLISH with DUP set on QoS 0$/,
  /: PUBREL with reserved flags other than 0010$/, /: [A-Z]+ with reserved flags set$/,
  /: [A-Z]+ of \d+ bytes, not [02]$/, /: SUBACK of \d+ bytes$/, /: PUBLISH of \d+ bytes$/,
  /: [A-Z]+ with packet identifier 0$/,
  /: topic name contains U\+0000$/, /: topic name contains a wildcard$/, /: topic name is not UTF-8 \(/,
  /: CONNACK with reserved acknowledge flags set$/, /: CONNACK with reserved return code \d+$/,
  /: CONNACK refusing the connection with Session Present set$/,
  /: PUBLISH with an empty topic name$/, /: PUBLISH topic name longer than the packet$/,
  /: SUBACK with reserved return code \d+$/,
];

/**
 * A refusal must name a real fault: a packet announced past the reader's bound, bytes mqtt-packet
 * (the oracle) refuses too, or one of the core's stricter rules above, by its exact message. A
 * valid packet wrongly refused (a Remaining Length of four bytes, say) fails here.
 */
function assertRefusalJustified(bytes: Uint8Array, error: MqttProtocolError, maxPacketBytes: number): void {
  if (error.fault === "too-large") {
    const announced = /of (\d+) bytes; this session accepts at most (\d+)$/.exec(error.message);
    assert.ok(announced && Number(announced[1]) > maxPacketBytes && Number(announced[2]) === maxPacketBytes, `too-large without a size past the bound: ${error.message}`);
    return;
  }
  if (STRICTER_THAN_ORACLE.some((rule) => rule.test(error.message))) return;
  let oracleRefuses = false;
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  parser.on("error", () => (oracleRefuses = true));
  parser.parse(Buffer.from(bytes));
  assert.ok(oracleRefuses, `the core refused bytes mqtt-packet reads, for no rule of its own: ${error.fault}: ${error.message}`);
}
