/**
 * The web console under /console, served by the platform itself: a static page (no CDN: every
 * file it loads comes from here) that signs its Cloud API calls with TC3 in the browser, the
 * exchange of a one-time sign-in link for temporary keys, and a signed event stream.
 *
 * Nothing here serves a secret without authentication: the page and its scripts hold none, the
 * link exchange needs the link's token, and the event stream needs a valid signature.
 */
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { authenticate } from "../cloud-api/server";
import type { CredentialStore } from "../cloud-api/credentials";
import { CloudApiError } from "../cloud-api/errors";
import type { ConsoleBatch, PlatformEvents } from "../events";
import { BodyTooLargeError, mediaType, readBody, sendJson } from "../http-server";

export const CONSOLE_PATH = "/console";
const MAX_CONSOLE_BODY_BYTES = 4 * 1024;
const LOGIN_TOKEN = /^[A-Za-z0-9_-]{43}$/;
/** The console's own endpoints have no action: a session key signs its timestamp. */
const STREAM_SIGNED_HEADERS = ["x-tc-timestamp"] as const;

/** The files the page loads, by URL name. */
const STATIC_FILES: Readonly<Record<string, string>> = {
  "app.js": "text/javascript; charset=utf-8",
  "tc3.js": "text/javascript; charset=utf-8",
  "chart.js": "text/javascript; charset=utf-8",
  "template.js": "text/javascript; charset=utf-8",
  "ota.js": "text/javascript; charset=utf-8",
  "md5.js": "text/javascript; charset=utf-8",
  "app.css": "text/css; charset=utf-8",
};

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store",
};

/** The static folder beside this module, or in the source tree when this runs from a bundle. */
function staticDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  const beside = join(dir, "static");
  if (existsSync(join(beside, "index.html"))) return beside;
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, "simulator", "platform", "console-web", "static");
    if (existsSync(join(candidate, "index.html"))) return candidate;
    dir = dirname(dir);
  }
  throw new Error("the web console's files (simulator/platform/console-web/static) are missing");
}

function loadAssets(): Map<string, { body: Buffer; type: string }> {
  const dir = staticDir();
  const assets = new Map<string, { body: Buffer; type: string }>();
  assets.set("index.html", { body: readFileSync(join(dir, "index.html")), type: "text/html; charset=utf-8" });
  for (const [name, type] of Object.entries(STATIC_FILES)) assets.set(name, { body: readFileSync(join(dir, name)), type });
  return assets;
}

export interface ConsoleWebOptions {
  credentials: CredentialStore;
  events: PlatformEvents;
  now: () => number;
}

/** A console answer other than 200, with Tencent's error shape. */
class ConsoleRefusal extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly allow?: string) {
    super(message);
  }
}

/** Errors in Tencent's envelope, like the Cloud API's (with an HTTP status, since a browser reads these). */
function consoleError(res: ServerResponse, status: number, code: string, message: string, date: Date, close = false): void {
  sendJson(res, status, { Response: { Error: { Code: code, Message: message }, RequestId: randomUUID() } }, { date, close });
}

