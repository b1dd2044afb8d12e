/**
 * Request signatures of docs/PROTOCOL.md §2 (current API) and §4 (legacy API), written on the
 * platform side with node:crypto only, independently of the device's code, so a symmetric bug
 * on one side cannot hide behind the other.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

export type SignAlgorithm = "hmacsha256" | "hmacsha1";

export function isSignAlgorithm(value: string): value is SignAlgorithm {
  return value === "hmacsha256" || value === "hmacsha1";
}

function digestName(algorithm: SignAlgorithm): "sha256" | "sha1" {
  return algorithm === "hmacsha256" ? "sha256" : "sha1";
}

export interface StringToSignFields {
  host: string;        // Host header without any port
  path: string;        // "/device/register"
  query: string;       // always "" for POST
  algorithm: SignAlgorithm;
  timestamp: string;   // exactly as sent in X-TC-Timestamp
  nonce: string;       // exactly as sent in X-TC-Nonce
  body: Buffer;        // the exact body bytes
}

export function buildStringToSign(fields: StringToSignFields): string {
  const bodyHash = createHash(digestName(fields.algorithm)).update(fields.body).digest("hex");
  return ["POST", fields.host, fields.path, fields.query, fields.algorithm, fields.timestamp, fields.nonce, bodyHash].join("\n");
}

/** Base64(HMAC-<alg>(ProductSecret, StringToSign)). */
export function computeSignature(productSecret: string, fields: StringToSignFields): string {
  return createHmac(digestName(fields.algorithm), Buffer.from(productSecret, "utf8"))
    .update(buildStringToSign(fields), "utf8")
    .digest("base64");
}

/** Compares two texts in constant time (the length check only reveals the length). */
export function constantTimeTextEqual(expected: string, actual: string): boolean {
  const a = Buffer.from(expected, "utf8");
  const b = Buffer.from(actual, "utf8");
  if (a.length !== b.length) {
    timingSafeEqual(a, a); // spend comparable time either way
    return false;
  }
  return timingSafeEqual(a, b);
}

export function verifySignature(productSecret: string, fields: StringToSignFields, signature: string): boolean {
  return constantTimeTextEqual(computeSignature(productSecret, fields), signature);
}

export interface LegacySignFields {
  deviceName: string;
  nonce: number | string;
  productId: string;
  timestamp: number | string;
}

/** §4: Base64 of the lower-case hex text of HMAC-SHA1 over the sorted query-like string. */
export function computeLegacySignature(productSecret: string, fields: LegacySignFields): string {
  const text = `deviceName=${fields.deviceName}&nonce=${fields.nonce}&productId=${fields.productId}&timestamp=${fields.timestamp}`;
  const hex = createHmac("sha1", Buffer.from(productSecret, "utf8")).update(text, "utf8").digest("hex");
  return Buffer.from(hex, "utf8").toString("base64");
}

export function verifyLegacySignature(productSecret: string, fields: LegacySignFields, signature: string): boolean {
  return constantTimeTextEqual(computeLegacySignature(productSecret, fields), signature);
}
