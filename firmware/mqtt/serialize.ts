/**
 * Serializes the packets a client sends (MQTT 3.1.1): each into one exactly sized Uint8Array,
 * written in one pass. A field the protocol cannot carry (a topic with a wildcard, a string with
 * U+0000 or a lone surrogate, a length beyond 65,535 bytes) is the caller's bug: RangeError.
 */
import { utf8Write } from "../encoding";
import { CONNECT, DISCONNECT, MAX_REMAINING_LENGTH, PINGREQ, PUBACK, PUBLISH, SUBSCRIBE, type QoS } from "./packet";

export interface ConnectFields {
  clientId: string;
  username?: string;
  /** Binary data in MQTT (the core sends the UTF-8 bytes of its password text). */
  password?: Uint8Array;
  keepAliveSeconds: number;
  /** Default true: this client keeps no session state across connections. */
  cleanSession?: boolean;
}

// PINGREQ and DISCONNECT are built per use, not kept in module constants: a preloaded module's
// objects are frozen into flash by Moddable's linker, which a typed array with contents cannot be.
export function encodePingreq(): Uint8Array {
  return Uint8Array.of(PINGREQ << 4, 0);
}

export function encodeDisconnect(): Uint8Array {
  return Uint8Array.of(DISCONNECT << 4, 0);
}

const MAX_FIELD_BYTES = 65_535;

/**
 * Bytes of `text` in UTF-8. Throws RangeError on what MQTT forbids in a UTF-8 string: U+0000 and
 * lone surrogates (MQTT 3.1.1, 1.5.3).
 */
export function utf8Length(text: string, what: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) {
      if (code === 0) throw new RangeError(`${what} contains U+0000`);
      bytes += 1;
    } else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff) {
      const low = text.charCodeAt(i + 1);
      if (!(low >= 0xdc00 && low <= 0xdfff)) throw new RangeError(`${what} contains a lone surrogate`);
      bytes += 4;
      i++;
    } else if (code >= 0xdc00 && code <= 0xdfff) throw new RangeError(`${what} contains a lone surrogate`);
    else bytes += 3;
  }
  return bytes;
}

function fieldLength(bytes: number, what: string): number {
  if (bytes > MAX_FIELD_BYTES) throw new RangeError(`${what} is ${bytes} bytes; MQTT allows at most ${MAX_FIELD_BYTES}`);
  return bytes;
}

function remainingLengthBytes(length: number): number {
  if (length > MAX_REMAINING_LENGTH) throw new RangeError(`a packet of ${length} bytes exceeds MQTT's limit of ${MAX_REMAINING_LENGTH}`);
  return length < 0x80 ? 1 : length < 0x4000 ? 2 : length < 0x200000 ? 3 : 4;
}

/** Allocates a packet for `remaining` bytes after the fixed header and writes the header. */
function startPacket(firstByte: number, remaining: number): { out: Uint8Array; offset: number } {
  const out = new Uint8Array(1 + remainingLengthBytes(remaining) + remaining);
  out[0] = firstByte;
  let offset = 1;
  let length = remaining;
  do {
    let digit = length % 0x80;
    length = Math.floor(length / 0x80);
    if (length > 0) digit |= 0x80;
    out[offset++] = digit;
  } while (length > 0);
  return { out, offset };
}

function writeUint16(out: Uint8Array, offset: number, value: number): number {
  out[offset] = value >> 8;
  out[offset + 1] = value & 0xff;
  return offset + 2;
}

function writeString(out: Uint8Array, offset: number, text: string, bytes: number): number {
  return utf8Write(text, out, writeUint16(out, offset, bytes));
}

function checkPacketId(packetId: number): void {
  if (!(Number.isInteger(packetId) && packetId >= 1 && packetId <= 0xffff)) throw new RangeError(`packet identifier must be 1..65535, not ${packetId}`);
}

/** A topic name for PUBLISH: at least one character, no wildcard (MQTT 3.1.1, 4.7). */
export function checkTopicName(topic: string): void {
  if (typeof topic !== "string" || topic.length === 0) throw new RangeError("a topic name must be a non-empty string");
  if (topic.indexOf("+") >= 0 || topic.indexOf("#") >= 0) throw new RangeError(`the topic name ${JSON.stringify(topic)} contains a wildcard`);
}

