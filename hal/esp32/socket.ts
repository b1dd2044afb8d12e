/**
 * SocketTransport on Moddable's `socket` (TCP, lwIP on ESP32) and `securesocket` (TLS): the
 * byte socket the core's MQTT engine (firmware/mqtt) runs on.
 *
 * Written from the Moddable SDK 8.2.3 sources and run on Moddable's runtime by the lin lane
 * (test/moddable-lane.test.ts: the MQTT contract suite, PSK and certificate logins over TLS).
 * What it relies on, with the source that says so:
 * - callback(message, value): 1 connected (SecureSocket: handshake done), 2 readable with `value`
 *   bytes, 3 writable with `value` bytes of room, -1 disconnected (peer closed), -2 error
 *   (modules/network/socket/socket.js; crypt/securesocket/securesocket.js).
 * - read(ArrayBuffer) in the readable callback returns the bytes available now; lwIP hands them
 *   over one pbuf per callback (socket/lwip/modSocket.c, socketMsgDataReceived).
 * - write() with no argument returns the room in the send buffer (SecureSocket: minus 128 bytes
 *   of TLS overhead); write(data) larger than that room throws "can't write all data". So bytes
 *   wait in a bounded queue here and go out as room appears.
 * - a write on a closed lwIP socket only traces and returns, so this adapter keeps its own
 *   state and throws HalNetworkError itself.
 * - TLS: `secure` takes certificate (the trust anchor), clientCertificates ([DER]) and
 *   clientKey (DER, parsed as PKCS#8 by crypt/ssl/ssl_cert.js), and tls_server_name (default:
 *   the host), as examples/network/aws/mqtt-aws does.
 * Closing a socket from inside its own callback is deferred to the next turn, as hal/esp32/http.ts
 * does for Request.
 */
import { Socket } from "socket";
import Timer from "timer";
import { HalNetworkError, type ByteSocket, type Bytes, type SocketEndpoint, type SocketHandlers, type SocketTransport } from "../../firmware/contracts";
import { base64Decode } from "../../firmware/encoding";
import { tlsSettings } from "./tls";

const CONNECTED = 1;
const READABLE = 2;
const WRITABLE = 3;
const DISCONNECTED = -1;

/** Bytes written but not yet taken by the socket; beyond this, write() refuses. */
export const MAX_QUEUED_BYTES = 64 * 1024;

/** The native socket as this adapter uses it (Socket and SecureSocket alike). */
interface NativeSocket {
  callback: (message: number, value?: number) => void;
  read(type: typeof ArrayBuffer): ArrayBuffer;
  write(): number;
  write(data: ArrayBuffer): void;
  close(): void;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END \1-----/g;

/** The DER bodies of the PEM blocks in `pem`, in order. */
export function pemToDer(pem: string, what: string): ArrayBuffer[] {
  const blocks: ArrayBuffer[] = [];
  for (const match of pem.matchAll(PEM_BLOCK)) {
    let der: Uint8Array;
    try {
      der = base64Decode(match[2].replace(/\s+/g, ""));
    } catch {
      throw new HalNetworkError("tls", `the ${what} is not valid PEM (its Base64 does not decode)`);
    }
    blocks.push(exactBuffer(der));
  }
  if (blocks.length === 0) throw new HalNetworkError("tls", `the ${what} holds no PEM block`);
  return blocks;
}

/** The bytes as a standalone ArrayBuffer, copied only when they are a view into a larger one. */
function exactBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes.buffer as ArrayBuffer;
  return bytes.slice().buffer as ArrayBuffer;
}

function where(endpoint: SocketEndpoint): string {
  return `${endpoint.tls ? "tls" : "tcp"}://${endpoint.host}:${endpoint.port}`;
}

