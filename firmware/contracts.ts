/**
 * The contracts the core owns: the only door between the engine-neutral core (firmware/) and a
 * platform.
 *
 * Like coreMQTT's transport interface, the library owns each contract and keeps it the smallest
 * surface the core needs; a port (hal/esp32 on Moddable modules, hal/node for the simulator)
 * implements it and depends on the core, never the other way round.
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

/**
 * Why an exchange failed below HTTP or MQTT. All are retryable for the core except
 * "credentials": the device's own TLS client certificate or key cannot be used at all, which no
 * retry can mend (the core stops in failed:invalid-device-info).
 */
export type NetworkErrorCode = "timeout" | "refused" | "reset" | "dns" | "tls" | "too-large" | "credentials" | "other";

export interface HttpClient {
  /** Resolves with any HTTP status; rejects only with a HalNetworkError. */
  request(request: HttpRequest): Promise<HttpResponse>;
}

// ---------------------------------------------------------------------------------------------
// Byte socket: TCP, or TLS over TCP. As in coreMQTT's transport interface, a port only moves
// bytes; the one MQTT engine (firmware/mqtt) speaks the protocol on every port, so no port can
// drift from another on SUBACK, PUBACK or keep-alive.
// ---------------------------------------------------------------------------------------------

export interface SocketEndpoint {
  /** DNS name or IP literal (IPv6 without brackets). */
  host: string;
  port: number;
  /**
   * TLS when present: the port verifies the server with its trust anchor for this connection
   * (config on ESP32, options on Node) and the name `serverName` (default: `host`); a
   * certificate product presents `clientCertificate` in the handshake.
   */
  tls?: { serverName?: string; clientCertificate?: { certPem: string; keyPem: string } };
}

export interface SocketHandlers {
  /** Bytes as they arrive, in order; the callee may keep the array. Never called before connect resolves. */
  onData(bytes: Bytes): void;
  /**
   * The connection ended, once: without an error when the peer closed it cleanly, with a
   * HalNetworkError otherwise. Never called after close().
   */
  onClose(error?: HalNetworkError): void;
}

export interface ByteSocket {
  /**
   * Queues bytes to send, in order; the port may keep the array (the caller does not change it).
   * Throws HalNetworkError once the connection is gone, or ("too-large") when the port's send
   * queue cannot take them.
   */
  write(bytes: Bytes): void;
  /** Ends the connection after the queued bytes (best effort); no handler is called afterwards. Idempotent. */
  close(): void;
}

export interface SocketTransport {
  /**
   * Opens a connection; resolves once it is usable (TLS: handshake done), within `timeoutMs`.
   * Rejects with HalNetworkError ("timeout", "refused", "dns", "tls", ...), and then never
   * calls the handlers.
   */
  connect(endpoint: SocketEndpoint, handlers: SocketHandlers, timeoutMs: number): Promise<ByteSocket>;
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
  /**
   * Calls `fire` once, `ms` milliseconds from now (monotonic), unless cleared first. For the
   * core's engines (MQTT keep-alive and acknowledgement timeouts), which must cancel them.
   */
  setTimer(ms: number, fire: () => void): TimerHandle;
  /** Cancels a timer from setTimer; a no-op once it fired or was cleared. */
  clearTimer(handle: TimerHandle): void;
}

/** An opaque timer handle: whatever the port's setTimer returned. */
export type TimerHandle = unknown;

// ---------------------------------------------------------------------------------------------
// Logger: structured events. The core never passes a secret here; it masks before logging.
// ---------------------------------------------------------------------------------------------

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Logger {
  log(level: LogLevel, event: string, fields?: Record<string, string | number | boolean>): void;
}

// ---------------------------------------------------------------------------------------------
// Application slots (OTA, issue 22): the running image and one inactive slot, as ESP-IDF's
// app partitions and `esp_ota_*` have them. Synchronous, as Moddable's `esp32/ota` is. A new
// image boots on trial: the running firmware confirms it once it is online; a board that
// restarts before that boots the previous image again (ESP-IDF's app rollback).
// ---------------------------------------------------------------------------------------------

/** What update_firmware says of an image. */
export interface ImageDescriptor {
  version: string;
  size: number;
  /** 32 lower-case hexadecimal digits. */
  md5: string;
}

export interface ApplicationSlots {
  /** The version of the image running now (what report_version sends). */
  runningVersion(): string;
  /** The most bytes an image may have. */
  capacity(): number;
  /** The image being written into the inactive slot and how many of its bytes are stored (kept across a power cut). */
  staged(): { image: ImageDescriptor; written: number } | undefined;
  /** Starts `image` in the inactive slot from byte 0, dropping whatever it held. */
  begin(image: ImageDescriptor): void;
  /** Appends bytes to the staged image; they are stored when it returns. Throws FlashError. */
  write(bytes: Bytes): void;
  /** Bytes of the staged image already written (to rebuild its digest after a power cut). */
  read(offset: number, length: number): Bytes;
  /** The staged image is whole and checked: the next boot runs it, on trial. */
  finish(): void;
  /** Drops the staged image. */
  abort(): void;
  /** True while the running image is on trial (its first boot after finish). */
  onTrial(): boolean;
  /** Marks the running image good: no rollback from now on. */
  confirm(): void;
  /** Once after a boot that fell back to the previous image: the version given up and why. */
  takeRollback(): { version: string; reason: string } | undefined;
  /** Restarts the board; an image finished before boots (the port may return, then restart). */
  restart(): void;
}

// ---------------------------------------------------------------------------------------------
// The whole HAL handed to the core.
// ---------------------------------------------------------------------------------------------

export interface Hal {
  flash: KeyValueFlash;
  crypto: CryptoHal;
  http: HttpClient;
  socket: SocketTransport;
  clock: Clock;
  log: Logger;
  /**
   * 32 bytes that seal the device-info record at rest (tweetnacl secretbox key). Stable for the
   * life of the device and never stored beside the record it protects.
   */
  storageKey(): Bytes;
  /** The application slots, where the port can update its firmware; without it OTA is off. */
  slots?: ApplicationSlots;
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

/** Raised by the core's MQTT engine: the broker said no. */
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
