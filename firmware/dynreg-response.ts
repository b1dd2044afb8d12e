/**
 * The dynamic-registration answer (docs/PROTOCOL.md §3): the reply envelope in its three shapes
 * (success, Response.Error, legacy {code,message}) and the AES-encrypted payload inside it.
 * Every function here either returns a checked value or throws a DynregError: any other
 * exception would be a bug, whatever bytes the network delivers.
 */
import type { CryptoHal } from "./contracts";
import type { AuthMode } from "./device-info";
import { base64Decode, utf8Decode, utf8Encode } from "./encoding";
import { DynregError, PLATFORM_ERROR_CODES, type ErrorCode } from "./errors";

/** A well-formed success envelope: the encrypted payload and what the platform said about it. */
export interface RegisterReply {
  shape: "current" | "legacy";
  /** Base64 ciphertext, checked to decode and to be a whole number of AES blocks. */
  payload: string;
  /** Plaintext length the platform announced (current shape only). */
  len?: number;
  /** 0: device newly created, 1: it already existed (current shape only). */
  state?: number;
  requestId?: string;
}

/** Who is registering, so error messages can name what a person must fix. */
export interface ReplyContext {
  productId?: string;
  deviceName?: string;
  httpStatus?: number;
}

/** A device has little RAM: larger payloads are not the platform's (a cert payload is ~3 KiB). */
export const MAX_PAYLOAD_BASE64_CHARS = 8 * 1024;
/** Platform messages are quoted in errors, cut to this length. */
const MAX_QUOTED_MESSAGE = 160;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Platform text goes into error messages: keep it short and printable. */
function quote(text: unknown): string {
  if (typeof text !== "string" || text === "") return "";
  const printable = text.replace(/[^\x20-\x7e]/g, "?");
  return printable.length > MAX_QUOTED_MESSAGE ? printable.slice(0, MAX_QUOTED_MESSAGE) + "..." : printable;
}

function deviceLabel(context: ReplyContext): string {
  if (context.productId && context.deviceName) return `device ${context.productId}/${context.deviceName}`;
  return "the device";
}

/** One actionable sentence per classification: what happened and what a person should do. */
export function describeDynregCode(code: ErrorCode, context: ReplyContext = {}): string {
  const device = deviceLabel(context);
  const product = context.productId ? `product ${context.productId}` : "the product";
  switch (code) {
    case "signature-invalid":
      return "the platform rejected the request signature: the ProductSecret in the device does not match the product's; burn the one shown in the console";
    case "payload-undecryptable":
      return "the registration payload does not decrypt under the device's ProductSecret: burn the ProductSecret shown in the console";
    case "dynreg-disabled":
      return `dynamic registration is disabled for ${product}: enable it in the console`;
    case "product-unknown":
      return `${product} does not exist in this region: check the ProductId and the registration URL's region`;
    case "device-unknown":
      return `${device} is not pre-created and auto-create is off: create the device in the console or enable auto-create`;
    case "device-activated":
      return "device already activated: delete it in the console to register it again";
    case "device-disabled":
      return `${device} is disabled: enable it in the console`;
    case "register-limit":
      return `${product} has as many dynamically registered devices as its registration limit allows: raise the limit in the console`;
    case "encryption-type-mismatch":
      return `the platform issued a different credential type than the device's auth mode: set the device's auth mode to the product's (key or certificate)`;
    case "request-rejected":
      return "the platform refused the request's form: update the firmware or check the factory data";
    case "timestamp-rejected":
      return "the platform rejected the request timestamp: correct the device clock (the server's Date header) and retry";
    case "nonce-replayed":
      return "the platform saw this nonce already: retry with a fresh one";
    case "rate-limited":
      return "too many registration requests: retry later";
    case "server-error":
      return "the registration server failed: retry later";
    case "malformed-response":
      return "the registration answer is not the platform's (proxy, captive portal or truncation): retry later";
    default:
      return `registration failed (${code})`;
  }
}

/**
 * Codes not in PLATFORM_ERROR_CODES are classified by their family (Tencent Cloud API 3 names),
 * and the platform's code is kept on the error. An unknown family is treated as a refusal
 * (fatal): looping on an answer we do not understand would only earn a rate limit.
 */
export function classifyPlatformCode(platformCode: string): ErrorCode {
  // Own keys only: a code such as "valueOf" or "constructor" must not find Object.prototype's.
  if (Object.prototype.hasOwnProperty.call(PLATFORM_ERROR_CODES, platformCode)) return PLATFORM_ERROR_CODES[platformCode];
  const family = platformCode.split(".")[0];
  switch (family) {
    case "InternalError":
    case "ResourceUnavailable":
      return "server-error";
    case "RequestLimitExceeded":
      return "rate-limited";
    case "ResourceNotFound":
      return "device-unknown";
    case "UnauthorizedOperation":
      return "dynreg-disabled";
    case "AuthFailure":
      return /Timestamp|Expire/i.test(platformCode) ? "timestamp-rejected" : "signature-invalid";
    default:
      return "request-rejected";
  }
}