class ModdableByteSocket implements ByteSocket {
  #state: "connecting" | "open" | "closed" = "connecting";
  #native: NativeSocket | undefined;
  #timer: ReturnType<typeof Timer.set> | undefined;
  #queue: Uint8Array[] = [];
  /** How much of the queue's first array has been written. */
  #headOffset = 0;
  #queuedBytes = 0;
  readonly #handlers: SocketHandlers;
  readonly #where: string;
  #settle: { resolve(socket: ByteSocket): void; reject(error: HalNetworkError): void } | undefined;

  constructor(endpoint: SocketEndpoint, handlers: SocketHandlers, caResource: string, timeoutMs: number,
    settle: { resolve(socket: ByteSocket): void; reject(error: HalNetworkError): void }) {
    this.#handlers = handlers;
    this.#where = where(endpoint);
    this.#settle = settle;
    let native: NativeSocket;
    try {
      native = openNative(endpoint, caResource);
    } catch (error) {
      this.#state = "closed";
      this.#settle = undefined;
      settle.reject(error instanceof HalNetworkError ? error : new HalNetworkError("other", `cannot open ${this.#where}: ${String(error)}`));
      return;
    }
    this.#native = native;
    native.callback = (message, value) => this.#onMessage(message, value ?? 0);
    this.#timer = Timer.set(() => {
      this.#timer = undefined;
      this.#failConnect(new HalNetworkError("timeout", `no connection to ${this.#where} within ${timeoutMs} ms`));
    }, timeoutMs);
  }

  write(bytes: Bytes): void {
    if (this.#state !== "open") throw new HalNetworkError("reset", `the connection to ${this.#where} is closed`);
    if (this.#queuedBytes + bytes.length > MAX_QUEUED_BYTES) {
      throw new HalNetworkError("too-large", `${this.#queuedBytes + bytes.length} bytes would wait to be sent to ${this.#where}; the limit is ${MAX_QUEUED_BYTES}`);
    }
    this.#queue.push(bytes);
    this.#queuedBytes += bytes.length;
    this.#flush();
  }

  close(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#flush(true); // best effort: what fits now goes out before the FIN
    this.#release();
  }

  #onMessage(message: number, value: number): void {
    if (this.#state === "closed") return;
    try {
      if (message === CONNECTED) {
        if (this.#state !== "connecting") return;
        this.#state = "open";
        Timer.clear(this.#timer);
        this.#timer = undefined;
        const settle = this.#settle;
        this.#settle = undefined;
        settle?.resolve(this);
      } else if (message === READABLE) {
        if (this.#state !== "open" || value <= 0) return;
        const bytes = new Uint8Array(this.#native!.read(ArrayBuffer));
        if (bytes.length > 0) this.#handlers.onData(bytes);
      } else if (message === WRITABLE) {
        if (this.#state === "open") this.#flush();
      } else if (message < 0) {
        if (this.#state === "connecting") {
          this.#failConnect(new HalNetworkError(
            "other",
            `connection to ${this.#where} failed (${message === DISCONNECTED ? "closed" : "error"}): DNS, TCP${this.#where.startsWith("tls") ? " or the TLS handshake" : ""}`,
          ));
        } else {
          this.#end(message === DISCONNECTED ? undefined : new HalNetworkError("reset", `the connection to ${this.#where} failed`));
        }
      }
    } catch (error) {
      this.#end(error instanceof HalNetworkError ? error : new HalNetworkError("other", `socket ${this.#where}: ${String(error)}`));
    }
  }

  /** Writes queued bytes while the socket has room; `final` writes what fits and stops. */
  #flush(final = false): void {
    const native = this.#native;
    while (native && this.#queue.length > 0) {
      const room = native.write();
      if (!(room > 0)) return; // the writable callback resumes
      const head = this.#queue[0];
      const count = Math.min(room, head.length - this.#headOffset);
      try {
        native.write(exactBuffer(head.subarray(this.#headOffset, this.#headOffset + count)));
      } catch (error) {
        if (final) return;
        this.#end(new HalNetworkError("reset", `writing to ${this.#where} failed: ${String(error)}`));
        return;
      }
      this.#headOffset += count;
      this.#queuedBytes -= count;
      if (this.#headOffset === head.length) {
        this.#queue.shift();
        this.#headOffset = 0;
      }
    }
  }

  #failConnect(error: HalNetworkError): void {
    if (this.#state !== "connecting") return;
    this.#state = "closed";
    this.#release();
    const settle = this.#settle;
    this.#settle = undefined;
    settle?.reject(error);
  }

  #end(error: HalNetworkError | undefined): void {
    if (this.#state === "closed") return;
    if (this.#state === "connecting") {
      this.#failConnect(error ?? new HalNetworkError("reset", `${this.#where} closed the connection while connecting`));
      return;
    }
    this.#state = "closed";
    this.#release();
    this.#handlers.onClose(error);
  }

  /** Drops the timer and the queue, and closes the native socket on the next turn. */
  #release(): void {
    Timer.clear(this.#timer);
    this.#timer = undefined;
    this.#queue = [];
    this.#queuedBytes = 0;
    const native = this.#native;
    this.#native = undefined;
    if (native) Timer.set(() => closeQuietly(native), 0);
  }
}

/** rsaEncryption (1.2.840.113549.1.1.1) as a DER object identifier. */
const RSA_ENCRYPTION_OID = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/** Whether a PKCS#8 key names rsaEncryption in its AlgorithmIdentifier (within its first bytes). */
function isRsaPkcs8(der: ArrayBuffer): boolean {
  const bytes = new Uint8Array(der, 0, Math.min(der.byteLength, 32));
  for (let start = 0; start + RSA_ENCRYPTION_OID.length <= bytes.length; start++) {
    if (RSA_ENCRYPTION_OID.every((byte, index) => bytes[start + index] === byte)) return true;
  }
  return false;
}

/**
 * Closes a native socket that may already be closed: after the peer's disconnect, lin's
 * modSocket.c throws "close on closed socket" (lwIP's returns quietly). Thrown from a timer,
 * that was an unhandled exception, and XS aborts (seen on the Moddable lane).
 */
function closeQuietly(native: NativeSocket): void {
  try {
    native.close();
  } catch {
    // already closed by the peer: nothing left to release
  }
}

function openNative(endpoint: SocketEndpoint, caResource: string): NativeSocket {
  const { host, port } = endpoint;
  if (!endpoint.tls) return new Socket({ host, port, noDelay: true }) as unknown as NativeSocket;
  const settings = tlsSettings(caResource);
  const secure: Record<string, unknown> = { ...settings.secure };
  if (endpoint.tls.serverName !== undefined) secure.tls_server_name = endpoint.tls.serverName;
  const client = endpoint.tls.clientCertificate;
  if (client) {
    secure.clientCertificates = pemToDer(client.certPem, "client certificate");
    const [key] = pemToDer(client.keyPem, "client key");
    // Moddable's TLS client signs CertificateVerify with PKCS#1 v1.5 and parses PKCS#8 RSA keys
    // only (crypt/ssl/ssl_handshake.js, crypt/etc/pkcs8.js): any other key cannot work, and no
    // retry mends that.
    if (!isRsaPkcs8(key)) {
      throw new HalNetworkError("credentials", "the client key is not an RSA key in PKCS#8: Moddable's TLS client presents RSA client keys only (docs/ESP32.md)");
    }
    secure.clientKey = key;
  }
  return new settings.Socket({ host, port, secure }) as unknown as NativeSocket;
}

export class ModdableSocketTransport implements SocketTransport {
  readonly #caResource: string;

  constructor(caResource: string) {
    this.#caResource = caResource;
  }

  connect(endpoint: SocketEndpoint, handlers: SocketHandlers, timeoutMs: number): Promise<ByteSocket> {
    if (!(timeoutMs > 0)) return Promise.reject(new HalNetworkError("other", `timeoutMs must be positive, not ${timeoutMs}`));
    return new Promise<ByteSocket>((resolve, reject) => {
      new ModdableByteSocket(endpoint, handlers, this.#caResource, timeoutMs, { resolve, reject });
    });
  }
}