/** A topic filter for SUBSCRIBE: "+" fills a whole level, "#" only the whole last one (MQTT 3.1.1, 4.7.1). */
export function checkTopicFilter(filter: string): void {
  if (typeof filter !== "string" || filter.length === 0) throw new RangeError("a topic filter must be a non-empty string");
  const levels = filter.split("/");
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i];
    if (level.indexOf("#") >= 0 && (level !== "#" || i !== levels.length - 1)) throw new RangeError(`"#" must be the whole last level of ${JSON.stringify(filter)}`);
    if (level.indexOf("+") >= 0 && level !== "+") throw new RangeError(`"+" must be a whole level of ${JSON.stringify(filter)}`);
  }
}

function checkQos(qos: number): void {
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new RangeError(`QoS must be 0, 1 or 2, not ${qos}`);
}

export function encodeConnect(fields: ConnectFields): Uint8Array {
  const keepAlive = fields.keepAliveSeconds;
  if (!(Number.isInteger(keepAlive) && keepAlive >= 0 && keepAlive <= 0xffff)) throw new RangeError(`keep-alive must be 0..65535 seconds, not ${keepAlive}`);
  const clientIdBytes = fieldLength(utf8Length(fields.clientId, "the client identifier"), "the client identifier");
  const username = fields.username;
  const usernameBytes = username === undefined ? -1 : fieldLength(utf8Length(username, "the user name"), "the user name");
  const password = fields.password;
  const passwordBytes = password === undefined ? -1 : fieldLength(password.length, "the password");
  // MQTT 3.1.1, 3.1.2.9: a password needs a user name.
  if (passwordBytes >= 0 && usernameBytes < 0) throw new RangeError("a password needs a user name");

  const remaining = 10 + 2 + clientIdBytes + (usernameBytes >= 0 ? 2 + usernameBytes : 0) + (passwordBytes >= 0 ? 2 + passwordBytes : 0);
  const { out, offset: start } = startPacket(CONNECT << 4, remaining);
  let offset = writeString(out, start, "MQTT", 4);
  out[offset++] = 4; // protocol level 3.1.1
  out[offset++] = (usernameBytes >= 0 ? 0x80 : 0) | (passwordBytes >= 0 ? 0x40 : 0) | (fields.cleanSession === false ? 0 : 0x02);
  offset = writeUint16(out, offset, keepAlive);
  offset = writeString(out, offset, fields.clientId, clientIdBytes);
  if (username !== undefined) offset = writeString(out, offset, username, usernameBytes);
  if (password !== undefined) out.set(password, writeUint16(out, offset, passwordBytes));
  return out;
}

/** SUBSCRIBE with one topic filter (the core subscribes one at a time). */
export function encodeSubscribe(packetId: number, filter: string, qos: QoS): Uint8Array {
  checkPacketId(packetId);
  checkTopicFilter(filter);
  checkQos(qos);
  const filterBytes = fieldLength(utf8Length(filter, "the topic filter"), "the topic filter");
  const { out, offset } = startPacket((SUBSCRIBE << 4) | 0x02, 2 + 2 + filterBytes + 1);
  const end = writeString(out, writeUint16(out, offset, packetId), filter, filterBytes);
  out[end] = qos;
  return out;
}

/** Bytes a PUBLISH of this topic and payload takes on the wire, without building it. */
export function publishPacketLength(topicBytes: number, payloadBytes: number, qos: QoS): number {
  const remaining = 2 + topicBytes + (qos > 0 ? 2 : 0) + payloadBytes;
  return 1 + remainingLengthBytes(remaining) + remaining;
}

export interface PublishFlags {
  dup?: boolean;
  retain?: boolean;
}

/** PUBLISH; `packetId` is ignored for QoS 0. */
export function encodePublish(topic: string, payload: Uint8Array, qos: QoS, packetId: number, flags: PublishFlags = {}): Uint8Array {
  checkTopicName(topic);
  checkQos(qos);
  if (qos > 0) checkPacketId(packetId);
  if (flags.dup && qos === 0) throw new RangeError("DUP must be 0 on a QoS 0 PUBLISH");
  const topicBytes = fieldLength(utf8Length(topic, "the topic name"), "the topic name");
  const first = (PUBLISH << 4) | (flags.dup ? 0x08 : 0) | (qos << 1) | (flags.retain ? 0x01 : 0);
  const { out, offset: start } = startPacket(first, 2 + topicBytes + (qos > 0 ? 2 : 0) + payload.length);
  let offset = writeString(out, start, topic, topicBytes);
  if (qos > 0) offset = writeUint16(out, offset, packetId);
  out.set(payload, offset);
  return out;
}

export function encodePuback(packetId: number): Uint8Array {
  checkPacketId(packetId);
  return Uint8Array.of(PUBACK << 4, 2, packetId >> 8, packetId & 0xff);
}
