/**
 * `POST /` (and `GET /`) on the platform's HTTP and HTTPS ports, as iotexplorer.tencentcloudapi.com
 * answers Tencent Cloud API 3.0: X-TC-Action, X-TC-Version 2019-04-23, X-TC-Timestamp, optional
 * X-TC-Region, a TC3-HMAC-SHA256 Authorization checked in constant time within five minutes,
 * and every answer in Tencent's envelope with HTTP 200.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { TextDecoder } from "node:util";
import type { PlatformBroker } from "../broker";
import type { CertAuthority } from "../cert-authority";
import type { PlatformEvents } from "../events";
import { BodyTooLargeError, hostWithoutPort, mediaType, readBody, RequestAbortedError, sendJson } from "../http-server";
import { rateLimitedLog, type PlatformLog } from "../platform-log";
import type { Registry } from "../registry";
import { type Action, type ActionContext } from "./context";
import { CONSOLE_SIGNED_HEADERS, CredentialStore, type Principal } from "./credentials";
import { DEVICE_ACTIONS } from "./device-actions";
import { CloudApiError, invalidParameter, missingParameter } from "./errors";
import { MODEL_ACTIONS } from "./model-actions";
import { checkParams, unflattenQuery } from "./params";
import { PRODUCT_ACTIONS } from "./product-actions";
import { canonicalRequest, parseAuthorization, signature, signaturesEqual, stringToSign, utcDate } from "./tc3";

export const API_VERSION = "2019-04-23";
export const API_SERVICE = "iotexplorer";
/** Tencent refuses a signature more than five minutes from its clock (AuthFailure.SignatureExpire). */
export const SIGNATURE_WINDOW_SECONDS = 300;
/** The mock's cap on a request body (RequestSizeLimitExceeded). */
export const MAX_API_BODY_BYTES = 128 * 1024;
export const DEFAULT_REGION = "ap-guangzhou";

const REGION = /^[a-z]{2,}(-[a-z]+)+(-\d+)?$/;
const DIGITS = /^\d{1,12}$/;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

export interface CloudApiOptions {
  registry: Registry;
  broker: PlatformBroker;
  certAuthority: () => Promise<CertAuthority>;
  events: PlatformEvents;
  credentials: CredentialStore;
  now: () => number;
  log: PlatformLog;
  /** Actions besides the management ones (the data actions). */
  extraActions?: Readonly<Record<string, Action>>;
}