/**
 * Numeric codes of the legacy /register/dev endpoint and the Response.Error code each stands for.
 * Only 1010 ("Check signature failed") was seen on the real platform; the others are the mock
 * platform's choice (docs/PROTOCOL.md §4), kept here so device and mock read them the same way.
 */
export const LEGACY_PLATFORM_CODES: Readonly<Record<number, string>> = {
  1001: "InvalidParameter.ContentType",
  1002: "InvalidParameter.BodyTooLarge",
  1003: "InvalidParameter.MalformedJson",
  1004: "InvalidParameterValue.ProductId",
  1005: "InvalidParameterValue.DeviceName",
  1006: "MissingParameter.Header",
  1007: "AuthFailure.UnsupportedAlgorithm",
  1008: "AuthFailure.TimestampExpired",
  1009: "AuthFailure.NonceReplayed",
  1010: "AuthFailure.SignatureFailure",
  1020: "ResourceNotFound.ProductNotExist",
  1021: "ResourceNotFound.DeviceNotExist",
  1022: "UnauthorizedOperation.DynamicRegistrationDisabled",
  1023: "FailedOperation.DeviceAlreadyActivated",
  1024: "UnauthorizedOperation.DeviceIsNotEnabled",
  1025: "LimitExceeded.DeviceExceedLimit",
  1030: "RequestLimitExceeded",
  1050: "InternalError",
};

/** Legacy numeric codes: known ones as their Response.Error twin, unknown ones as a refusal (fatal). */
export function classifyLegacyCode(code: number): ErrorCode {
  const named = LEGACY_PLATFORM_CODES[code];
  return named !== undefined ? classifyPlatformCode(named) : "request-rejected";
}

function platformError(code: ErrorCode, platformCode: string, platformMessage: unknown, context: ReplyContext): DynregError {
  const said = quote(platformMessage);
  return new DynregError(code, `${describeDynregCode(code, context)} (platform: ${platformCode}${said ? ` "${said}"` : ""})`, {
    platformCode,
    httpStatus: context.httpStatus,
  });
}

function malformed(reason: string, context: ReplyContext): DynregError {
  return new DynregError("malformed-response", `${describeDynregCode("malformed-response")}: ${reason}`, {
    httpStatus: context.httpStatus,
  });
}

/** Checks that the payload is strict Base64 of whole AES blocks, without decrypting it. */
function checkPayloadText(payload: unknown, context: ReplyContext): string {
  if (typeof payload !== "string" || payload === "") throw malformed("no Payload text", context);
  if (payload.length > MAX_PAYLOAD_BASE64_CHARS) throw malformed(`Payload of ${payload.length} characters exceeds ${MAX_PAYLOAD_BASE64_CHARS}`, context);
  let bytes: Uint8Array;
  try {
    bytes = base64Decode(payload);
  } catch {
    throw malformed("Payload is not Base64", context);
  }
  if (bytes.length === 0 || bytes.length % 16 !== 0) throw malformed(`Payload of ${bytes.length} bytes is not whole AES blocks`, context);
  return payload;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function parseCurrentShape(response: unknown, context: ReplyContext): RegisterReply {
  if (!isObject(response)) throw malformed("Response is not an object", context);
  const error = response.Error;
  if (error !== undefined) {
    if (!isObject(error) || typeof error.Code !== "string" || error.Code === "") throw malformed("Response.Error has no Code", context);
    throw platformError(classifyPlatformCode(error.Code), error.Code, error.Message, context);
  }
  const payload = checkPayloadText(response.Payload, context);
  const len = response.Len;
  if (len !== undefined && !(typeof len === "number" && Number.isInteger(len) && len > 0)) throw malformed("Len is not a positive integer", context);
  const state = response.State;
  if (state !== undefined && state !== 0 && state !== 1) throw malformed("State is neither 0 nor 1", context);
  return { shape: "current", payload, len, state, requestId: optionalString(response.RequestId) };
}

function parseLegacyShape(body: Record<string, unknown>, context: ReplyContext): RegisterReply {
  const code = body.code;
  if (typeof code !== "number" || !Number.isInteger(code)) throw malformed("legacy code is not an integer", context);
  if (code !== 0) throw platformError(classifyLegacyCode(code), String(code), body.message, context);
  const payload = checkPayloadText(body.payload, context);
  return { shape: "legacy", payload, requestId: optionalString(body.requestId) };
}

/** Parses the reply envelope. Throws DynregError for a platform error or anything unrecognised. */
export function parseRegisterReply(body: Uint8Array, context: ReplyContext = {}): RegisterReply {
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8Decode(body));
  } catch {
    throw malformed(`body of ${body.length} bytes is not UTF-8 JSON`, context);
  }
  if (!isObject(parsed)) throw malformed("body is not a JSON object", context);
  if ("Response" in parsed) return parseCurrentShape(parsed.Response, context);
  if ("code" in parsed) return parseLegacyShape(parsed, context);
  throw malformed("body has neither Response nor code", context);
}

// ---------------------------------------------------------------------------------------------
// Payload: Base64(AES-128-CBC(JSON)), key = first 16 bytes of ProductSecret, IV = sixteen '0'.
// ---------------------------------------------------------------------------------------------

