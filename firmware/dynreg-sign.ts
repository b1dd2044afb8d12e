/**
 * Signing of the dynamic-registration request (docs/PROTOCOL.md §2) and of the legacy
 * /register/dev request (§4). Pure functions over the crypto HAL: the same bytes on every engine.
 */
import type { CryptoHal, HashAlgorithm } from "./contracts";
import { base64Encode, constantTimeEqual, hexEncode, utf8Encode } from "./encoding";

export type SignAlgorithm = "hmacsha256" | "hmacsha1";

export const DEFAULT_SIGN_ALGORITHM: SignAlgorithm = "hmacsha256";

export function hashOfSignAlgorithm(algorithm: SignAlgorithm): HashAlgorithm {
  return algorithm === "hmacsha1" ? "sha1" : "sha256";
}

export function isSignAlgorithm(value: unknown): value is SignAlgorithm {
  return value === "hmacsha256" || value === "hmacsha1";
}

/**
 * The exact body bytes: key order ProductId then DeviceName, no spaces, as the vectors show.
 * JSON.stringify escapes quotes and control characters the same way on every engine.
 */
export function encodeRegisterBody(productId: string, deviceName: string): Uint8Array {
  return utf8Encode(JSON.stringify({ ProductId: productId, DeviceName: deviceName }));
}

export interface StringToSignFields {
  method: "POST";
  /** The URL's host name without a port (what a platform compares with its Host header). */
  host: string;
  path: string;
  /** Always empty for POST. */
  query: string;
  algorithm: SignAlgorithm;
  timestamp: number;
  nonce: number;
  /** Lower-case hex of the body's SHA-256 (or SHA-1 for hmacsha1). */
  bodyHashHex: string;
}

/** The eight fields of §2 joined by "\n". */
export function buildStringToSign(fields: StringToSignFields): string {
  return [
    fields.method,
    fields.host,
    fields.path,
    fields.query,
    fields.algorithm,
    String(fields.timestamp),
    String(fields.nonce),
    fields.bodyHashHex,
  ].join("\n");
}

export interface RegisterSignInput {
  productSecret: string;
  host: string;
  path: string;
  algorithm: SignAlgorithm;
  /** Unix seconds. */
  timestamp: number;
  nonce: number;
  body: Uint8Array;
}

export interface SignedRegisterRequest {
  stringToSign: string;
  bodyHashHex: string;
  /** Base64 of the HMAC: the X-TC-Signature value. */
  signature: string;
  /** The four X-TC headers plus Content-Type, ready for the HTTP HAL. */
  headers: Record<string, string>;
}

export const REGISTER_CONTENT_TYPE = "application/json; charset=utf-8";

function computeRegisterSignature(crypto: CryptoHal, input: RegisterSignInput): { stringToSign: string; bodyHashHex: string; signature: string } {
  const hash = hashOfSignAlgorithm(input.algorithm);
  const bodyHashHex = hexEncode(crypto.digest(hash, input.body));
  const stringToSign = buildStringToSign({
    method: "POST",
    host: input.host,
    path: input.path,
    query: "",
    algorithm: input.algorithm,
    timestamp: input.timestamp,
    nonce: input.nonce,
    bodyHashHex,
  });
  const mac = crypto.hmac(hash, utf8Encode(input.productSecret), utf8Encode(stringToSign));
  return { stringToSign, bodyHashHex, signature: base64Encode(mac) };
}

export function signRegisterRequest(crypto: CryptoHal, input: RegisterSignInput): SignedRegisterRequest {
  const signed = computeRegisterSignature(crypto, input);
  return {
    ...signed,
    headers: {
      "Content-Type": REGISTER_CONTENT_TYPE,
      "X-TC-Algorithm": input.algorithm,
      "X-TC-Timestamp": String(input.timestamp),
      "X-TC-Nonce": String(input.nonce),
      "X-TC-Signature": signed.signature,
    },
  };
}

/** Recomputes the signature and compares in constant time (the platform's side of §2). */
export function verifyRegisterSignature(crypto: CryptoHal, input: RegisterSignInput, signature: string): boolean {
  const expected = computeRegisterSignature(crypto, input).signature;
  return constantTimeEqual(utf8Encode(expected), utf8Encode(signature));
}

// ---------------------------------------------------------------------------------------------
// Legacy endpoint (§4), kept for platforms that still serve the C SDK 3.1 protocol.
// ---------------------------------------------------------------------------------------------

export interface LegacySignInput {
  productSecret: string;
  productId: string;
  deviceName: string;
  timestamp: number;
  nonce: number;
}

/** The C SDK sends a JSON body with this (mismatched) content type; the platform accepted it. */
export const LEGACY_CONTENT_TYPE = "application/x-www-form-urlencoded";

export function buildLegacySignText(input: LegacySignInput): string {
  return `deviceName=${input.deviceName}&nonce=${input.nonce}&productId=${input.productId}&timestamp=${input.timestamp}`;
}

/** Base64 of the 40-character lower-case hex text of HMAC-SHA1, not of the raw digest. */
export function signLegacyRegister(crypto: CryptoHal, input: LegacySignInput): string {
  const mac = crypto.hmac("sha1", utf8Encode(input.productSecret), utf8Encode(buildLegacySignText(input)));
  return base64Encode(utf8Encode(hexEncode(mac)));
}

/** The legacy body, keys in the C SDK's order. */
export function encodeLegacyRegisterBody(input: LegacySignInput, signature: string): Uint8Array {
  return utf8Encode(
    JSON.stringify({
      deviceName: input.deviceName,
      nonce: input.nonce,
      productId: input.productId,
      timestamp: input.timestamp,
      signature,
    }),
  );
}
