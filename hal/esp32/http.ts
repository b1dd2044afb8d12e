/**
 * HttpClient on Moddable's `http` Request, with SecureSocket for https. Every exchange is
 * bounded: one timer for the whole exchange (connect, send, complete response) and a cap on
 * the body and on the headers, both counted as they arrive, so a hostile or broken server can
 * neither hang the task nor exhaust the heap.
 */
import { Request, type HTTPRequestOptions } from "http";
import Timer from "timer";
import { HalNetworkError, type HttpClient, type HttpRequest, type HttpResponse } from "../../firmware/contracts";
import { concatBytes } from "../../firmware/encoding";
import { toArrayBuffer } from "./bytes";
import { tlsSettings } from "./tls";
import { parseHttpUrl } from "./url";

/** Header bytes accepted per response (names and values). */
export const MAX_HEADER_BYTES = 8192;

function checkLimits(request: HttpRequest): void {
  if (!(request.timeoutMs > 0) || !Number.isFinite(request.timeoutMs)) {
    throw new HalNetworkError("other", `timeoutMs must be a positive number, not ${request.timeoutMs}`);
  }
  if (!Number.isInteger(request.maxResponseBytes) || request.maxResponseBytes < 0) {
    throw new HalNetworkError("other", `maxResponseBytes must be a non-negative integer, not ${request.maxResponseBytes}`);
  }
}

/** Moddable's Request always writes "Connection: close"; a second one would be malformed. */
function headerList(headers: Record<string, string>): string[] {
  const list: string[] = [];
  for (const name of Object.keys(headers)) {
    if (name.toLowerCase() === "connection") continue;
    list.push(name, String(headers[name]));
  }
  return list;
}

export class ModdableHttpClient implements HttpClient {
  readonly #caResource: string;

  constructor(caResource: string) {
    this.#caResource = caResource;
  }

  request(request: HttpRequest): Promise<HttpResponse> {
    return new Promise<HttpResponse>((resolve, reject) => {
      let settled = false;
      let status = 0;
      let headerBytes = 0;
      let bodyBytes = 0;
      const headers: Record<string, string> = {};
      const chunks: Uint8Array[] = [];
      let exchange: Request | undefined;
      let timer: ReturnType<typeof Timer.set> | undefined;

      // Closing inside the Request's own callback would make it call a deleted callback,
      // so the close happens on the next turn.
      const closeSoon = () => {
        const target = exchange;
        exchange = undefined;
        if (target) Timer.set(() => target.close(), 0);
      };
      const fail = (error: HalNetworkError) => {
        if (settled) return;
        settled = true;
        Timer.clear(timer);
        closeSoon();
        reject(error);
      };

      try {
        checkLimits(request);
        const endpoint = parseHttpUrl(request.url);
        const options: Record<string, unknown> = {
          host: endpoint.host,
          port: endpoint.port,
          path: endpoint.path,
          method: request.method,
          headers: headerList(request.headers),
        };
        if (request.body !== undefined) options.body = toArrayBuffer(request.body);
        if (endpoint.secure) Object.assign(options, tlsSettings(this.#caResource));
        // The typings list only the plain-socket fields; the Request passes the whole
        // dictionary to its Socket (documented: "a super-set of the Socket dictionary").
        exchange = new Request(options as HTTPRequestOptions);
      } catch (error) {
        fail(error instanceof HalNetworkError ? error : new HalNetworkError("other", `request not started: ${String(error)}`));
        return;
      }

      timer = Timer.set(() => {
        timer = undefined;
        fail(new HalNetworkError("timeout", `no complete response from ${request.url} within ${request.timeoutMs} ms`));
      }, request.timeoutMs);

      const live = exchange;
      live.callback = (message: number, value1?: unknown, value2?: unknown) => {
        if (settled) return;
        if (message === Request.status) {
          status = value1 as number;
        } else if (message === Request.header) {
          const name = String(value1);
          const value = String(value2);
          headerBytes += name.length + value.length;
          if (headerBytes > MAX_HEADER_BYTES) return void fail(new HalNetworkError("too-large", `response headers exceed ${MAX_HEADER_BYTES} bytes`));
          headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
        } else if (message === Request.responseFragment) {
          const chunk = new Uint8Array(live.read(ArrayBuffer));
          bodyBytes += chunk.length;
          if (bodyBytes > request.maxResponseBytes) {
            return void fail(new HalNetworkError("too-large", `response body exceeds ${request.maxResponseBytes} bytes`));
          }
          chunks.push(chunk);
        } else if (message === Request.responseComplete) {
          settled = true;
          Timer.clear(timer);
          exchange = undefined;
          resolve({ status, headers, body: concatBytes(...chunks) });
        } else if (message < 0) {
          // Moddable's Request reports every socket failure the same way: before a status line
          // it may be DNS, TCP or TLS, after it the connection dropped mid-response.
          fail(status === 0
            ? new HalNetworkError("other", `connection to ${request.url} failed before a response (DNS, TCP or TLS)`)
            : new HalNetworkError("reset", `connection to ${request.url} dropped mid-response`));
        }
      };
    });
  }
}
