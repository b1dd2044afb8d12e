/**
 * The HAL contracts: the only door between the engine-neutral core (firmware/) and a platform.
 *
 * Like coreMQTT's transport interface, each contract is the smallest surface the core needs,
 * so a port (hal/esp32 on Moddable modules, hal/node for the simulator) stays at the edge.
 * Everything here is plain ECMAScript types: no Node, no Moddable.
 */

export type Bytes = Uint8Array;

// ---------------------------------------------------------------------------------------------
// Key-value flash (NVS-like). Mirrors Moddable's `Preference` on ESP-IDF NVS:
// namespace and key names at most 15 characters, strings at most 4000 bytes, and every set
// commits on its own (two sets are two commits). Synchronous, as Preference is.
// ---------------------------------------------------------------------------------------------

export type FlashValue = boolean | number | string | ArrayBuffer;

export const NVS_MAX_NAME_LENGTH = 15;
export const NVS_MAX_STRING_BYTES = 4000;
export const NVS_MAX_BLOB_BYTES = 4000;

export interface KeyValueFlash {
  /** The stored value, or undefined when the key is absent. */
  get(namespace: string, key: string): FlashValue | undefined;
  /** Writes and commits one value. Throws FlashError on a limit violation or a failed commit. */
  set(namespace: string, key: string, value: FlashValue): void;
  /** Removes one key and commits (a no-op when absent). */
  delete(namespace: string, key: string): void;
  /** The key names present in a namespace. */
  keys(namespace: string): string[];
}

// ---------------------------------------------------------------------------------------------
// Crypto. Synchronous, as both node:crypto and Moddable's `crypt` are.
// ---------------------------------------------------------------------------------------------

export type HashAlgorithm = "sha1" | "sha256";

export interface CryptoHal {
  digest(algorithm: HashAlgorithm, data: Bytes): Bytes;
  hmac(algorithm: HashAlgorithm, key: Bytes, data: Bytes): Bytes;
  /** AES-128-CBC without padding: data length must be a multiple of 16. */
  aes128CbcEncrypt(key: Bytes, iv: Bytes, data: Bytes): Bytes;
  /** AES-128-CBC without padding removal: the caller strips zero or PKCS#7 padding. */
  aes128CbcDecrypt(key: Bytes, iv: Bytes, data: Bytes): Bytes;
  /** Bytes from a cryptographically secure source (CSPRNG, or the ESP32 hardware RNG). */
  randomBytes(length: number): Bytes;
}

// ---------------------------------------------------------------------------------------------
// HTTP client: one request, one response, bounded in time and size.
// ---------------------------------------------------------------------------------------------

export interface HttpRequest {
  method: "GET" | "POST";
  /** Absolute URL, http:// or https:// (https verifies the server with the platform's CAs). */
  url: string;
  headers: Record<string, string>;
  body?: Bytes;
  /** Whole-exchange timeout: connect, send, and the complete response. */
  timeoutMs: number;
  /** Responses larger than this fail with code "too-large". */
  maxResponseBytes: number;
}

export interface HttpResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: Bytes;
}

/** Why an exchange failed below HTTP; the core classifies every one of them as retryable. */
export type NetworkErrorCode = "timeout" | "refused" | "reset" | "dns" | "tls" | "too-large" | "other";

export interface HttpClient {
  /** Resolves with any HTTP status; rejects only with a HalNetworkError. */
  request(request: HttpRequest): Promise<HttpResponse>;
}

// ---------------------------------------------------------------------------------------------
// MQTT transport (MQTT 3.1.1 client session). The port owns the wire format and keep-alive.
// ---------------------------------------------------------------------------------------------

export interface MqttConnectOptions {
  /** mqtt://host:port (TCP) or mqtts://host:port (TLS). */
  url: string;
  clientId: string;
  username: string;
  password: string;
  keepAliveSeconds: number;
  connectTimeoutMs: number;
  /**
   * PEM client certificate and key for TLS client authentication (certificate products);
   * needs mqtts://. PSK products leave it out and authenticate with the password.
   */
  clientCertificate?: { certPem: string; keyPem: string };
}