function headerText(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

/**
 * Who signed this request, or a CloudApiError saying why nobody did. `path` and `query` are the
 * request's, as sent; the console's own signed endpoints use this too. A console session's
 * temporary key must have signed `consoleMustSign` too (CONSOLE_SIGNED_HEADERS).
 */
export function authenticate(req: IncomingMessage, body: Buffer, path: string, query: string, credentials: CredentialStore, nowMs: number,
  consoleMustSign: readonly string[] = CONSOLE_SIGNED_HEADERS): Principal {
  const authorization = parseAuthorization(headerText(req, "authorization"));
  if (typeof authorization === "string") throw new CloudApiError("AuthFailure.InvalidAuthorization", `Authorization is invalid: ${authorization}.`);
  const timestamp = headerText(req, "x-tc-timestamp");
  if (timestamp === undefined || timestamp === "") throw missingParameter("X-TC-Timestamp");
  if (!DIGITS.test(timestamp)) throw invalidParameter("X-TC-Timestamp", "a Unix time in seconds");
  const skew = Math.floor(nowMs / 1000) - Number(timestamp);
  if (Math.abs(skew) > SIGNATURE_WINDOW_SECONDS) {
    throw new CloudApiError("AuthFailure.SignatureExpire", `Signature expired: X-TC-Timestamp is ${Math.abs(skew)} s from the server's time; at most ${SIGNATURE_WINDOW_SECONDS} s are allowed.`);
  }
  if (authorization.date !== utcDate(Number(timestamp))) {
    throw new CloudApiError("AuthFailure.SignatureFailure", `The credential date ${authorization.date} is not the UTC date of X-TC-Timestamp (${utcDate(Number(timestamp))}).`);
  }
  const host = headerText(req, "host") ?? "";
  const hostName = hostWithoutPort(host);
  // Tencent's SDKs name the service after the endpoint's first label: iotexplorer, or, with the
  // endpoint pointed at this mock, the first label of its host ("127" for 127.0.0.1). The Node
  // SDK splits the endpoint with its port, so a dotless host keeps it: "localhost:8080".
  const hostLabels = [hostName.split(".")[0], host.split(".")[0]];
  if (authorization.service !== API_SERVICE && !hostLabels.includes(authorization.service)) {
    throw new CloudApiError("AuthFailure.SignatureFailure", `The credential scope names service ${authorization.service.slice(0, 32)}, not ${API_SERVICE}.`);
  }
  const record = credentials.lookup(authorization.secretId);
  if (!record) throw new CloudApiError("AuthFailure.SecretIdNotFound", "The SecretId is not found; check it, and that it has not expired.");
  const unsigned = record.kind === "console-session" ? consoleMustSign.filter((name) => !authorization.signedHeaders.includes(name)) : [];
  if (unsigned.length > 0) {
    throw new CloudApiError("AuthFailure.InvalidAuthorization", `A console session's key must sign ${unsigned.join(" and ")} (SignedHeaders); it serves the web console only.`);
  }
  const headers: Record<string, string> = {};
  for (const name of authorization.signedHeaders) headers[name] = headerText(req, name) ?? "";
  const scope = { date: authorization.date, service: authorization.service };
  const expected = (hostValue: string) => signature(record.secretKey, scope, stringToSign(timestamp, scope, canonicalRequest({
    method: req.method ?? "POST", path, query, headers: { ...headers, host: hostValue }, signedHeaders: authorization.signedHeaders, payload: body,
  })));
  // The Node SDK signs the host without its port (URL.hostname) and sends it with the port
  // (URL.host): both forms are accepted.
  const matches = signaturesEqual(expected(host), authorization.signature)
    || (host !== hostName && signaturesEqual(expected(hostName), authorization.signature));
  if (!matches) throw new CloudApiError("AuthFailure.SignatureFailure", "The provided credentials could not be validated. Please check your signature is correct.");
  if (!CredentialStore.tokenMatches(record, headerText(req, "x-tc-token"))) {
    throw new CloudApiError("AuthFailure.TokenFailure", "The X-TC-Token does not belong to this temporary SecretId.");
  }
  return { secretId: authorization.secretId, kind: record.kind };
}

function splitUrl(url: string | undefined): { path: string; query: string } {
  const text = url ?? "/";
  const mark = text.indexOf("?");
  return mark === -1 ? { path: text, query: "" } : { path: text.slice(0, mark), query: text.slice(mark + 1) };
}

function parseBody(req: IncomingMessage, body: Buffer, query: string): { params: unknown; fromQuery: boolean } {
  if (req.method === "GET") return { params: unflattenQuery(new URLSearchParams(query)), fromQuery: true };
  if (mediaType(headerText(req, "content-type")) !== "application/json") {
    throw new CloudApiError("InvalidParameter", "Content-Type must be application/json (multipart/form-data is not used by IoT Explorer).");
  }
  try {
    return { params: JSON.parse(strictUtf8.decode(body)), fromQuery: false };
  } catch {
    throw new CloudApiError("InvalidParameter", "The request body is not UTF-8 JSON.");
  }
}

export function createCloudApiHandler(options: CloudApiOptions) {
  const actions: Readonly<Record<string, Action>> = { ...PRODUCT_ACTIONS, ...DEVICE_ACTIONS, ...MODEL_ACTIONS, ...options.extraActions };
  const logAborted = rateLimitedLog(options.log, options.now);

  return async function handleCloudApi(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const date = new Date(options.now());
    const actionName = headerText(req, "x-tc-action");
    let principal: Principal | undefined;
    try {
      const { path, query } = splitUrl(req.url);
      let body: Buffer;
      try {
        // Read first, whatever the method: an answer before the body is read can be lost to a reset.
        body = await readBody(req, MAX_API_BODY_BYTES);
      } catch (error) {
        if (error instanceof BodyTooLargeError) throw new CloudApiError("RequestSizeLimitExceeded", `The request body exceeds ${MAX_API_BODY_BYTES} bytes.`);
        throw error;
      }
      if (req.method !== "POST" && req.method !== "GET") {
        throw new CloudApiError("UnsupportedProtocol", "HTTP(S) request protocol error; only GET and POST requests are supported.");
      }
      principal = authenticate(req, body, path, query, options.credentials, options.now());
      if (!actionName) throw missingParameter("X-TC-Action");
      const version = headerText(req, "x-tc-version");
      if (!version) throw missingParameter("X-TC-Version");
      if (version !== API_VERSION) throw new CloudApiError("NoSuchVersion", `The API version ${version.slice(0, 32)} does not exist; IoT Explorer's is ${API_VERSION}.`);
      const region = headerText(req, "x-tc-region");
      if (region !== undefined && region !== "" && !REGION.test(region)) throw new CloudApiError("UnsupportedRegion", `The region ${region.slice(0, 32)} is not supported.`);
      const action = Object.prototype.hasOwnProperty.call(actions, actionName) ? actions[actionName] : undefined;
      if (!action) throw new CloudApiError("InvalidAction", `The action ${actionName.slice(0, 64)} does not exist in ${API_SERVICE} ${API_VERSION}.`);
      const { params, fromQuery } = parseBody(req, body, query);
      const checked = checkParams(action.schema, params, fromQuery);
      const context: ActionContext = {
        registry: options.registry, broker: options.broker, certAuthority: options.certAuthority, events: options.events,
        now: options.now, principal, region: region || DEFAULT_REGION,
      };
      const result = await action.run(checked, context);
      // With a cluster, device keys this action changed (CreateDevice's PSK, a deletion) are on
      // every node before the caller hears back (device-keys.ts); without one this costs nothing.
      await options.registry.deviceKeys.flush();
      options.log({ event: "cloudapi", action: actionName, secretId: principal.secretId, requestId, outcome: "ok" });
      sendJson(res, 200, { Response: { ...result, RequestId: requestId } }, { date });
    } catch (error) {
      if (error instanceof RequestAbortedError) {
        // Nobody is left to answer, and nothing failed here (see register-api.ts).
        logAborted({ event: "cloudapi", level: "debug", action: actionName?.slice(0, 64), requestId, outcome: "aborted" });
        res.destroy();
        return;
      }
      const failure = error instanceof CloudApiError
        ? error
        : new CloudApiError("InternalError", "An internal error occurred.");
      options.log({
        event: "cloudapi", action: actionName?.slice(0, 64), secretId: principal?.secretId, requestId, outcome: failure.code,
        ...(failure.code === "InternalError" ? { detail: error instanceof Error ? error.message : String(error) } : {}),
      });
      sendJson(res, 200, { Response: { Error: { Code: failure.code, Message: failure.message }, RequestId: requestId } }, { date, close: !req.complete });
    }
  };
}
