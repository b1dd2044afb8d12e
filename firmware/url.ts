/**
 * Splits the core's endpoint URLs into host, port, path and TLS or not: for the MQTT engine's
 * socket endpoint and for Moddable's `http` Request. Engine-neutral (XS has no URL class). A bad
 * URL is a configuration fault, reported as HalNetworkError("other") like any failed connection.
 */
import { HalNetworkError } from "./contracts";

export interface Endpoint {
  secure: boolean;
  host: string;
  port: number;
  /** Path and query, always starting with "/" (empty for MQTT). */
  path: string;
}

const DEFAULT_PORTS: Record<string, { secure: boolean; port: number }> = {
  "http:": { secure: false, port: 80 },
  "https:": { secure: true, port: 443 },
  "mqtt:": { secure: false, port: 1883 },
  "mqtts:": { secure: true, port: 8883 },
};

function parse(url: string, schemes: readonly string[]): Endpoint {
  // The pattern is made here, not at module level: exec with captures on a RegExp frozen by
  // Moddable's preloading runs on a temporary match buffer, and XS 8.2.3 crashed there (a
  // segfault in fx_RegExp_prototype_exec, the Moddable lane's cold boot) when a collection
  // moved memory mid-exec. A RegExp made at run time keeps its own buffer.
  const match = typeof url === "string" ? /^([a-z][a-z0-9+.-]*:)\/\/([^/?#]*)([^#]*)(#.*)?$/i.exec(url) : null;
  if (!match) throw new HalNetworkError("other", `not an absolute URL: ${JSON.stringify(url)}`);
  const scheme = match[1].toLowerCase();
  if (!schemes.includes(scheme)) throw new HalNetworkError("other", `unsupported scheme ${scheme} in ${url}; expected ${schemes.join(" or ")}`);
  const authority = match[2];
  if (authority.includes("@")) throw new HalNetworkError("other", `credentials in the URL are not supported: ${scheme}//...`);
  const hostPort = /^(\[[0-9a-fA-F:.]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(authority);
  if (!hostPort) throw new HalNetworkError("other", `no host in ${url}`);
  const port = hostPort[2] === undefined ? DEFAULT_PORTS[scheme].port : Number(hostPort[2]);
  if (port < 1 || port > 65535) throw new HalNetworkError("other", `port ${port} out of range in ${url}`);
  const rest = match[3];
  const path = rest === "" ? "/" : rest.startsWith("?") ? "/" + rest : rest;
  return { secure: DEFAULT_PORTS[scheme].secure, host: hostPort[1], port, path };
}

export function parseHttpUrl(url: string): Endpoint {
  return parse(url, ["http:", "https:"]);
}

export function parseMqttUrl(url: string): Endpoint {
  const endpoint = parse(url, ["mqtt:", "mqtts:"]);
  return { ...endpoint, path: "" };
}