export interface MqttHandlers {
  onMessage(topic: string, payload: Bytes): void;
  /** The session ended (drop, keep-alive timeout, or close()); `error` says why when not asked. */
  onClose(error?: Error): void;
}

export interface MqttSession {
  /** Resolves on SUBACK; rejects with HalMqttError when the broker refuses (0x80). */
  subscribe(topic: string, qos: 0 | 1): Promise<void>;
  /** QoS 0 resolves once written; QoS 1 on PUBACK. */
  publish(topic: string, payload: Bytes, qos: 0 | 1): Promise<void>;
  close(): Promise<void>;
}

export interface MqttTransport {
  /**
   * Connects and waits for CONNACK. Rejects with HalMqttError carrying the CONNACK return
   * code when refused, or with HalNetworkError when the connection itself fails.
   */
  connect(options: MqttConnectOptions, handlers: MqttHandlers): Promise<MqttSession>;
}

// ---------------------------------------------------------------------------------------------
// Clock and timers.
// ---------------------------------------------------------------------------------------------

export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch, including any correction applied. */
  nowMs(): number;
  /** Monotonic milliseconds for measuring durations. */
  monotonicMs(): number;
  /** True when the wall clock has been set (SNTP, RTC, or a correction): not 1970. */
  isSynchronized(): boolean;
  /** Sets the wall clock from a time source (SNTP on ESP32). Resolves true on success. */
  sync(): Promise<boolean>;
  /** Corrects the wall clock to a trusted reference (for example a server's Date header). */
  correct(referenceMs: number): void;
  sleep(ms: number): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Logger: structured events. The core never passes a secret here; it masks before logging.
// ---------------------------------------------------------------------------------------------

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Logger {
  log(level: LogLevel, event: string, fields?: Record<string, string | number | boolean>): void;
}

// ---------------------------------------------------------------------------------------------
// The whole HAL handed to the core.
// ---------------------------------------------------------------------------------------------

export interface Hal {
  flash: KeyValueFlash;
  crypto: CryptoHal;
  http: HttpClient;
  mqtt: MqttTransport;
  clock: Clock;
  log: Logger;
  /**
   * 32 bytes that seal the device-info record at rest (tweetnacl secretbox key). Stable for the
   * life of the device and never stored beside the record it protects.
   */
  storageKey(): Bytes;
}

// ---------------------------------------------------------------------------------------------
// Errors a port raises. Plain classes so both engines can `instanceof` them.
// ---------------------------------------------------------------------------------------------

/**
 * Names an Error subclass on its prototype. Moddable's preloading freezes the built-ins, so
 * `this.name = "..."` in a constructor throws there ("set name: not writable": an own property
 * cannot be assigned over a frozen inherited one); defining it once on the prototype works on
 * every engine.
 */
export function nameErrorClass(errorClass: { prototype: Error }, name: string): void {
  Object.defineProperty(errorClass.prototype, "name", { value: name, writable: true, configurable: true });
}

export class HalNetworkError extends Error {
  static {
    nameErrorClass(this, "HalNetworkError");
  }
  readonly code: NetworkErrorCode;
  constructor(code: NetworkErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export class HalMqttError extends Error {
  static {
    nameErrorClass(this, "HalMqttError");
  }
  /** CONNACK return code (1..5), or 0x80 for a refused subscription. */
  readonly returnCode: number;
  constructor(returnCode: number, message: string) {
    super(message);
    this.returnCode = returnCode;
  }
}

export class FlashError extends Error {
  static {
    nameErrorClass(this, "FlashError");
  }
  readonly code: "limit" | "io" | "power-cut";
  constructor(code: "limit" | "io" | "power-cut", message: string) {
    super(message);
    this.code = code;
  }
}
