/**
 * SocketTransport on node:net and node:tls: the simulator's byte socket for the core's MQTT
 * engine. TLS verifies the server against `ca` (replacing Node's bundled roots, as node:tls
 * does) and the endpoint's server name, and presents a certificate product's client certificate.
 *
 * Each failure is a HalNetworkError: a connect that fails or times out rejects; a connection
 * that later ends calls onClose once (no error when the peer closed cleanly), never after close().
 */
import net from "node:net";
import tls from "node:tls";
import { HalNetworkError, type ByteSocket, type Bytes, type SocketEndpoint, type SocketHandlers, type SocketTransport } from "../../firmware/contracts";
import { networkErrorCode } from "./http";

export interface NodeSocketOptions {
  /** Trusted CA certificate(s) in PEM for TLS endpoints (replaces Node's bundled roots). */
  ca?: string | Buffer;
  /** Verify the server's certificate (default true; false only for local tests). */
  rejectUnauthorized?: boolean;
}

/** How long close() lets queued bytes drain before the socket is destroyed. */
const CLOSE_GRACE_MS = 1_000;

function toNetworkError(error: unknown, context: string): HalNetworkError {
  if (error instanceof HalNetworkError) return error;
  const cause = error as NodeJS.ErrnoException;
  return new HalNetworkError(networkErrorCode(cause), `${context}: ${cause?.message ?? String(error)}`);
}

function describe(endpoint: SocketEndpoint): string {
  return `${endpoint.tls ? "tls" : "tcp"}://${net.isIPv6(endpoint.host) ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`;
}

class NodeByteSocket implements ByteSocket {
  private closed = false;
  /** Writes since the last flush are held (corked) and go out together at the end of this tick. */
  private corked = false;
  private readonly flush = () => {
    this.corked = false;
    this.socket.uncork();
  };

  constructor(
    private readonly socket: net.Socket,
    private readonly handlers: SocketHandlers,
    private readonly where: string,
  ) {
    socket.on("data", (chunk: Buffer) => {
      // A plain Uint8Array view: the core never meets Buffer's slice-is-a-view semantics.
      if (!this.closed) this.handlers.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    });
    socket.on("error", (error) => this.end(toNetworkError(error, `connection to ${where}`)));
    socket.on("close", (hadError) => this.end(hadError ? new HalNetworkError("reset", `connection to ${where} failed`) : undefined));
  }

  write(bytes: Bytes): void {
    if (this.closed || this.socket.destroyed || !this.socket.writable) throw new HalNetworkError("reset", `the connection to ${this.where} is closed`);
    // The engine writes packet by packet (SUBSCRIBEs and a PUBLISH back to back): one send of
    // them all costs one system call and one segment instead of one each, as mqtt-packet's own
    // writeToStream corks until the next tick. end() sends corked bytes first.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.flush);
    }
    this.socket.write(bytes);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.end();
    // A peer that never closes its side must not keep the socket (and the process) alive.
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  private end(error: HalNetworkError | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.handlers.onClose(error);
  }
}

function openSocket(endpoint: SocketEndpoint, options: NodeSocketOptions): net.Socket {
  const { host, port } = endpoint;
  if (!endpoint.tls) return net.connect({ host, port });
  const serverName = endpoint.tls.serverName ?? host;
  const certificate = endpoint.tls.clientCertificate;
  try {
    return tls.connect({
      host,
      port,
      // SNI carries DNS names only; an IP literal is still checked against the certificate's IP SANs.
      servername: net.isIP(serverName) ? undefined : serverName,
      checkServerIdentity: (_name, cert) => tls.checkServerIdentity(serverName, cert),
      ca: options.ca,
      rejectUnauthorized: options.rejectUnauthorized ?? true,
      cert: certificate?.certPem,
      key: certificate?.keyPem,
    });
  } catch (error) {
    // tls.connect throws at once on a client certificate or key it cannot load: that is the
    // device's stored credential, not the network, so it is not worth a retry.
    throw new HalNetworkError("credentials", `the TLS client certificate or key cannot be used: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export function createNodeSocketTransport(options: NodeSocketOptions = {}): SocketTransport {
  return {
    connect(endpoint: SocketEndpoint, handlers: SocketHandlers, timeoutMs: number): Promise<ByteSocket> {
      if (typeof endpoint?.host !== "string" || endpoint.host === "" || !(Number.isInteger(endpoint.port) && endpoint.port > 0 && endpoint.port < 65536)) {
        return Promise.reject(new HalNetworkError("other", `not a socket endpoint: ${JSON.stringify(endpoint)}`));
      }
      if (!(timeoutMs > 0)) return Promise.reject(new HalNetworkError("other", "timeoutMs must be positive"));
      const where = describe(endpoint);
      return new Promise<ByteSocket>((resolve, reject) => {
        let socket: net.Socket;
        try {
          socket = openSocket(endpoint, options);
        } catch (error) {
          reject(toNetworkError(error, `connecting to ${where}`));
          return;
        }
        socket.setNoDelay(true);
        const fail = (error: HalNetworkError) => {
          clearTimeout(timer);
          socket.destroy();
          reject(error);
        };
        const timer = setTimeout(() => fail(new HalNetworkError("timeout", `no connection to ${where} within ${timeoutMs} ms`)), timeoutMs);
        const onError = (error: Error) => fail(toNetworkError(error, `connecting to ${where}`));
        const onClose = () => fail(new HalNetworkError("reset", `${where} closed the connection while connecting`));
        socket.once("error", onError);
        socket.once("close", onClose);
        socket.once(endpoint.tls ? "secureConnect" : "connect", () => {
          clearTimeout(timer);
          socket.off("error", onError);
          socket.off("close", onClose);
          resolve(new NodeByteSocket(socket, handlers, where));
        });
      });
    },
  };
}
