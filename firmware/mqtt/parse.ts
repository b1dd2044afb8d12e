/**
 * Parses the byte stream a broker sends into packets (MQTT 3.1.1), incrementally: feed() the
 * bytes as they arrive, then call next() until it returns undefined. A packet that arrives whole
 * in one chunk is read in place; only a packet split across chunks is copied, into one buffer of
 * its announced size, which is checked against the bound before a byte of the body is kept.
 *
 * Strict, as coreMQTT's deserializer is: reserved flags, wrong lengths, packet identifier 0,
 * invalid UTF-8 and packets a broker never sends are MqttProtocolError, thrown by next() and
 * again by every later call (the stream cannot be resynchronised).
 */
import { utf8Decode } from "../encoding";
import {
  CONNACK, MqttProtocolError, PACKET_NAMES, PINGRESP, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK, SUBACK_FAILURE, UNSUBACK,
  type InboundPacket, type QoS,
} from "./packet";

/** String.fromCharCode.apply takes this many codes at a time (XS on ESP32 has a small stack). */
const CHARS_PER_CALL = 32;

function malformed(message: string): MqttProtocolError {
  return new MqttProtocolError("malformed", `malformed MQTT packet from the broker: ${message}`);
}

/** Checks a fixed header's first byte: a type a broker may send, with the flags MQTT 3.1.1 (2.2.2) prescribes. */
function checkFirstByte(first: number): void {
  const type = first >> 4;
  const flags = first & 0x0f;
  switch (type) {
    case PUBLISH: {
      const qos = (flags >> 1) & 3;
      if (qos === 3) throw malformed("PUBLISH with QoS 3");
      if (qos === 0 && flags & 0x08) throw malformed("PUBLISH with DUP set on QoS 0");
      return;
    }
    case PUBREL:
      if (flags !== 0x02) throw malformed("PUBREL with reserved flags other than 0010");
      return;
    case CONNACK: case PUBACK: case PUBREC: case PUBCOMP: case SUBACK: case UNSUBACK: case PINGRESP:
      if (flags !== 0) throw malformed(`${PACKET_NAMES[type]} with reserved flags set`);
      return;
    case 0: case 15:
      throw malformed(`reserved packet type ${type}`);
    default:
      throw new MqttProtocolError("unexpected", `the broker sent ${PACKET_NAMES[type]}, which only a client sends`);
  }
}

/** Checks a Remaining Length against its packet type, before the body is read. */
function checkLength(first: number, remaining: number): void {
  const type = first >> 4;
  switch (type) {
    case CONNACK: case PUBACK: case PUBREC: case PUBREL: case PUBCOMP: case UNSUBACK:
      if (remaining !== 2) throw malformed(`${PACKET_NAMES[type]} of ${remaining} bytes, not 2`);
      return;
    case PINGRESP:
      if (remaining !== 0) throw malformed(`PINGRESP of ${remaining} bytes, not 0`);
      return;
    case SUBACK:
      if (remaining < 3) throw malformed(`SUBACK of ${remaining} bytes`);
      return;
    case PUBLISH: {
      // topic length, at least one topic byte, and a packet identifier above QoS 0
      const minimum = 3 + ((first >> 1) & 3 ? 2 : 0);
      if (remaining < minimum) throw malformed(`PUBLISH of ${remaining} bytes`);
      return;
    }
  }
}

function packetId(body: Uint8Array, offset: number, type: number): number {
  const id = (body[offset] << 8) | body[offset + 1];
  if (id === 0) throw malformed(`${PACKET_NAMES[type]} with packet identifier 0`);
  return id;
}

