/**
 * The platform's HTTP(S) server with the limits that keep slow or hostile clients from holding
 * it: header and whole-request timeouts, an idle timeout, a header size cap, a connection cap and
 * (in readBody) a body cap enforced while reading, not after.
 */
import { createServer as createHttp, IncomingMessage, Server, ServerResponse } from "node:http";
import { createServer as createHttps } from "node:https";

export interface HttpLimits {
  headersTimeoutMs: number;    // complete headers within this
  requestTimeoutMs: number;    // complete request (headers and body) within this
  idleTimeoutMs: number;       // a silent socket is closed after this
  keepAliveTimeoutMs: number;
  maxHeaderBytes: number;
  maxConnections: number;
  maxBodyBytes: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  idleTimeoutMs: 15_000,
  keepAliveTimeoutMs: 5_000,
  maxHeaderBytes: 8 * 1024,
  maxConnections: 2048,
  maxBodyBytes: 4 * 1024,
};

/** How long a refused client's answer may take to leave before its socket is destroyed anyway. */
const CLIENT_ERROR_LINGER_MS = 1_000;

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface TlsFiles {
  key: string | Buffer;
  cert: string | Buffer;
}

/** `now` is the platform's clock: every answer, even a raw 400, carries it in a Date header. */
export function createPlatformHttpServer(handler: RequestHandler, limits: HttpLimits, tls?: TlsFiles, now: () => number = Date.now): Server {
  const options = {
    maxHeaderSize: limits.maxHeaderBytes,
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    // Node checks the two timeouts above only this often (30 s by default).
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 2))),
  };
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handler(req, res).catch((error: unknown) => {
      // The handlers answer their own errors; this only guards against a bug leaving a socket open.
      if (!res.headersSent) {
        sendJson(res, 500, { error: { code: "internal", message: error instanceof Error ? error.message : String(error) } }, { date: new Date(now()), close: true });
      }
      else res.destroy();
    });
  };
  const server: Server = tls ? createHttps({ ...options, key: tls.key, cert: tls.cert }, listener) : createHttp(options, listener);
  server.maxConnections = limits.maxConnections;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxHeadersCount = 64;
  server.setTimeout(limits.idleTimeoutMs, (socket) => socket.destroy());
  // A malformed, oversized or too slow request gets its status and the socket is closed; the server carries on.
  server.on("clientError", (error: NodeJS.ErrnoException, socket) => {
    const status = error.code === "HPE_HEADER_OVERFLOW" ? "431 Request Header Fields Too Large"
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT" ? "408 Request Timeout" : "400 Bad Request";
    const date = new Date(now()).toUTCString();
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    // end() only half-closes: a client that neither reads nor closes would hold the socket, and
    // its place under maxConnections, until the idle timeout. Destroyed once the answer is out
    // (or after a second, if the client does not even take that).
    socket.end(`HTTP/1.1 ${status}\r\nDate: ${date}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    const fallback = setTimeout(() => socket.destroy(), CLIENT_ERROR_LINGER_MS).unref();
    socket.once("finish", () => { clearTimeout(fallback); socket.destroy(); });
    socket.once("close", () => clearTimeout(fallback));
  });
  return server;
}

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body exceeds ${limit} bytes`);
    this.name = "BodyTooLargeError";
  }
}

/** The client went away before its body was complete: nothing to answer, nothing failed here. */
export class RequestAbortedError extends Error {
  constructor() {
    super("the client closed the connection before its request body was complete");
    this.name = "RequestAbortedError";
  }
}

/** Reads the whole body, refusing (before reading it) a declared length over the cap. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? "0");
    if (Number.isFinite(declared) && declared > maxBytes) {
      reject(new BodyTooLargeError(maxBytes));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        done = true;
        req.off("data", onData);
        req.pause();
        reject(new BodyTooLargeError(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("end", () => { if (!done) { done = true; resolve(Buffer.concat(chunks, size)); } });
    // A client that resets the connection mid-body is an "error" (ECONNRESET, "aborted") on the request.
    req.once("error", (error: NodeJS.ErrnoException) => { if (!done) { done = true; reject(error.code === "ECONNRESET" ? new RequestAbortedError() : error); } });
    req.once("aborted", () => { if (!done) { done = true; reject(new RequestAbortedError()); } });
  });
}

export interface SendOptions {
  date?: Date;         // the platform's clock: devices correct theirs from the Date header
  close?: boolean;     // close the connection after answering (e.g. an unread body remains)
}

export function sendJson(res: ServerResponse, status: number, body: unknown, options: SendOptions = {}): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(text));
  res.setHeader("Date", (options.date ?? new Date()).toUTCString());
  if (options.close) res.setHeader("Connection", "close");
  res.end(text);
}

/** The host name of a Host header, without port (IPv6 literals keep their brackets). */
export function hostWithoutPort(hostHeader: string | undefined): string {
  if (!hostHeader) return "";
  if (hostHeader.startsWith("[")) {
    const end = hostHeader.indexOf("]");
    return end === -1 ? hostHeader : hostHeader.slice(0, end + 1);
  }
  const colon = hostHeader.lastIndexOf(":");
  return colon === -1 ? hostHeader : hostHeader.slice(0, colon);
}

/** The media type of a Content-Type header, lower case, without parameters. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0].trim().toLowerCase();
}
