/**
 * Byte encodings the core needs on every engine. XS has no TextEncoder, atob or Buffer,
 * so these are plain ECMAScript. Decoders throw EncodingError on malformed input.
 */
import { nameErrorClass } from "./contracts";

export class EncodingError extends Error {
  static {
    nameErrorClass(this, "EncodingError");
  }
  constructor(message: string) {
    super(message);
  }
}

export function utf8Encode(text: string): Uint8Array {
  // Two passes over the text, one allocation: a growing array of numbers costs a slot per byte
  // on XS and was a visible share of a fleet's CPU (records, requests and topics are encoded per boot).
  const out = new Uint8Array(utf8Length(text));
  utf8Write(text, out, 0);
  return out;
}

/**
 * Writes `text` in UTF-8 into `out` at `offset`, which has room for it (utf8Encode, the MQTT
 * serializer); a lone surrogate becomes U+FFFD. Returns the offset after it.
 */
export function utf8Write(text: string, out: Uint8Array, offset: number): number {
  let at = offset;
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code < 0x80) {
      out[at++] = code;
      continue;
    }
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd; // lone surrogate
    if (code < 0x800) {
      out[at++] = 0xc0 | (code >> 6);
    } else if (code < 0x10000) {
      out[at++] = 0xe0 | (code >> 12);
      out[at++] = 0x80 | ((code >> 6) & 0x3f);
    } else {
      out[at++] = 0xf0 | (code >> 18);
      out[at++] = 0x80 | ((code >> 12) & 0x3f);
      out[at++] = 0x80 | ((code >> 6) & 0x3f);
    }
    out[at++] = 0x80 | (code & 0x3f);
  }
  return at;
}

/** Bytes `text` takes in UTF-8 (a lone surrogate becomes U+FFFD, three bytes). */
function utf8Length(text: string): number {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) length += 1;
    else if (code < 0x800) length += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      length += 4;
      i++;
    } else length += 3;
  }
  return length;
}

/** Strict UTF-8 decoding: overlong forms, surrogates and truncated sequences are errors. */
export function utf8Decode(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; ) {
    const first = bytes[i];
    let code: number;
    let extra: number;
    let min: number;
    if (first < 0x80) { code = first; extra = 0; min = 0; }
    else if (first >= 0xc2 && first < 0xe0) { code = first & 0x1f; extra = 1; min = 0x80; }
    else if (first >= 0xe0 && first < 0xf0) { code = first & 0x0f; extra = 2; min = 0x800; }
    else if (first >= 0xf0 && first < 0xf5) { code = first & 0x07; extra = 3; min = 0x10000; }
    else throw new EncodingError(`invalid UTF-8 lead byte at offset ${i}`);
    for (let k = 1; k <= extra; k++) {
      const next = bytes[i + k];
      if (next === undefined || (next & 0xc0) !== 0x80) throw new EncodingError(`invalid UTF-8 continuation at offset ${i + k}`);
      code = (code << 6) | (next & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
      throw new EncodingError(`invalid UTF-8 code point at offset ${i}`);
    }
    text += code < 0x10000 ? String.fromCharCode(code) : String.fromCodePoint(code);
    i += extra + 1;
  }
  return text;
}

const HEX = "0123456789abcdef";

export function hexEncode(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i++) text += HEX[bytes[i] >> 4] + HEX[bytes[i] & 15];
  return text;
}

export function hexDecode(text: string): Uint8Array {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) throw new EncodingError("invalid hex text");
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
  return out;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_INDEX: Record<string, number> = {};
for (let i = 0; i < B64.length; i++) B64_INDEX[B64[i]] = i;

export function base64Encode(bytes: Uint8Array): string {
  let text = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    text += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    text += B64[n >> 18] + B64[(n >> 12) & 63] + "==";
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    text += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + "=";
  }
  return text;
}

/** Strict standard Base64 (RFC 4648 §4) with padding; whitespace is not accepted. */
export function base64Decode(text: string): Uint8Array {
  if (text.length % 4 !== 0) throw new EncodingError("invalid Base64 length");
  const pad = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    let n = 0;
    for (let k = 0; k < 4; k++) {
      const ch = text[i + k];
      const isPad = ch === "=" && i + 4 === text.length && k >= 4 - pad;
      const v = isPad ? 0 : B64_INDEX[ch];
      if (v === undefined) throw new EncodingError(`invalid Base64 character at offset ${i + k}`);
      n = (n << 6) | v;
    }
    if (o < out.length) out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Compares without an early exit, so the time taken does not reveal where inputs differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  const length = Math.max(a.length, b.length);
  for (let i = 0; i < length; i++) diff |= (a[i % (a.length || 1)] ?? 0) ^ (b[i % (b.length || 1)] ?? 0);
  return diff === 0;
}

/** Shows only the last 4 characters of a secret, for logs and timelines. */
export function maskSecret(secret: string | undefined): string {
  if (!secret) return "(none)";
  if (secret.length <= 4) return "*".repeat(secret.length);
  return "*".repeat(Math.min(secret.length - 4, 8)) + secret.slice(-4);
}