/** A topic name from the broker: non-empty, valid UTF-8, no U+0000 and no wildcard. */
function decodeTopic(bytes: Uint8Array): string {
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte === 0) throw malformed("topic name contains U+0000");
    if (byte === 0x23 || byte === 0x2b) throw malformed("topic name contains a wildcard");
    if (byte >= 0x80) ascii = false;
  }
  if (!ascii) {
    try {
      return utf8Decode(bytes);
    } catch (error) {
      throw malformed(`topic name is not UTF-8 (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  let text = "";
  for (let i = 0; i < bytes.length; i += CHARS_PER_CALL) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + CHARS_PER_CALL) as unknown as number[]);
  }
  return text;
}

function decodeBody(first: number, body: Uint8Array): InboundPacket {
  const type = first >> 4;
  switch (type) {
    case CONNACK: {
      const flags = body[0];
      const returnCode = body[1];
      if (flags & 0xfe) throw malformed("CONNACK with reserved acknowledge flags set");
      if (returnCode > 5) throw malformed(`CONNACK with reserved return code ${returnCode}`);
      if (returnCode !== 0 && flags !== 0) throw malformed("CONNACK refusing the connection with Session Present set");
      return { type: CONNACK, sessionPresent: flags === 1, returnCode };
    }
    case PUBLISH: {
      const qos = ((first >> 1) & 3) as QoS;
      const topicLength = (body[0] << 8) | body[1];
      if (topicLength === 0) throw malformed("PUBLISH with an empty topic name");
      let offset = 2 + topicLength;
      if (offset + (qos > 0 ? 2 : 0) > body.length) throw malformed("PUBLISH topic name longer than the packet");
      const topic = decodeTopic(body.subarray(2, offset));
      let id = 0;
      if (qos > 0) {
        id = packetId(body, offset, PUBLISH);
        offset += 2;
      }
      return { type: PUBLISH, topic, payload: body.slice(offset), qos, dup: (first & 0x08) !== 0, retain: (first & 0x01) !== 0, packetId: id };
    }
    case SUBACK: {
      const id = packetId(body, 0, SUBACK);
      const returnCodes: number[] = [];
      for (let i = 2; i < body.length; i++) {
        const code = body[i];
        if (code > 2 && code !== SUBACK_FAILURE) throw malformed(`SUBACK with reserved return code ${code}`);
        returnCodes.push(code);
      }
      return { type: SUBACK, packetId: id, returnCodes };
    }
    case PINGRESP:
      return { type: PINGRESP };
    default: // PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK: checked by checkFirstByte and checkLength
      return { type: type as typeof PUBACK, packetId: packetId(body, 0, type) };
  }
}

export class PacketReader {
  /** Fed bytes not yet consumed from `offset` on (a module-level empty array could not be preloaded). */
  private chunk: Uint8Array | undefined;
  private offset = 0;
  /** The fixed header's first byte, or -1 between packets. */
  private first = -1;
  /** The Remaining Length, or -1 while its bytes are still arriving. */
  private remaining = -1;
  private lengthValue = 0;
  private lengthMultiplier = 1;
  private lengthBytes = 0;
  /** A packet body split across chunks, and how much of it has arrived. */
  private partial: Uint8Array | undefined;
  private filled = 0;
  private failure: MqttProtocolError | undefined;

  /** `maxPacketBytes` bounds a whole packet, fixed header included. */
  constructor(readonly maxPacketBytes: number) {
    if (!(Number.isInteger(maxPacketBytes) && maxPacketBytes >= 2)) throw new RangeError("maxPacketBytes must be an integer of at least 2");
  }

  /** Adds bytes that arrived; the reader keeps a reference until next() has consumed them. */
  feed(bytes: Uint8Array): void {
    if (this.chunk !== undefined && this.offset < this.chunk.length) {
      // The caller stopped reading mid-chunk: keep the rest in front of the new bytes.
      const rest = this.chunk.subarray(this.offset);
      const joined = new Uint8Array(rest.length + bytes.length);
      joined.set(rest);
      joined.set(bytes, rest.length);
      bytes = joined;
    }
    this.chunk = bytes;
    this.offset = 0;
  }

  /** The next complete packet, or undefined until more bytes arrive. Throws MqttProtocolError. */
  next(): InboundPacket | undefined {
    if (this.failure) throw this.failure;
    try {
      const packet = this.step();
      if (packet === undefined) {
        this.chunk = undefined; // everything fed is consumed: do not pin the port's buffer
        this.offset = 0;
      }
      return packet;
    } catch (error) {
      if (error instanceof MqttProtocolError) this.failure = error;
      throw error;
    }
  }

  private step(): InboundPacket | undefined {
    const chunk = this.chunk;
    if (chunk === undefined) return undefined;
    if (this.first < 0) {
      if (this.offset >= chunk.length) return undefined;
      const first = chunk[this.offset++];
      checkFirstByte(first);
      this.first = first;
      this.remaining = -1;
      this.lengthValue = 0;
      this.lengthMultiplier = 1;
      this.lengthBytes = 0;
    }
    while (this.remaining < 0) {
      if (this.offset >= chunk.length) return undefined;
      const digit = chunk[this.offset++];
      this.lengthBytes++;
      this.lengthValue += (digit & 0x7f) * this.lengthMultiplier;
      this.lengthMultiplier *= 0x80;
      if (digit & 0x80) {
        if (this.lengthBytes === 4) throw malformed("Remaining Length longer than four bytes");
        continue;
      }
      const size = 1 + this.lengthBytes + this.lengthValue;
      if (size > this.maxPacketBytes) {
        throw new MqttProtocolError("too-large", `the broker announced a ${PACKET_NAMES[this.first >> 4]} of ${size} bytes; this session accepts at most ${this.maxPacketBytes}`);
      }
      checkLength(this.first, this.lengthValue);
      this.remaining = this.lengthValue;
    }
    const remaining = this.remaining;
    let body: Uint8Array;
    if (this.partial === undefined) {
      const available = chunk.length - this.offset;
      if (available >= remaining) {
        body = chunk.subarray(this.offset, this.offset + remaining);
        this.offset += remaining;
      } else {
        this.partial = new Uint8Array(remaining);
        this.partial.set(chunk.subarray(this.offset));
        this.filled = available;
        this.offset = chunk.length;
        return undefined;
      }
    } else {
      const take = Math.min(remaining - this.filled, chunk.length - this.offset);
      this.partial.set(chunk.subarray(this.offset, this.offset + take), this.filled);
      this.filled += take;
      this.offset += take;
      if (this.filled < remaining) return undefined;
      body = this.partial;
      this.partial = undefined;
    }
    const first = this.first;
    this.first = -1;
    return decodeBody(first, body);
  }
}
