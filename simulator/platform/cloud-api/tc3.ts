/**
 * TC3-HMAC-SHA256, the request signature of Tencent Cloud API 3.0 ("Signature v3" in Tencent's
 * API documentation; the same steps as Tencent's signature-process-demo and the signer in
 * tencentcloud-sdk-nodejs, common/sign.js):
 *
 *   CanonicalRequest = Method \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n
 *                      SignedHeaders \n Lowercase(HexEncode(SHA256(payload)))
 *   CanonicalHeaders = for each signed header, ascending by name: lower(name) ":" lower(trim(value)) \n
 *   StringToSign     = "TC3-HMAC-SHA256" \n Timestamp \n Date/service/tc3_request \n hex(SHA256(CanonicalRequest))
 *   SecretSigning    = HMAC(HMAC(HMAC("TC3" + SecretKey, Date), service), "tc3_request")
 *   Signature        = hex(HMAC(SecretSigning, StringToSign))
 *   Authorization    = TC3-HMAC-SHA256 Credential=SecretId/Date/service/tc3_request, SignedHeaders=..., Signature=...
 *
 * Date is the UTC date of X-TC-Timestamp. Written here with node:crypto for the platform; the
 * tests check it against Tencent's own Node SDK and a vector from Tencent's Python demo.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

export const TC3_ALGORITHM = "TC3-HMAC-SHA256";
const TERMINATOR = "tc3_request";

export interface Tc3Credential {
  secretId: string;
  date: string;        // YYYY-MM-DD
  service: string;     // "iotexplorer"
}

export interface Tc3Authorization extends Tc3Credential {
  signedHeaders: string[];   // lower-case names, as listed
  signature: string;         // lower-case hex, 64 characters
}

const HEADER_NAME = /^[a-z0-9-]+$/;
const HEX_SIGNATURE = /^[0-9a-f]{64}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Parses an Authorization header; a string is the reason it is not a TC3 authorization. The
 * fields are read by name, separated by ", " as Tencent's SDKs write them (a bare "," too).
 */
export function parseAuthorization(value: string | undefined): Tc3Authorization | string {
  if (value === undefined || value.length === 0) return "the Authorization header is missing";
  if (value.length > 2048) return "the Authorization header is too long";
  const space = value.indexOf(" ");
  if (space === -1 || value.slice(0, space) !== TC3_ALGORITHM) return `the Authorization header must start with ${TC3_ALGORITHM}`;
  const fields = new Map<string, string>();
  for (const part of value.slice(space + 1).split(",")) {
    const equals = part.indexOf("=");
    if (equals === -1) return "the Authorization header has a field without a value";
    const name = part.slice(0, equals).trim();
    if (fields.has(name)) return `the Authorization header repeats ${name}`;
    fields.set(name, part.slice(equals + 1).trim());
  }
  const credential = fields.get("Credential");
  const signedHeaders = fields.get("SignedHeaders");
  const signature = fields.get("Signature");
  if (credential === undefined || signedHeaders === undefined || signature === undefined || fields.size !== 3) {
    return "the Authorization header must have exactly Credential, SignedHeaders and Signature";
  }
  const scope = credential.split("/");
  if (scope.length !== 4 || scope[3] !== TERMINATOR || scope[0].length === 0 || !DATE.test(scope[1]) || scope[2].length === 0) {
    return "Credential must be SecretId/YYYY-MM-DD/service/tc3_request";
  }
  const names = signedHeaders.split(";");
  if (!names.every((name) => HEADER_NAME.test(name))) return "SignedHeaders must be lower-case header names separated by ';'";
  for (let i = 1; i < names.length; i++) {
    if (names[i - 1] >= names[i]) return "SignedHeaders must be in ascending order, each once";
  }
  if (!names.includes("content-type") || !names.includes("host")) return "SignedHeaders must include content-type and host";
  if (!HEX_SIGNATURE.test(signature)) return "Signature must be 64 lower-case hex digits";
  return { secretId: scope[0], date: scope[1], service: scope[2], signedHeaders: names, signature };
}

/** The UTC date (YYYY-MM-DD) of a Unix time in seconds, as the credential scope names it. */
export function utcDate(timestampSeconds: number): string {
  return new Date(timestampSeconds * 1000).toISOString().slice(0, 10);
}

export interface CanonicalRequestInput {
  method: string;
  path: string;                              // "/"
  query: string;                             // the query string as sent, without "?"
  /** Values of the signed headers, by lower-case name. */
  headers: Readonly<Record<string, string>>;
  signedHeaders: readonly string[];
  payload: Buffer | string;
}

export function sha256Hex(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

export function canonicalRequest(input: CanonicalRequestInput): string {
  const canonicalHeaders = input.signedHeaders
    .map((name) => `${name}:${(input.headers[name] ?? "").trim().toLowerCase()}\n`)
    .join("");
  return [input.method, input.path, input.query, canonicalHeaders, input.signedHeaders.join(";"), sha256Hex(input.payload)].join("\n");
}

export function stringToSign(timestamp: string, credential: Omit<Tc3Credential, "secretId">, canonical: string): string {
  return [TC3_ALGORITHM, timestamp, `${credential.date}/${credential.service}/${TERMINATOR}`, sha256Hex(canonical)].join("\n");
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac("sha256", key).update(data, "utf8").digest();
}

export function signingKey(secretKey: string, date: string, service: string): Buffer {
  return hmac(hmac(hmac(`TC3${secretKey}`, date), service), TERMINATOR);
}

/** Hex signature of a StringToSign. */
export function signature(secretKey: string, credential: Omit<Tc3Credential, "secretId">, toSign: string): string {
  return createHmac("sha256", signingKey(secretKey, credential.date, credential.service)).update(toSign, "utf8").digest("hex");
}

/** Compares two hex signatures of 64 digits in constant time. */
export function signaturesEqual(expectedHex: string, actualHex: string): boolean {
  const expected = Buffer.from(expectedHex, "hex");
  const actual = Buffer.from(HEX_SIGNATURE.test(actualHex) ? actualHex : "0".repeat(64), "hex");
  return timingSafeEqual(expected, actual) && HEX_SIGNATURE.test(actualHex);
}

export interface SignRequestInput {
  secretId: string;
  secretKey: string;
  service?: string;                          // default "iotexplorer"
  timestamp: number;                         // Unix seconds
  method?: string;                           // default POST
  path?: string;                             // default "/"
  query?: string;
  /** Headers to sign besides content-type and host, by lower-case name. */
  headers: Readonly<Record<string, string>> & { "content-type": string; host: string };
  payload: Buffer | string;
}

/** The Authorization header for a request (what a client does; used by tools and tests). */
export function authorizationHeader(input: SignRequestInput): string {
  const service = input.service ?? "iotexplorer";
  const date = utcDate(input.timestamp);
  const signedHeaders = Object.keys(input.headers).map((name) => name.toLowerCase()).sort();
  const lowerHeaders = Object.fromEntries(Object.entries(input.headers).map(([name, value]) => [name.toLowerCase(), value]));
  const canonical = canonicalRequest({
    method: input.method ?? "POST", path: input.path ?? "/", query: input.query ?? "",
    headers: lowerHeaders, signedHeaders, payload: input.payload,
  });
  const signed = signature(input.secretKey, { date, service }, stringToSign(String(input.timestamp), { date, service }, canonical));
  return `${TC3_ALGORITHM} Credential=${input.secretId}/${date}/${service}/${TERMINATOR}, SignedHeaders=${signedHeaders.join(";")}, Signature=${signed}`;
}