export function createConsoleHandler(options: ConsoleWebOptions) {
  const assets = loadAssets();

  function serveAsset(req: IncomingMessage, res: ServerResponse, name: string): void {
    const asset = assets.get(name)!;
    res.statusCode = 200;
    for (const [header, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(header, value);
    res.setHeader("Content-Type", asset.type);
    res.setHeader("Content-Length", asset.body.length);
    res.setHeader("Date", new Date(options.now()).toUTCString());
    res.end(req.method === "HEAD" ? undefined : asset.body);
  }

  async function readSmallJson(req: IncomingMessage): Promise<{ body: Buffer; json: Record<string, unknown> }> {
    if (mediaType(req.headers["content-type"]) !== "application/json") throw new CloudApiError("InvalidParameter", "Content-Type must be application/json.");
    let body: Buffer;
    try {
      body = await readBody(req, MAX_CONSOLE_BODY_BYTES);
    } catch (error) {
      if (error instanceof BodyTooLargeError) throw new CloudApiError("RequestSizeLimitExceeded", error.message);
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(body.toString("utf8"));
    } catch {
      throw new CloudApiError("InvalidParameter", "The request body is not JSON.");
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) throw new CloudApiError("InvalidParameter", "The request body must be a JSON object.");
    return { body, json: json as Record<string, unknown> };
  }

  /** A one-time sign-in token for temporary keys (the token is spent even if the answer is lost). */
  async function session(req: IncomingMessage, res: ServerResponse, date: Date): Promise<void> {
    const { json } = await readSmallJson(req);
    const token = json.Token;
    const session = typeof token === "string" && LOGIN_TOKEN.test(token) ? options.credentials.redeemLoginToken(token) : undefined;
    if (!session) {
      consoleError(res, 403, "AuthFailure.TokenFailure", "This sign-in link is unknown or was used already; sign in with the SecretId and SecretKey, or ask the platform for a new link.", date);
      return;
    }
    options.events.record({ kind: "management", ok: true, detail: "console signed in with a one-time link" });
    res.setHeader("Cache-Control", "no-store");
    sendJson(res, 200, { SecretId: session.secretId, SecretKey: session.secretKey, Token: session.token, ExpiresAt: Math.floor(session.expiresAt / 1000) }, { date });
  }

  /** Sign-out: a console session's temporary key stops working now, not when its 12 h lapse. */
  async function signOut(req: IncomingMessage, res: ServerResponse, date: Date): Promise<void> {
    const { body } = await readSmallJson(req);
    const principal = authenticate(req, body, `${CONSOLE_PATH}/signout`, "", options.credentials, options.now(), STREAM_SIGNED_HEADERS);
    const revoked = options.credentials.revoke(principal.secretId);
    if (revoked) options.events.record({ kind: "management", ok: true, detail: "console session signed out: its key is revoked" });
    sendJson(res, 200, { Revoked: revoked }, { date });
  }

  /** Server-sent events over a signed POST (EventSource cannot sign, so the page reads it with fetch). */
  async function eventStream(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { body } = await readSmallJson(req);
    const principal = authenticate(req, body, `${CONSOLE_PATH}/events`, "", options.credentials, options.now(), STREAM_SIGNED_HEADERS);
    let unsubscribe: (() => void) | undefined;
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    unsubscribe = options.events.subscribe((batch: ConsoleBatch) => send("batch", batch));
    if (!unsubscribe) throw new ConsoleRefusal(429, "RequestLimitExceeded", "Too many console event streams are open.");
    res.statusCode = 200;
    res.setHeader("Content-Type", "text/event-stream; charset=utf-8");
    res.setHeader("Cache-Control", "no-store");
    res.setHeader("X-Accel-Buffering", "no");
    res.flushHeaders();
    send("hello", { time: options.now(), principal: principal.kind, events: options.events.recent(), samples: options.events.samplesSince(options.now() - 60 * 60 * 1000) });
    res.on("close", () => { unsubscribe?.(); unsubscribe = undefined; });
  }

  return async function handleConsole(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const date = new Date(options.now());
    const method = req.method ?? "GET";
    try {
      if (path === CONSOLE_PATH || path === `${CONSOLE_PATH}/`) {
        if (method !== "GET" && method !== "HEAD") throw new ConsoleRefusal(405, "UnsupportedProtocol", "Use GET.", "GET, HEAD");
        return serveAsset(req, res, "index.html");
      }
      const name = path.slice(CONSOLE_PATH.length + 1);
      if (Object.prototype.hasOwnProperty.call(STATIC_FILES, name)) {
        if (method !== "GET" && method !== "HEAD") throw new ConsoleRefusal(405, "UnsupportedProtocol", "Use GET.", "GET, HEAD");
        return serveAsset(req, res, name);
      }
      if (name === "session" || name === "events" || name === "signout") {
        if (method !== "POST") throw new ConsoleRefusal(405, "UnsupportedProtocol", "Use POST.", "POST");
        if (name === "signout") return await signOut(req, res, date);
        return name === "session" ? await session(req, res, date) : await eventStream(req, res);
      }
      consoleError(res, 404, "ResourceNotFound", `No console resource ${path.slice(0, 100)}.`, date, !req.complete);
    } catch (error) {
      if (res.headersSent) { res.destroy(); return; }
      if (error instanceof ConsoleRefusal) {
        if (error.allow) res.setHeader("Allow", error.allow);
        consoleError(res, error.status, error.code, error.message, date, !req.complete);
        return;
      }
      if (error instanceof CloudApiError) {
        consoleError(res, error.code.startsWith("AuthFailure") ? 401 : 400, error.code, error.message, date, !req.complete);
        return;
      }
      throw error;
    }
  };
}
