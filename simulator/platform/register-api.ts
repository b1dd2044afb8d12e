/**
 * Dynamic registration endpoints: `POST /device/register` (docs/PROTOCOL.md §2, §3) and the
 * legacy `POST /register/dev` (§4). Checks run cheapest first, and nothing about a device is
 * revealed before the request's signature has been verified.
 */
import { randomUUID } from "node:crypto";
import { pooledRandomBytes } from "../../hal/node/random-pool";
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { TextDecoder } from "node:util";
import { PLATFORM_ERROR_CODES } from "../../firmware/errors";
import type { CertAuthority } from "./cert-authority";
import { BodyTooLargeError, hostWithoutPort, mediaType, readBody, RequestAbortedError, sendJson } from "./http-server";
import { rateLimitedLog, type PlatformLog } from "./platform-log";
import { encryptPayload } from "./payload";
import { DEVICE_NAME_PATTERN, PRODUCT_ID_PATTERN, RegistryError, type Device, type Product, type Registry } from "./registry";
import { isSignAlgorithm, verifyLegacySignature, verifySignature } from "./signature";

export type PlatformErrorCode =
  | "InvalidParameter.ContentType" | "InvalidParameter.BodyTooLarge" | "InvalidParameter.MalformedJson"
  | "InvalidParameterValue.ProductId" | "InvalidParameterValue.DeviceName" | "MissingParameter.Header"
  | "AuthFailure.UnsupportedAlgorithm" | "AuthFailure.TimestampExpired" | "AuthFailure.NonceReplayed"
  | "AuthFailure.SignatureFailure" | "ResourceNotFound.ProductNotExist" | "ResourceNotFound.DeviceNotExist"
  | "UnauthorizedOperation.DynamicRegistrationDisabled" | "FailedOperation.DeviceAlreadyActivated"
  | "UnauthorizedOperation.DeviceIsNotEnabled" | "LimitExceeded.DeviceExceedLimit"
  | "RequestLimitExceeded" | "InternalError";

/** Numeric codes of the legacy endpoint (chosen; only 1010 "Check signature failed" was observed). */
export const LEGACY_ERROR_CODES: Readonly<Record<PlatformErrorCode, number>> = {
  "InvalidParameter.ContentType": 1001,
  "InvalidParameter.BodyTooLarge": 1002,
  "InvalidParameter.MalformedJson": 1003,
  "InvalidParameterValue.ProductId": 1004,
  "InvalidParameterValue.DeviceName": 1005,
  "MissingParameter.Header": 1006,
  "AuthFailure.UnsupportedAlgorithm": 1007,
  "AuthFailure.TimestampExpired": 1008,
  "AuthFailure.NonceReplayed": 1009,
  "AuthFailure.SignatureFailure": 1010,
  "ResourceNotFound.ProductNotExist": 1020,
  "ResourceNotFound.DeviceNotExist": 1021,
  "UnauthorizedOperation.DynamicRegistrationDisabled": 1022,
  "FailedOperation.DeviceAlreadyActivated": 1023,
  "UnauthorizedOperation.DeviceIsNotEnabled": 1024,
  "LimitExceeded.DeviceExceedLimit": 1025,
  "RequestLimitExceeded": 1030,
  "InternalError": 1050,
};

// The device classifies refusals by the shared table: a code missing there is a bug of this mock.
for (const code of Object.keys(LEGACY_ERROR_CODES)) {
  if (!(code in PLATFORM_ERROR_CODES)) throw new Error(`platform error code ${code} is not in PLATFORM_ERROR_CODES`);
}

/** A refusal: one code per cause, with the message the device shows a person. */
export class RegistrationRefusal extends Error {
  constructor(readonly code: PlatformErrorCode, message: string) {
    super(message);
    this.name = "RegistrationRefusal";
  }
  get httpStatus(): number {
    return this.code === "RequestLimitExceeded" ? 429 : this.code === "InternalError" ? 500 : 200;
  }
}

