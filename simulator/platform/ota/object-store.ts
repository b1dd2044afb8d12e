/**
 * The mock's stand-in for the COS bucket Tencent keeps firmware in (docs/PROTOCOL.md §14): one
 * object per product and version under `/ota/firmware/<ProductId>/<version>` on the platform's
 * HTTP and HTTPS ports, reachable only through URLs the platform signed (GetCOSURL for PUT,
 * update_firmware for GET), each expiring. GET answers `Range` as COS does (206, Content-Range),
 * which is how Tencent's C SDK resumes a download. Objects live in the registry's database.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { BodyTooLargeError, readBody, sendJson } from "../http-server";
import type { Registry } from "../registry";

export const OBJECT_PATH_PREFIX = "/ota/firmware/";
/** The largest firmware the mock stores (mock's own; an ESP32 app slot is at most 16 MiB of flash). */
export const MAX_FIRMWARE_BYTES = 16 * 1024 * 1024;
/** How long an upload URL from GetCOSURL stays valid (mock's own). */
export const UPLOAD_URL_SECONDS = 3600;
/** How long a download URL in update_firmware stays valid; each sending signs a fresh one (mock's own). */
export const DOWNLOAD_URL_SECONDS = 24 * 3600;
/** Bytes read from the database and written per step while serving a GET. */
const SERVE_CHUNK_BYTES = 64 * 1024;

/** A firmware version as the mock accepts it (mock's own: the C SDK allows 1-32 characters). */
export const FIRMWARE_VERSION_PATTERN = /^[A-Za-z0-9._-]{1,32}$/;

type SignedMethod = "GET" | "PUT";

export interface ObjectStoreOptions {
  registry: Registry;
  now: () => number;
}

export class ObjectStore {
  /** Signs this run's URLs; a restart invalidates them (update_firmware is re-sent with a fresh one). */
  private readonly key = randomBytes(32);
  private base = "";
  /**
   * The base the URLs point at (the HTTPS URL where the platform has TLS); set once listening.
   * A default port is left out: Tencent's C SDK connects to 80 or 443 whatever the URL says and
   * takes everything between `//` and the path as the host name (utils_httpc.c), so
   * `http://127.0.0.1:80/...` would send it looking up the name "127.0.0.1:80".
   */
  get baseUrl(): string {
    return this.base;
  }
  set baseUrl(url: string) {
    this.base = new URL(url).origin;
  }
  /** Object bytes sent to downloaders since start (the fleet reports it). */
  bytesServed = 0;

  constructor(private readonly options: ObjectStoreOptions) {}

  private sign(method: SignedMethod, path: string, expires: number, limit: number): string {
    return createHmac("sha256", this.key).update(`${method}\n${path}\n${expires}\n${limit}`).digest("hex");
  }

  private url(method: SignedMethod, productId: string, version: string, seconds: number, limit: number): string {
    const path = `${OBJECT_PATH_PREFIX}${encodeURIComponent(productId)}/${encodeURIComponent(version)}`;
    const expires = Math.floor(this.options.now() / 1000) + seconds;
    const query = new URLSearchParams({ expires: String(expires), limit: String(limit), signature: this.sign(method, path, expires, limit) });
    return `${this.base}${path}?${query}`;
  }

  /** A URL to PUT at most `limit` bytes as this version's object. */
  uploadUrl(productId: string, version: string, limit = MAX_FIRMWARE_BYTES): string {
    return this.url("PUT", productId, version, UPLOAD_URL_SECONDS, Math.min(limit, MAX_FIRMWARE_BYTES));
  }

  /** A URL to GET this version's object. */
  downloadUrl(productId: string, version: string): string {
    return this.url("GET", productId, version, DOWNLOAD_URL_SECONDS, 0);
  }

