/**
 * The registration answer's encrypted payload (docs/PROTOCOL.md §3): AES-128-CBC, key = first 16
 * bytes of the ProductSecret, IV = sixteen ASCII '0', plaintext zero-padded (no PKCS#7).
 */
import { createCipheriv, createDecipheriv } from "node:crypto";

const BLOCK = 16;
const IV = Buffer.from("0".repeat(BLOCK), "ascii");

export class PayloadKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PayloadKeyError";
  }
}

function keyOf(productSecret: string): Buffer {
  const key = Buffer.from(productSecret, "utf8");
  if (key.length < BLOCK) throw new PayloadKeyError(`ProductSecret has ${key.length} bytes; the AES key needs ${BLOCK}`);
  return key.subarray(0, BLOCK);
}

export interface EncryptedPayload {
  len: number;       // plaintext length in bytes (the answer's "Len")
  payload: string;   // Base64 ciphertext (the answer's "Payload")
}

export function encryptPayload(productSecret: string, plaintext: string): EncryptedPayload {
  const plain = Buffer.from(plaintext, "utf8");
  // Zero padding always ends on a block boundary; an exact multiple gets no extra block, as Tencent does.
  const padded = Buffer.alloc(Math.ceil(plain.length / BLOCK) * BLOCK || BLOCK);
  plain.copy(padded);
  const cipher = createCipheriv("aes-128-cbc", keyOf(productSecret), IV).setAutoPadding(false);
  const encrypted = Buffer.concat([cipher.update(padded), cipher.final()]);
  return { len: plain.length, payload: encrypted.toString("base64") };
}

/** For tests and tools: decrypts and strips the zero padding. */
export function decryptPayload(productSecret: string, payloadBase64: string): string {
  const decipher = createDecipheriv("aes-128-cbc", keyOf(productSecret), IV).setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(Buffer.from(payloadBase64, "base64")), decipher.final()]);
  let end = plain.length;
  while (end > 0 && plain[end - 1] === 0) end--;
  return plain.subarray(0, end).toString("utf8");
}