export interface RegisterApiOptions {
  registry: Registry;
  certAuthority: () => Promise<CertAuthority>;
  timestampWindowSeconds: number;
  maxBodyBytes: number;
  /** Registrations per second per product before RequestLimitExceeded; 0 = unlimited. */
  maxRegistrationsPerSecond: number;
  now: () => number;
  log: PlatformLog;
  /** Log each request's peer address (false: nobody reads the log, spare the system call). */
  logRemote?: boolean;
  /** Nodes sharing one Redis: the per-product rate is counted there, cluster-wide (redis-cluster.ts). */
  rateCounter?: { countRegistration(productId: string, second: number): Promise<number> };
}

export interface RegistrationRequest {
  productId: string;
  deviceName: string;
  timestamp: number;
  nonce: string;
  /** Verifies the request against the product's secret, in constant time. */
  verify: (productSecret: string) => boolean;
}

export interface RegistrationResult {
  state: 0 | 1;              // 0: secret issued now, 1: the secret issued before
  len: number;
  payload: string;
  device: Device;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const DIGITS = /^[0-9]{1,19}$/;

function refuse(code: PlatformErrorCode, message: string): never {
  throw new RegistrationRefusal(code, message);
}

function parseJsonObject(body: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8.decode(body));
  } catch {
    refuse("InvalidParameter.MalformedJson", "the body is not UTF-8 JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) refuse("InvalidParameter.MalformedJson", "the body must be a JSON object");
  return value as Record<string, unknown>;
}

function checkIdentity(productId: unknown, deviceName: unknown): { productId: string; deviceName: string } {
  if (typeof productId !== "string" || !PRODUCT_ID_PATTERN.test(productId)) {
    refuse("InvalidParameterValue.ProductId", "ProductId must be 1-10 letters or digits");
  }
  if (typeof deviceName !== "string" || !DEVICE_NAME_PATTERN.test(deviceName)) {
    refuse("InvalidParameterValue.DeviceName", "DeviceName must be 1-48 characters of [A-Za-z0-9_-.:@]");
  }
  return { productId, deviceName };
}

function refuseLimit(product: Product): never {
  refuse("LimitExceeded.DeviceExceedLimit", `product ${product.productId} reached its limit of ${product.registerLimit} dynamically registered devices`);
}

function header(req: IncomingMessage, name: string): string {
  const value = req.headers[name];
  if (typeof value !== "string" || value.length === 0) refuse("MissingParameter.Header", `the ${name} header is missing`);
  return value;
}

export class RegistrationService {
  private readonly rate = new Map<string, { second: number; count: number }>();
  private lastPrune = 0;

  constructor(private readonly options: RegisterApiOptions) {}

  /** Parses and checks `POST /device/register`; throws RegistrationRefusal. */
  async parseCurrent(req: IncomingMessage): Promise<RegistrationRequest> {
    if (mediaType(req.headers["content-type"]) !== "application/json") {
      refuse("InvalidParameter.ContentType", "Content-Type must be application/json");
    }
    const body = await this.readCappedBody(req);
    const json = parseJsonObject(body);
    const { productId, deviceName } = checkIdentity(json.ProductId, json.DeviceName);
    const algorithm = header(req, "x-tc-algorithm");
    const timestampText = header(req, "x-tc-timestamp");
    const nonce = header(req, "x-tc-nonce");
    const signature = header(req, "x-tc-signature");
    if (!DIGITS.test(timestampText)) refuse("MissingParameter.Header", "X-TC-Timestamp must be a unix time in seconds");
    if (!DIGITS.test(nonce)) refuse("MissingParameter.Header", "X-TC-Nonce must be a non-negative integer");
    if (!isSignAlgorithm(algorithm)) refuse("AuthFailure.UnsupportedAlgorithm", `X-TC-Algorithm must be hmacsha256 or hmacsha1, not ${JSON.stringify(algorithm.slice(0, 32))}`);
    const host = hostWithoutPort(req.headers.host);
    const path = (req.url ?? "").split("?")[0];
    return {
      productId, deviceName, timestamp: Number(timestampText), nonce,
      verify: (secret) => verifySignature(secret, { host, path, query: "", algorithm, timestamp: timestampText, nonce, body }, signature),
    };
  }

  /** Parses and checks the legacy `POST /register/dev` (JSON body, form-urlencoded tolerated). */
  async parseLegacy(req: IncomingMessage): Promise<RegistrationRequest> {
    const type = mediaType(req.headers["content-type"]);
    if (type !== "application/json" && type !== "application/x-www-form-urlencoded") {
      refuse("InvalidParameter.ContentType", "Content-Type must be application/json or application/x-www-form-urlencoded");
    }
    const body = await this.readCappedBody(req);
    let fields: Record<string, unknown>;
    const text = body.toString("utf8").trim();
    if (type === "application/x-www-form-urlencoded" && !text.startsWith("{")) {
      fields = Object.fromEntries(new URLSearchParams(text));
    } else {
      fields = parseJsonObject(body); // C SDK 3.1 sends JSON under the form content type
    }
    const { productId, deviceName } = checkIdentity(fields.productId, fields.deviceName);
    const nonce = String(fields.nonce ?? "");
    const timestamp = String(fields.timestamp ?? "");
    const signature = fields.signature;
    if (!DIGITS.test(nonce)) refuse("MissingParameter.Header", "nonce must be a non-negative integer");
    if (!DIGITS.test(timestamp)) refuse("MissingParameter.Header", "timestamp must be a unix time in seconds");
    if (typeof signature !== "string" || signature.length === 0) refuse("MissingParameter.Header", "signature is missing");
    return {
      productId, deviceName, timestamp: Number(timestamp), nonce,
      verify: (secret) => verifyLegacySignature(secret, { deviceName, nonce, productId, timestamp }, signature),
    };
  }

  private async readCappedBody(req: IncomingMessage): Promise<Buffer> {
    try {
      return await readBody(req, this.options.maxBodyBytes);
    } catch (error) {
      if (error instanceof BodyTooLargeError) refuse("InvalidParameter.BodyTooLarge", error.message);
      throw error;
    }
  }

  /** The registration rules of docs/PROTOCOL.md §1-§3 for a parsed request. */
  async register(request: RegistrationRequest): Promise<RegistrationResult> {
    const { registry, timestampWindowSeconds: window } = this.options;
    const nowMs = this.options.now();
    const nowSeconds = Math.floor(nowMs / 1000);
    if (Math.abs(nowSeconds - request.timestamp) > window) {
      refuse("AuthFailure.TimestampExpired", `the timestamp is more than ${window} s away from the platform's clock`);
    }
    const product = await registry.getProduct(request.productId);
    if (!product) refuse("ResourceNotFound.ProductNotExist", `product ${request.productId} does not exist`);
    if (!product.dynamicRegistration) refuse("UnauthorizedOperation.DynamicRegistrationDisabled", `dynamic registration is disabled for product ${product.productId}`);
    if (!request.verify(product.productSecret)) refuse("AuthFailure.SignatureFailure", "the signature does not match");
    // Counted after the signature, so requests without the secret cannot use up a product's rate.
    await this.checkRate(product.productId, nowSeconds);
    // Only authenticated requests consume nonces, so nobody can burn a device's nonces.
    await this.pruneNonces(nowSeconds);
    const nonceKey = `${product.productId}\n${request.deviceName}\n${request.nonce}`;
    if (!await registry.rememberNonce(nonceKey, Math.max(nowSeconds, request.timestamp) + window + 1, nowSeconds)) {
      refuse("AuthFailure.NonceReplayed", "this nonce was already used within the timestamp window");
    }
    let device = await registry.getDevice(product.productId, request.deviceName);
    if (!device) {
      if (!product.autoCreate) refuse("ResourceNotFound.DeviceNotExist", `device ${request.deviceName} does not exist and auto-create is off`);
      // A full product creates no device it would then refuse.
      if (product.registerLimit > 0 && await registry.dynamicRegistrationCount(product.productId, product.registerLimit) >= product.registerLimit) refuseLimit(product);
      device = await registry.createDevice(product.productId, request.deviceName, { autoCreated: true, now: nowMs }).catch(async (error: unknown) => {
        // A concurrent request for the same new device created it first: answer for that one.
        const created = error instanceof RegistryError && error.code === "exists" ? await registry.getDevice(product.productId, request.deviceName) : undefined;
        if (!created) throw error;
        return created;
      });
    }
    // Cloud API management (issue 15): a disabled device, or one past the product's RegisterLimit, gets no secret.
    if (!device.enabled) refuse("UnauthorizedOperation.DeviceIsNotEnabled", `device ${request.deviceName} is disabled; enable it in the console`);
    if (device.state === "activated") refuse("FailedOperation.DeviceAlreadyActivated", `device ${request.deviceName} is already activated; delete it in the console to register again`);
    if (!await registry.claimDynamicRegistration(device, product.registerLimit, nowMs)) refuseLimit(product);
    let state: 0 | 1 = 1;
    if (device.state === "created" && (device.psk !== undefined || device.certPem !== undefined)) {
      // Credentials issued by CreateDevice: registration hands them over.
      await registry.markRegistered(product.productId, device.deviceName, this.options.now());
    } else if (device.state === "created") {
      const credentials = product.authType === "cert"
        ? await (await this.options.certAuthority()).issueDeviceCertificate(product.productId, device.deviceName)
        : { psk: pooledRandomBytes(16).toString("base64") };
      // A concurrent request may have issued first while the certificate was made: keep that one.
      const issuedAt = this.options.now();
      if (await registry.setCredentials(product.productId, device.deviceName, credentials, issuedAt)) {
        // The row now holds exactly these: no need to read it back.
        state = 0;
        device = { ...device, ...credentials, state: "registered", registeredAt: issuedAt };
      } else {
        device = await registry.getDevice(product.productId, device.deviceName);
        if (!device) refuse("ResourceNotFound.DeviceNotExist", `device ${request.deviceName} was deleted during registration`);
      }
    }
    const plaintext = product.authType === "cert"
      ? JSON.stringify({ encryptionType: 1, clientCert: device.certPem, clientKey: device.keyPem })
      : JSON.stringify({ encryptionType: 2, psk: device.psk });
    const { len, payload } = encryptPayload(product.productSecret, plaintext);
    // With a cluster, the new key reaches every node before the device learns it (DeviceKeys.flush):
    // its TLS-PSK CONNECT may go to any node, whose pskCallback cannot wait for the database.
    await registry.deviceKeys.flush();
    return { state, len, payload, device };
  }

  private async checkRate(productId: string, nowSeconds: number): Promise<void> {
    const limit = this.options.maxRegistrationsPerSecond;
    if (limit <= 0) return;
    if (this.options.rateCounter) {
      const count = await this.options.rateCounter.countRegistration(productId, nowSeconds);
      if (count > limit) refuse("RequestLimitExceeded", `more than ${limit} registrations per second for product ${productId}`);
      return;
    }
    let entry = this.rate.get(productId);
    if (!entry || entry.second !== nowSeconds) {
      entry = { second: nowSeconds, count: 0 };
      this.rate.set(productId, entry);
    }
    if (++entry.count > limit) refuse("RequestLimitExceeded", `more than ${limit} registrations per second for product ${productId}`);
  }

  private async pruneNonces(nowSeconds: number): Promise<void> {
    if (nowSeconds - this.lastPrune < 30) return;
    this.lastPrune = nowSeconds;
    await this.options.registry.pruneNonces(nowSeconds);
    for (const [productId, entry] of this.rate) if (entry.second !== nowSeconds) this.rate.delete(productId);
  }
}

/** Tencent's C SDK 3.1 reads a response in reads of this many bytes (utils_httpc.c, HTTP_CLIENT_CHUNK_SIZE - 1). */
export const C_SDK_HTTP_READ_BYTES = 1024;
/** The padded header block stays below this, so the C SDK finds its end within its first read. */
const MAX_PADDED_HEADER_BYTES = 1000;
export const LEGACY_PADDING_HEADER = "X-Explorer-Xs-Padding";

/**
 * Answers the legacy endpoint so that Tencent's C SDK 3.1 sees the end of the response at once
 * instead of waiting out its 2 s read timeout (dynreg.c, DYN_REG_RES_HTTP_TIMEOUT_MS). Its HTTP
 * client (utils_httpc.c, _http_client_recv_response) first reads 1024 bytes, and that read ends
 * early only when the server closes the connection (HAL_TCP_Read returns the bytes with
 * QCLOUD_ERR_TCP_PEER_SHUTDOWN) or when 1024 bytes have arrived. Over TCP the connection closes
 * after the body. Over TLS a close is fatal to it (HAL_TLS_Read turns close_notify into
 * QCLOUD_ERR_SSL_READ and drops what it read), so the connection stays open and a padding header
 * brings the response to 1024 bytes, its header block still ending inside them. (The mock's own
 * measure; docs/PROTOCOL.md §4.)
 */
function sendLegacyJson(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, date: Date): void {
  const text = JSON.stringify(body);
  const bodyBytes = Buffer.byteLength(text);
  res.statusCode = status;
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.setHeader("Content-Length", bodyBytes);
  res.setHeader("Date", date.toUTCString());
  const encrypted = (req.socket as Partial<TLSSocket>).encrypted === true;
  // With Connection, Date and Content-Length set, Node adds no header of its own: the block is exactly these lines.
  res.setHeader("Connection", encrypted && req.complete ? "keep-alive" : "close");
  if (encrypted && req.complete) {
    const lines = res.getHeaderNames().map((name) => `${name}: ${String(res.getHeader(name))}\r\n`).join("");
    const headerBytes = Buffer.byteLength(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\n${lines}\r\n`);
    const paddingLine = `${LEGACY_PADDING_HEADER}: \r\n`.length;
    const target = Math.min(MAX_PADDED_HEADER_BYTES, C_SDK_HTTP_READ_BYTES + 32 - bodyBytes);
    const padding = target - headerBytes - paddingLine;
    if (padding > 0) res.setHeader(LEGACY_PADDING_HEADER, "x".repeat(padding));
  }
  res.end(text);
}

function remoteOf(req: IncomingMessage): string {
  return `${req.socket.remoteAddress ?? "?"}:${req.socket.remotePort ?? "?"}`;
}

/** Answers `POST /device/register` and `POST /register/dev`. */
export function createRegisterHandler(options: RegisterApiOptions) {
  const service = new RegistrationService(options);
  // Clients abandoning their request are theirs to cause, by the thousand (slowloris): a debug line, rate-limited.
  const logAborted = rateLimitedLog(options.log, options.now);

  async function handle(req: IncomingMessage, res: ServerResponse, endpoint: "current" | "legacy"): Promise<void> {
    const requestId = randomUUID();
    const date = new Date(options.now());
    const logBase = { event: "register", endpoint: req.url?.split("?")[0], requestId, remote: options.logRemote === false ? undefined : remoteOf(req) };
    let request: RegistrationRequest | undefined;
    try {
      request = endpoint === "current" ? await service.parseCurrent(req) : await service.parseLegacy(req);
      const result = await service.register(request);
      options.log({ ...logBase, productId: request.productId, deviceName: request.deviceName, outcome: "ok", state: result.state });
      if (endpoint === "current") {
        sendJson(res, 200, { Response: { Len: result.len, Payload: result.payload, RequestId: requestId, State: result.state } }, { date });
      } else {
        sendLegacyJson(req, res, 200, { code: 0, message: "", payload: result.payload }, date);
      }
    } catch (error) {
      if (error instanceof RequestAbortedError) {
        logAborted({ ...logBase, level: "debug", outcome: "aborted" });
        res.destroy();
        return;
      }
      const refusal = error instanceof RegistrationRefusal
        ? error
        : new RegistrationRefusal("InternalError", "the platform failed to handle the request");
      options.log({
        ...logBase, productId: request?.productId, deviceName: request?.deviceName, outcome: refusal.code,
        ...(refusal.code === "InternalError" ? { detail: error instanceof Error ? error.message : String(error) } : {}),
      });
      // An unread (oversized) body would be parsed as the next request: close the connection.
      const close = refusal.code === "InvalidParameter.BodyTooLarge" || !req.complete;
      if (endpoint === "current") {
        sendJson(res, refusal.httpStatus, { Response: { Error: { Code: refusal.code, Message: refusal.message }, RequestId: requestId } }, { date, close });
      } else {
        const message = refusal.code === "AuthFailure.SignatureFailure" ? "Check signature failed" : refusal.message;
        sendLegacyJson(req, res, refusal.httpStatus, { code: LEGACY_ERROR_CODES[refusal.code], message, requestId }, date);
      }
    }
  }

  return {
    handleCurrent: (req: IncomingMessage, res: ServerResponse) => handle(req, res, "current"),
    handleLegacy: (req: IncomingMessage, res: ServerResponse) => handle(req, res, "legacy"),
  };
}
