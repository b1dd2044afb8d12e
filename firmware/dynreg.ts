/**
 * dynregDevice(): this project's IOT_DynReg_Device. Asks the platform for the device's own
 * secret with the ProductSecret (docs/PROTOCOL.md §2-§3, or the legacy §4 endpoint) and returns the
 * completed DeviceInfo. Every failure is a DynregError, classified retryable or fatal.
 * It writes nothing to flash: storing the result is the caller's job (setDevInfo).
 */
import { HalNetworkError, type Clock, type CryptoHal, type HttpClient, type HttpResponse, type Logger } from "./contracts";
import { validateDeviceInfo, type DeviceInfo } from "./device-info";
import { maskSecret } from "./encoding";
import { DynregError, ExplorerError, type ErrorCode } from "./errors";
import { asCoreLog } from "./log";
import {
  DEFAULT_SIGN_ALGORITHM,
  LEGACY_CONTENT_TYPE,
  encodeLegacyRegisterBody,
  encodeRegisterBody,
  isSignAlgorithm,
  signLegacyRegister,
  signRegisterRequest,
  type SignAlgorithm,
} from "./dynreg-sign";
import {
  decryptRegisterPayload,
  describeDynregCode,
  parseRegisterCredentials,
  parseRegisterReply,
  type ReplyContext,
} from "./dynreg-response";

export const DEFAULT_REGISTER_URL = "https://ap-guangzhou.gateway.tencentdevices.com/device/register";
export const DEFAULT_LEGACY_REGISTER_URL = "https://ap-guangzhou.gateway.tencentdevices.com/register/dev";
export const DEFAULT_DYNREG_TIMEOUT_MS = 10_000;
/** A certificate payload is about 4 KiB of Base64; anything beyond twice that is not the platform. */
export const DEFAULT_DYNREG_MAX_RESPONSE_BYTES = 8 * 1024;

export interface DynregOptions {
  /** Default DEFAULT_REGISTER_URL (or DEFAULT_LEGACY_REGISTER_URL for the legacy protocol). */
  registerUrl?: string;
  /** Request signature algorithm of the current protocol; default hmacsha256. */
  algorithm?: SignAlgorithm;
  /** "current": POST /device/register (§2). "legacy": POST /register/dev (§4, C SDK 3.1). */
  protocol?: "current" | "legacy";
  timeoutMs?: number;
  maxResponseBytes?: number;
}

export interface DynregResult {
  /** The input with deviceSecret (psk mode) or clientCert/clientKey (cert mode) filled in. */
  deviceInfo: DeviceInfo;
  /** 0: the platform created the device now, 1: it existed (absent on the legacy protocol). */
  state?: 0 | 1;
  /** The answer's Date header, verbatim (parse it with parseHttpDate). */
  serverDate?: string;
  requestId?: string;
}

/** The part of the Hal registration uses: no flash, no MQTT. */
export interface DynregHal {
  crypto: CryptoHal;
  http: HttpClient;
  clock: Pick<Clock, "nowMs">;
  log?: Logger;
}

interface ParsedUrl {
  /** Lower-case host name without port: the StringToSign's host field. */
  hostname: string;
  path: string;
}