  /** Handles a request whose path starts with OBJECT_PATH_PREFIX. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const date = new Date(this.options.now());
    const fail = (status: number, code: string, message: string, headers: Record<string, string> = {}) => {
      for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
      sendJson(res, status, { error: { code, message } }, { date, close: !req.complete });
    };
    const url = new URL(req.url ?? "/", "http://object-store");
    const method = req.method === "HEAD" ? "GET" : req.method;
    if (method !== "GET" && method !== "PUT") return fail(405, "method-not-allowed", "use GET, HEAD or PUT", { Allow: "GET, HEAD, PUT" });
    const key = objectKey(url.pathname);
    if (!key) return fail(404, "not-found", "no such object");
    // Every failure of the URL itself is the same 403, as COS answers a bad signature.
    const expires = Number(url.searchParams.get("expires"));
    const limit = Number(url.searchParams.get("limit"));
    const given = url.searchParams.get("signature") ?? "";
    const expected = this.sign(method, url.pathname, expires, limit);
    const valid = /^[0-9a-f]{64}$/.test(given) && timingSafeEqual(Buffer.from(given, "hex"), Buffer.from(expected, "hex"));
    if (!valid) return fail(403, "signature-mismatch", "the URL is not signed by the platform for this method and object");
    if (!Number.isSafeInteger(expires) || expires * 1000 < this.options.now()) return fail(403, "url-expired", "the URL has expired");
    const { registry } = this.options;
    if (!await registry.getProduct(key.productId)) return fail(404, "not-found", "no such product");
    if (method === "PUT") return this.put(req, res, key, limit, fail, date);
    return this.get(req, res, key, fail, date);
  }

  private async put(req: IncomingMessage, res: ServerResponse, key: ObjectKey, limit: number,
    fail: (status: number, code: string, message: string) => void, date: Date): Promise<void> {
    // A published version's bytes are what devices check against its md5sum: never replaced.
    if (await this.options.registry.firmware.getFirmware(key.productId, key.version)) return fail(409, "published", "this version is published; upload a new version instead");
    if (req.headers["content-length"] === undefined) return fail(411, "length-required", "send Content-Length");
    let body: Buffer;
    try {
      body = await readBody(req, limit);
    } catch (error) {
      if (error instanceof BodyTooLargeError) return fail(413, "too-large", `the object exceeds ${limit} bytes`);
      throw error;
    }
    if (body.length === 0) return fail(400, "empty", "the object is empty");
    const md5 = createHash("md5").update(body).digest("hex");
    await this.options.registry.firmware.putObject(key.productId, key.version, body, md5, this.options.now());
    res.statusCode = 200;
    res.setHeader("ETag", `"${md5}"`);
    res.setHeader("Content-Length", 0);
    res.setHeader("Date", date.toUTCString());
    res.end();
  }

  private async get(req: IncomingMessage, res: ServerResponse, key: ObjectKey,
    fail: (status: number, code: string, message: string, headers?: Record<string, string>) => void, date: Date): Promise<void> {
    const { firmware } = this.options.registry;
    const info = await firmware.objectInfo(key.productId, key.version);
    if (!info) return fail(404, "not-found", "no such object");
    const range = parseRange(req.headers.range, info.size);
    if (range === "unsatisfiable") return fail(416, "range-not-satisfiable", `the object has ${info.size} bytes`, { "Content-Range": `bytes */${info.size}` });
    const [start, end] = range ?? [0, info.size - 1];
    res.statusCode = range ? 206 : 200;
    res.setHeader("Content-Type", "application/octet-stream");
    res.setHeader("Content-Length", end - start + 1);
    res.setHeader("Accept-Ranges", "bytes");
    res.setHeader("ETag", `"${info.md5}"`);
    res.setHeader("Date", date.toUTCString());
    if (range) res.setHeader("Content-Range", `bytes ${start}-${end}/${info.size}`);
    if (req.method === "HEAD") return void res.end();
    for (let offset = start; offset <= end; offset += SERVE_CHUNK_BYTES) {
      if (res.destroyed) return;
      const part = await firmware.readObject(key.productId, key.version, offset, Math.min(end, offset + SERVE_CHUNK_BYTES - 1));
      if (!part) return void res.destroy(); // replaced or deleted while serving
      this.bytesServed += part.length;
      if (!res.write(part)) await new Promise<void>((resolve) => { res.once("drain", resolve); res.once("close", resolve); });
    }
    res.end();
  }
}

interface ObjectKey {
  productId: string;
  version: string;
}

function objectKey(pathname: string): ObjectKey | undefined {
  if (!pathname.startsWith(OBJECT_PATH_PREFIX)) return undefined;
  const parts = pathname.slice(OBJECT_PATH_PREFIX.length).split("/");
  if (parts.length !== 2) return undefined;
  try {
    const [productId, version] = parts.map(decodeURIComponent);
    return FIRMWARE_VERSION_PATTERN.test(version) && productId !== "" ? { productId, version } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One `bytes=` range of RFC 9110 §14.1.2 as [first, last] within `size`; undefined to send the
 * whole object (no header, a syntax it ignores, several ranges); "unsatisfiable" when it starts
 * past the end. A last position past the end is cut to the end: Tencent's C SDK asks for
 * `bytes=<offset>-<file_size>` (utils_url_download.c).
 */
export function parseRange(header: string | undefined, size: number): [number, number] | "unsatisfiable" | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  if (!match || (match[1] === "" && match[2] === "")) return undefined;
  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0) return "unsatisfiable";
    return [Math.max(0, size - suffix), size - 1];
  }
  const first = Number(match[1]);
  const last = match[2] === "" ? size - 1 : Number(match[2]);
  if (first >= size) return "unsatisfiable";
  if (last < first) return undefined;
  return [first, Math.min(last, size - 1)];
}