const PAYLOAD_IV = utf8Encode("0000000000000000");

/** The AES key: the first 16 bytes of the ProductSecret's UTF-8 text. */
export function payloadKey(productSecret: string): Uint8Array {
  const bytes = utf8Encode(productSecret);
  if (bytes.length < 16) {
    throw new DynregError("invalid-device-info", `productSecret is ${bytes.length} bytes; at least 16 are needed (the first 16 are the AES key)`);
  }
  return bytes.slice(0, 16);
}

/**
 * Removes the padding: PKCS#7 when the tail is a valid PKCS#7 run, otherwise trailing NULs
 * (the platform zero-pads). A valid PKCS#7 tail can never end in NUL, so the two cannot be confused.
 */
export function stripPadding(plain: Uint8Array): Uint8Array {
  let end = plain.length;
  const last = plain[end - 1];
  if (last !== undefined && last >= 1 && last <= 16 && last <= end) {
    let pkcs7 = true;
    for (let i = end - last; i < end; i++) if (plain[i] !== last) pkcs7 = false;
    if (pkcs7) end -= last;
  }
  while (end > 0 && plain[end - 1] === 0) end--;
  return plain.slice(0, end);
}

function undecryptable(detail: string): DynregError {
  return new DynregError("payload-undecryptable", `${describeDynregCode("payload-undecryptable")} (${detail})`);
}

/** Decrypts the payload to its JSON text. Wrong key or damaged ciphertext: "payload-undecryptable". */
export function decryptRegisterPayload(crypto: CryptoHal, productSecret: string, payload: string, len?: number): string {
  let cipher: Uint8Array;
  try {
    cipher = base64Decode(payload);
  } catch {
    throw malformed("Payload is not Base64", {});
  }
  if (cipher.length === 0 || cipher.length % 16 !== 0) throw malformed(`Payload of ${cipher.length} bytes is not whole AES blocks`, {});
  const plain = stripPadding(crypto.aes128CbcDecrypt(payloadKey(productSecret), PAYLOAD_IV, cipher));
  // Len counts the JSON text; a zero-padded plaintext has exactly that many bytes once stripped.
  if (len !== undefined && plain.length !== len) throw undecryptable(`plaintext is ${plain.length} bytes, the platform announced ${len}`);
  let text: string;
  try {
    text = utf8Decode(plain);
  } catch {
    throw undecryptable("plaintext is not UTF-8");
  }
  if (text[0] !== "{") throw undecryptable("plaintext is not JSON");
  return text;
}

export type RegisterCredentials =
  | { encryptionType: 2; psk: string }
  | { encryptionType: 1; clientCert: string; clientKey: string };

/** Bounds a device can store (docs/PROTOCOL.md §1 and NVS's 4000-byte values). */
const MAX_PSK_CHARS = 64;
const MAX_PEM_CHARS = 4000;

/** The payload decrypted to JSON yet lacks what the platform always sends: not the platform's answer. */
function incomplete(detail: string): DynregError {
  return new DynregError("malformed-response", `${describeDynregCode("malformed-response")}: ${detail}`);
}

function requirePem(value: unknown, field: string, header: RegExp): string {
  if (typeof value !== "string" || value === "") throw incomplete(`no ${field} in the payload`);
  if (value.length > MAX_PEM_CHARS) throw incomplete(`${field} of ${value.length} characters exceeds ${MAX_PEM_CHARS}`);
  if (!header.test(value)) throw incomplete(`${field} is not PEM`);
  return value;
}

/** Reads the decrypted JSON and checks the credential type against the device's auth mode. */
export function parseRegisterCredentials(text: string, authMode: AuthMode): RegisterCredentials {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw undecryptable("plaintext is not JSON");
  }
  if (!isObject(body)) throw undecryptable("plaintext is not a JSON object");
  const type = body.encryptionType;
  if (type !== 1 && type !== 2) throw incomplete(`unknown encryptionType ${quote(JSON.stringify(type) ?? "undefined")}`);
  const wanted = authMode === "cert" ? 1 : 2;
  if (type !== wanted) {
    throw new DynregError(
      "encryption-type-mismatch",
      `${describeDynregCode("encryption-type-mismatch")} (device auth mode ${authMode}, platform sent encryptionType ${type})`,
    );
  }
  if (type === 2) {
    const psk = body.psk;
    if (typeof psk !== "string" || psk === "") throw incomplete("no psk in the payload");
    if (psk.length > MAX_PSK_CHARS) throw incomplete(`psk of ${psk.length} characters exceeds ${MAX_PSK_CHARS}`);
    let key: Uint8Array;
    try {
      key = base64Decode(psk);
    } catch {
      throw incomplete("psk is not Base64");
    }
    if (key.length === 0) throw incomplete("psk is empty");
    return { encryptionType: 2, psk };
  }
  return {
    encryptionType: 1,
    clientCert: requirePem(body.clientCert, "clientCert", /-----BEGIN CERTIFICATE-----/),
    clientKey: requirePem(body.clientKey, "clientKey", /-----BEGIN [A-Z ]*PRIVATE KEY-----/),
  };
}