/** URL parsing without the URL global, which XS does not have. */
export function parseRegisterUrl(url: string): ParsedUrl {
  const match = /^https?:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?(\/[^?#]*)?$/.exec(url);
  if (!match) {
    throw new DynregError("request-rejected", `registerUrl ${JSON.stringify(url.slice(0, 200))} is not an http(s) URL without query: fix the configuration`);
  }
  return { hostname: match[1].toLowerCase(), path: match[3] || "/" };
}

/** A positive 31-bit integer from the CSPRNG (the C SDK sends rand()). */
function randomNonce(crypto: CryptoHal): number {
  const bytes = crypto.randomBytes(4);
  const value = ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) & 0x7fffffff;
  return value === 0 ? 1 : value;
}

interface PreparedRequest {
  headers: Record<string, string>;
  body: Uint8Array;
}

function prepareCurrent(crypto: CryptoHal, info: DeviceInfo, url: ParsedUrl, algorithm: SignAlgorithm, timestamp: number, nonce: number): PreparedRequest {
  const body = encodeRegisterBody(info.productId, info.deviceName);
  const signed = signRegisterRequest(crypto, {
    productSecret: info.productSecret as string,
    host: url.hostname,
    path: url.path,
    algorithm,
    timestamp,
    nonce,
    body,
  });
  return { headers: signed.headers, body };
}

function prepareLegacy(crypto: CryptoHal, info: DeviceInfo, timestamp: number, nonce: number): PreparedRequest {
  const input = { productSecret: info.productSecret as string, productId: info.productId, deviceName: info.deviceName, timestamp, nonce };
  const body = encodeLegacyRegisterBody(input, signLegacyRegister(crypto, input));
  return { headers: { "Content-Type": LEGACY_CONTENT_TYPE }, body };
}

function networkFailure(error: HalNetworkError, url: string): DynregError {
  const code: ErrorCode = error.code === "timeout" ? "timeout" : "network";
  const why = error.code === "too-large" ? "the answer exceeded the size cap (not the platform's)" : error.message;
  return new DynregError(code, `registration request to ${url} failed (${error.code}): ${why}; retry later`);
}

/** Status classes that need no body: the server (or something in front of it) is overloaded or down. */
function classifyStatus(response: HttpResponse, url: string, context: ReplyContext, serverDate?: string): DynregError | undefined {
  const status = response.status;
  const details = { httpStatus: status, serverDate };
  if (status === 429) return new DynregError("rate-limited", `${describeDynregCode("rate-limited")} (HTTP 429)`, details);
  if (status === 408) return new DynregError("timeout", `the server timed out reading the request (HTTP 408); retry later`, details);
  if (status >= 500) return new DynregError("server-error", `${describeDynregCode("server-error")} (HTTP ${status})`, details);
  if (status < 200 || (status >= 300 && status < 400)) {
    const where = response.headers["location"] ? ` to ${response.headers["location"].slice(0, 200)}` : "";
    return new DynregError("malformed-response", `${describeDynregCode("malformed-response", context)}: HTTP ${status}${where}`, details);
  }
  return undefined;
}

/** Adds what the answer told us (status, Date) to an error raised while reading it. */
function withAnswerDetails(error: DynregError, status: number, serverDate?: string): DynregError {
  if (error.httpStatus === status && error.serverDate === serverDate) return error;
  return new DynregError(error.code, error.message, { platformCode: error.platformCode, httpStatus: status, serverDate });
}

function readAnswer(crypto: CryptoHal, info: DeviceInfo, response: HttpResponse, url: string): DynregResult {
  const serverDate = response.headers["date"];
  const context: ReplyContext = { productId: info.productId, deviceName: info.deviceName, httpStatus: response.status };
  const statusError = classifyStatus(response, url, context, serverDate);
  if (statusError) throw statusError;
  try {
    const reply = parseRegisterReply(response.body, context);
    if (response.status >= 400) {
      // A success envelope with an error status is not the platform's answer.
      throw new DynregError("malformed-response", `${describeDynregCode("malformed-response")}: success body with HTTP ${response.status}`);
    }
    const text = decryptRegisterPayload(crypto, info.productSecret as string, reply.payload, reply.len);
    const credentials = parseRegisterCredentials(text, info.authMode);
    const deviceInfo: DeviceInfo =
      credentials.encryptionType === 2
        ? { ...info, deviceSecret: credentials.psk }
        : { ...info, clientCert: credentials.clientCert, clientKey: credentials.clientKey };
    return {
      deviceInfo,
      state: reply.state === 0 || reply.state === 1 ? reply.state : undefined,
      serverDate,
      requestId: reply.requestId,
    };
  } catch (error) {
    if (error instanceof DynregError) {
      // A 4xx whose body is not the platform's: the URL points somewhere that refuses us.
      if (error.code === "malformed-response" && response.status >= 400) {
        throw new DynregError("request-rejected", `HTTP ${response.status} from ${url} with a body that is not the platform's: check the registration URL`, {
          httpStatus: response.status,
          serverDate,
        });
      }
      throw withAnswerDetails(error, response.status, serverDate);
    }
    throw error;
  }
}

function checkedInfo(info: DeviceInfo): DeviceInfo {
  try {
    validateDeviceInfo(info);
  } catch (error) {
    if (error instanceof ExplorerError) throw new DynregError("invalid-device-info", error.message);
    throw error;
  }
  if (!info.productSecret) {
    throw new DynregError("invalid-device-info", "productSecret is required for dynamic registration: burn the product's ProductSecret");
  }
  return info;
}

/**
 * Registers the device and returns its completed DeviceInfo. Retryable failures (network,
 * timeout, 5xx, 429, clock, malformed answers) and fatal ones (signature, disabled, unknown,
 * activated, mismatch) are told apart by `error.retryable`.
 */
export async function dynregDevice(hal: DynregHal, info: DeviceInfo, options: DynregOptions = {}): Promise<DynregResult> {
  const protocol = options.protocol ?? "current";
  const algorithm = options.algorithm ?? DEFAULT_SIGN_ALGORITHM;
  if (!isSignAlgorithm(algorithm)) throw new DynregError("request-rejected", `algorithm must be hmacsha256 or hmacsha1, not ${JSON.stringify(algorithm)}`);
  const url = options.registerUrl ?? (protocol === "legacy" ? DEFAULT_LEGACY_REGISTER_URL : DEFAULT_REGISTER_URL);
  const parsedUrl = parseRegisterUrl(url);
  const device = checkedInfo(info);

  const timestamp = Math.floor(hal.clock.nowMs() / 1000);
  const nonce = randomNonce(hal.crypto);
  const prepared =
    protocol === "legacy"
      ? prepareLegacy(hal.crypto, device, timestamp, nonce)
      : prepareCurrent(hal.crypto, device, parsedUrl, algorithm, timestamp, nonce);

  hal.log?.log("info", "dynreg.request", {
    url,
    protocol,
    algorithm: protocol === "legacy" ? "hmacsha1" : algorithm,
    productId: device.productId,
    deviceName: device.deviceName,
    timestamp,
  });

  let response: HttpResponse;
  try {
    response = await hal.http.request({
      method: "POST",
      url,
      headers: prepared.headers,
      body: prepared.body,
      timeoutMs: options.timeoutMs ?? DEFAULT_DYNREG_TIMEOUT_MS,
      maxResponseBytes: options.maxResponseBytes ?? DEFAULT_DYNREG_MAX_RESPONSE_BYTES,
    });
  } catch (error) {
    const failure =
      error instanceof HalNetworkError
        ? networkFailure(error, url)
        : new DynregError("internal", `the HTTP client failed outside its contract: ${error instanceof Error ? error.name : typeof error}`);
    hal.log?.log("warn", "dynreg.failed", { code: failure.code, retryable: failure.retryable });
    throw failure;
  }

  try {
    const result = readAnswer(hal.crypto, device, response, url);
    // The new secret is known to the core's log before anything here could print it.
    const { deviceSecret, clientCert, clientKey } = result.deviceInfo;
    asCoreLog(hal.log)?.protect(deviceSecret, clientCert, clientKey);
    hal.log?.log("info", "dynreg.registered", {
      status: response.status,
      state: result.state ?? -1,
      credential: result.deviceInfo.deviceSecret ? maskSecret(result.deviceInfo.deviceSecret) : "certificate",
    });
    return result;
  } catch (error) {
    const failure = error instanceof DynregError ? error : new DynregError("internal", `reading the registration answer failed: ${error instanceof Error ? error.message : String(error)}`);
    hal.log?.log(failure.retryable ? "warn" : "error", "dynreg.failed", {
      code: failure.code,
      retryable: failure.retryable,
      status: response.status,
      platformCode: failure.platformCode ?? "",
    });
    throw failure;
  }
}
