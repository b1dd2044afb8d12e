// @ts-check
/**
 * TC3-HMAC-SHA256 in the browser with WebCrypto: the console signs its Cloud API calls exactly as
 * Tencent's SDKs do (canonical request, credential scope, derived key). crypto.subtle exists only
 * in a secure context: https, or http on 127.0.0.1 / localhost.
 */

const encoder = new TextEncoder();

/** @param {ArrayBuffer | Uint8Array} bytes */
function hex(bytes) {
  return Array.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** @param {string} text */
async function sha256Hex(text) {
  return hex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/**
 * @param {Uint8Array<ArrayBuffer>} key
 * @param {string} text
 * @returns {Promise<Uint8Array<ArrayBuffer>>}
 */
async function hmac(key, text) {
  const imported = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", imported, encoder.encode(text)));
}

/** @param {number} timestamp Unix seconds */
export function utcDate(timestamp) {
  return new Date(timestamp * 1000).toISOString().slice(0, 10);
}

export function webCryptoAvailable() {
  return typeof crypto !== "undefined" && typeof crypto.subtle !== "undefined";
}

/**
 * The Authorization header of a request signed over content-type, host and the `headers` given
 * (the console signs X-TC-Action and X-TC-Timestamp too, so a captured request cannot be replayed
 * with another action: the platform requires that of a one-time link's keys).
 * @param {{ secretId: string, secretKey: string, timestamp: number, host: string, contentType: string,
 *   payload: string, method?: string, path?: string, query?: string, service?: string,
 *   headers?: Record<string, string> }} request
 */
export async function authorization(request) {
  const service = request.service ?? "iotexplorer";
  const date = utcDate(request.timestamp);
  /** @type {Record<string, string>} */
  const values = { "content-type": request.contentType, host: request.host };
  for (const [name, value] of Object.entries(request.headers ?? {})) values[name.toLowerCase()] = value;
  const names = Object.keys(values).sort();
  const signedHeaders = names.join(";");
  const canonicalHeaders = names.map((name) => `${name}:${values[name].trim().toLowerCase()}\n`).join("");
  const canonicalRequest = [request.method ?? "POST", request.path ?? "/", request.query ?? "", canonicalHeaders, signedHeaders, await sha256Hex(request.payload)].join("\n");
  const scope = `${date}/${service}/tc3_request`;
  const stringToSign = ["TC3-HMAC-SHA256", String(request.timestamp), scope, await sha256Hex(canonicalRequest)].join("\n");
  const secretDate = await hmac(encoder.encode(`TC3${request.secretKey}`), date);
  const secretService = await hmac(secretDate, service);
  const secretSigning = await hmac(secretService, "tc3_request");
  const signature = hex(await hmac(secretSigning, stringToSign));
  return `TC3-HMAC-SHA256 Credential=${request.secretId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
}
