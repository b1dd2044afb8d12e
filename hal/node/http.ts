/**
 * HttpClient on Node's own http/https client: one request, one response, bounded by a
 * whole-exchange timeout and a response size cap. Every failure becomes a HalNetworkError.
 */
import * as http from "node:http";
import * as https from "node:https";
import { HalNetworkError, type HttpClient, type HttpRequest, type HttpResponse, type NetworkErrorCode } from "../../firmware/contracts";

export interface NodeHttpClientOptions {
  /** Trust anchors for https; they replace Node's root bundle (a mock platform's own CA). */
  ca?: string | Buffer;
  /** Verify the server's certificate (default true; false only for local tests). */
  rejectUnauthorized?: boolean;
  /** An agent to reuse (connection pooling, or a test's instrumented agent). */
  agent?: http.Agent | https.Agent;
}

const TLS_CODES = new Set([
  "EPROTO",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** Maps a Node socket/TLS error to the HAL's vocabulary. */
export function networkErrorCode(error: NodeJS.ErrnoException): NetworkErrorCode {
  const code = error.code ?? "";
  if (code === "ECONNREFUSED") return "refused";
  if (code === "ECONNRESET" || code === "EPIPE" || code === "ECONNABORTED" || error.message === "socket hang up") return "reset";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME") return "dns";
  if (code === "ETIMEDOUT") return "timeout";
  if (TLS_CODES.has(code) || code.startsWith("ERR_TLS_") || code.startsWith("ERR_SSL_") || code.startsWith("ERR_OSSL_")) return "tls";
  return "other";
}

function toNetworkError(error: unknown): HalNetworkError {
  if (error instanceof HalNetworkError) return error;
  const errno = error as NodeJS.ErrnoException;
  const code = networkErrorCode(errno);
  return new HalNetworkError(code, `${errno.code ?? "error"}: ${errno.message ?? String(error)}`);
}

function lowerCaseHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

function exchange(request: HttpRequest, options: NodeHttpClientOptions): Promise<HttpResponse> {
  return new Promise<HttpResponse>((resolve, reject) => {
    let target: URL;
    try {
      target = new URL(request.url);
    } catch {
      reject(new HalNetworkError("other", `invalid URL ${JSON.stringify(request.url.slice(0, 200))}`));
      return;
    }
    if (target.protocol !== "http:" && target.protocol !== "https:") {
      reject(new HalNetworkError("other", `unsupported URL scheme ${target.protocol}`));
      return;
    }
    const body = request.body ?? new Uint8Array(0);
    const headers: Record<string, string> = { ...request.headers, "Content-Length": String(body.length) };
    const transport = target.protocol === "https:" ? https : http;
    let settled = false;
    const finish = (error: HalNetworkError | undefined, response?: HttpResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        req.destroy();
        reject(error);
      } else resolve(response as HttpResponse);
    };
    const req = transport.request(target, {
      method: request.method,
      headers,
      agent: options.agent,
      ...(target.protocol === "https:" && options.ca !== undefined ? { ca: options.ca } : {}),
      ...(target.protocol === "https:" && options.rejectUnauthorized !== undefined ? { rejectUnauthorized: options.rejectUnauthorized } : {}),
    });
    const timer = setTimeout(
      () => finish(new HalNetworkError("timeout", `no complete answer from ${target.host} within ${request.timeoutMs} ms`)),
      request.timeoutMs,
    );
    req.on("error", (error) => finish(toNetworkError(error)));
    req.on("response", (res) => {
      const declared = Number(res.headers["content-length"]);
      if (Number.isFinite(declared) && declared > request.maxResponseBytes) {
        finish(new HalNetworkError("too-large", `answer of ${declared} bytes exceeds the ${request.maxResponseBytes}-byte cap`));
        return;
      }
      const chunks: Buffer[] = [];
      let received = 0;
      res.on("data", (chunk: Buffer) => {
        received += chunk.length;
        if (received > request.maxResponseBytes) {
          finish(new HalNetworkError("too-large", `answer exceeds the ${request.maxResponseBytes}-byte cap`));
          return;
        }
        chunks.push(chunk);
      });
      res.on("error", (error) => finish(toNetworkError(error)));
      res.on("aborted", () => finish(new HalNetworkError("reset", "the connection closed mid-answer")));
      res.on("end", () => {
        if (!res.complete) {
          finish(new HalNetworkError("reset", "the connection closed mid-answer"));
          return;
        }
        const all = Buffer.concat(chunks);
        finish(undefined, {
          status: res.statusCode ?? 0,
          headers: lowerCaseHeaders(res.headers),
          body: new Uint8Array(all.buffer, all.byteOffset, all.byteLength),
        });
      });
    });
    req.end(body);
  });
}

export function createNodeHttpClient(options: NodeHttpClientOptions = {}): HttpClient {
  return {
    request(request: HttpRequest): Promise<HttpResponse> {
      return exchange(request, options);
    },
  };
}
