/**
 * Typed errors of the core. Every failure a device can meet maps to one `code`, classified as
 * retryable (try again later, with backoff) or fatal (a person must act; never retried in a loop).
 */
import { nameErrorClass } from "./contracts";

export type ErrorCode =
  // retryable
  | "network"               // connection refused, reset, DNS, TLS, response too large
  | "timeout"               // no complete answer in time
  | "server-error"          // HTTP 5xx or the platform's InternalError
  | "rate-limited"          // HTTP 429 or RequestLimitExceeded
  | "timestamp-rejected"    // the platform says our clock is off: correct it and retry
  | "nonce-replayed"        // the platform saw this nonce: retry with a fresh one
  | "malformed-response"    // a body that is not the platform's (captive portal, proxy, truncation)
  | "mqtt-refused-transient"// CONNACK 3 (server unavailable)
  | "mqtt-subscribe-refused"// SUBACK 0x80 on the property topic: the product's topic permissions
  // fatal
  | "invalid-device-info"   // a field breaks a limit: fix the factory data
  | "signature-invalid"     // the platform rejected our signature: wrong ProductSecret
  | "payload-undecryptable" // the payload does not decrypt under our ProductSecret
  | "dynreg-disabled"       // dynamic registration is off for the product
  | "product-unknown"
  | "device-unknown"        // not pre-created and auto-create is off
  | "device-activated"      // registered and connected before: delete it in the console
  | "device-disabled"       // disabled in the console (UpdateDevicesEnableState): enable it
  | "register-limit"        // the product's dynamic registration limit (RegisterLimit) is reached
  | "encryption-type-mismatch"
  | "request-rejected"      // the platform refused the request's form (a client bug)
  | "mqtt-refused"          // CONNACK 1, 2, 4 or 5: bad credentials or not authorized
  | "storage"               // flash cannot hold or return the record
  | "internal";             // a bug: an exception the core did not expect

const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "network", "timeout", "server-error", "rate-limited", "timestamp-rejected", "nonce-replayed",
  "malformed-response", "mqtt-refused-transient", "mqtt-subscribe-refused",
]);

export function isRetryableCode(code: ErrorCode): boolean {
  return RETRYABLE.has(code);
}

export class ExplorerError extends Error {
  static {
    nameErrorClass(this, "ExplorerError");
  }
  readonly code: ErrorCode;
  readonly retryable: boolean;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
    this.retryable = isRetryableCode(code);
  }
}

/** Raised by the device-info model and record store. */
export class DeviceInfoError extends ExplorerError {
  static {
    nameErrorClass(this, "DeviceInfoError");
  }
  readonly field: string;
  constructor(field: string, message: string) {
    super("invalid-device-info", message);
    this.field = field;
  }
}

/**
 * Raised by dynamic registration; `platformCode` keeps the platform's own code when it gave one,
 * and `serverDate` the answer's Date header, so a "timestamp-rejected" can correct the clock.
 */
export class DynregError extends ExplorerError {
  static {
    nameErrorClass(this, "DynregError");
  }
  readonly platformCode?: string;
  readonly httpStatus?: number;
  readonly serverDate?: string;
  constructor(code: ErrorCode, message: string, details: { platformCode?: string; httpStatus?: number; serverDate?: string } = {}) {
    super(code, message);
    this.platformCode = details.platformCode;
    this.httpStatus = details.httpStatus;
    this.serverDate = details.serverDate;
  }
}

/**
 * The mock platform's `Response.Error.Code` values (docs/PROTOCOL.md §3: chosen, since Tencent does
 * not document them) and how the device classifies each. Both sides follow this table.
 */
export const PLATFORM_ERROR_CODES: Readonly<Record<string, ErrorCode>> = {
  "InvalidParameter.ContentType": "request-rejected",
  "InvalidParameter.BodyTooLarge": "request-rejected",
  "InvalidParameter.MalformedJson": "request-rejected",
  "InvalidParameterValue.ProductId": "request-rejected",
  "InvalidParameterValue.DeviceName": "request-rejected",
  "MissingParameter.Header": "request-rejected",
  "AuthFailure.UnsupportedAlgorithm": "request-rejected",
  "AuthFailure.TimestampExpired": "timestamp-rejected",
  "AuthFailure.NonceReplayed": "nonce-replayed",
  "AuthFailure.SignatureFailure": "signature-invalid",
  "ResourceNotFound.ProductNotExist": "product-unknown",
  "ResourceNotFound.DeviceNotExist": "device-unknown",
  "UnauthorizedOperation.DynamicRegistrationDisabled": "dynreg-disabled",
  "FailedOperation.DeviceAlreadyActivated": "device-activated",
  "UnauthorizedOperation.DeviceIsNotEnabled": "device-disabled",
  "LimitExceeded.DeviceExceedLimit": "register-limit",
  "RequestLimitExceeded": "rate-limited",
  "InternalError": "server-error",
};
