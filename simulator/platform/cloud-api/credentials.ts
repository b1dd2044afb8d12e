/**
 * Who may call the Cloud API: the platform's SecretId/SecretKey pair, and temporary keys (with
 * a session token, like Tencent's STS credentials) handed to a browser that opened one of the
 * console's one-time sign-in links.
 *
 * The pair comes from --secret-id/--secret-key or the config file; otherwise it is made on the
 * first start and kept in the data folder (mode 0600), or, in memory mode, made for this run.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync, writeFileSync, chmodSync, statSync } from "node:fs";
import { join } from "node:path";

export interface ApiKeyPair {
  secretId: string;
  secretKey: string;
}

export interface KeyRecord {
  secretKey: string;
  /** Temporary keys only: the X-TC-Token that must come with them, and when they lapse. */
  token?: string;
  expiresAt?: number;
  kind: "permanent" | "console-session";
}

/** What the platform remembers of one SecretId; `principal` names it in events (never a secret). */
export interface Principal {
  secretId: string;
  kind: KeyRecord["kind"];
}

/**
 * Headers a console session's temporary key must sign besides content-type and host, so that a
 * captured request cannot be replayed with another action or timestamp. Only the console uses
 * these keys, and it signs them; the permanent pair also serves Tencent's SDKs, which sign
 * content-type and host only, so it cannot be held to this.
 */
export const CONSOLE_SIGNED_HEADERS = ["x-tc-action", "x-tc-timestamp"] as const;

export const CREDENTIALS_FILE = "cloud-api-credentials.json";
export const SECRET_ID_PATTERN = /^[A-Za-z0-9_-]{8,128}$/;
export const SECRET_KEY_PATTERN = /^[\x21-\x7e]{16,128}$/;
/** A sign-in link opens one console session of this length. */
export const CONSOLE_SESSION_MS = 12 * 60 * 60 * 1000;
const MAX_LOGIN_TOKENS = 32;
const MAX_SESSIONS = 64;

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** Random letters and digits (rejection sampling, so each is equally likely). */
export function randomAlphanumeric(length: number, alphabet = ALPHANUMERIC): string {
  let text = "";
  while (text.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 256 - (256 % alphabet.length) && text.length < length) text += alphabet[byte % alphabet.length];
    }
  }
  return text;
}

/** A pair shaped like Tencent's: "AKID" + 32 characters, and a 32-character key. */
export function generateKeyPair(prefix = "AKID"): ApiKeyPair {
  return { secretId: prefix + randomAlphanumeric(32), secretKey: randomAlphanumeric(32) };
}

export class CredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CredentialsError";
  }
}

export function checkKeyPair(pair: { secretId?: unknown; secretKey?: unknown }, source: string): ApiKeyPair {
  if (typeof pair.secretId !== "string" || !SECRET_ID_PATTERN.test(pair.secretId)) {
    throw new CredentialsError(`${source}: SecretId must be 8-128 letters, digits, '-' or '_'`);
  }
  if (typeof pair.secretKey !== "string" || !SECRET_KEY_PATTERN.test(pair.secretKey)) {
    throw new CredentialsError(`${source}: SecretKey must be 16-128 printable characters without spaces`);
  }
  return { secretId: pair.secretId, secretKey: pair.secretKey };
}

/**
 * The pair kept in `<dataDir>/cloud-api-credentials.json`, made there (mode 0600) when absent.
 * `created` says whether this start made it.
 */
export function loadOrCreateKeyFile(dataDir: string): { pair: ApiKeyPair; file: string; created: boolean } {
  const file = join(dataDir, CREDENTIALS_FILE);
  let text: string | undefined;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new CredentialsError(`cannot read ${file}: ${(error as Error).message}`);
  }
  if (text === undefined) {
    const pair = generateKeyPair();
    try {
      // "wx": never overwrite a pair another process wrote meanwhile.
      writeFileSync(file, JSON.stringify({ SecretId: pair.secretId, SecretKey: pair.secretKey }, null, 2) + "\n", { mode: 0o600, flag: "wx" });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return loadOrCreateKeyFile(dataDir);
      throw new CredentialsError(`cannot write ${file}: ${(error as Error).message}`);
    }
    return { pair, file, created: true };
  }
  let parsed: { SecretId?: unknown; SecretKey?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw new CredentialsError(`${file} is not JSON; delete it to have a new pair made`);
  }
  // The key is a password: keep the file private even if someone loosened it.
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  return { pair: checkKeyPair({ secretId: parsed.SecretId, secretKey: parsed.SecretKey }, file), file, created: false };
}

function tokenDigest(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

export interface ConsoleSession extends ApiKeyPair {
  token: string;
  expiresAt: number;
}

export class CredentialStore {
  private readonly keys = new Map<string, KeyRecord>();
  /** One-time sign-in tokens by their SHA-256 (the map lookup then reveals nothing of a token). */
  private readonly loginTokens = new Set<string>();

  constructor(permanent: ApiKeyPair, private readonly now: () => number = Date.now) {
    this.keys.set(permanent.secretId, { secretKey: permanent.secretKey, kind: "permanent" });
  }

  /** The key of a SecretId; lapsed temporary keys are forgotten. */
  lookup(secretId: string): KeyRecord | undefined {
    const record = this.keys.get(secretId);
    if (record?.expiresAt !== undefined && record.expiresAt <= this.now()) {
      this.keys.delete(secretId);
      return undefined;
    }
    return record;
  }

  /** Compares the X-TC-Token a temporary key came with, in constant time. */
  static tokenMatches(record: KeyRecord, token: string | undefined): boolean {
    if (record.token === undefined) return true;
    if (token === undefined) return false;
    const expected = createHash("sha256").update(record.token).digest();
    return timingSafeEqual(expected, createHash("sha256").update(token).digest());
  }

  /** A new one-time sign-in token (43 URL-safe characters); the oldest unused one goes past the cap. */
  newLoginToken(): string {
    const token = randomBytes(32).toString("base64url");
    if (this.loginTokens.size >= MAX_LOGIN_TOKENS) this.loginTokens.delete(this.loginTokens.values().next().value!);
    this.loginTokens.add(tokenDigest(token));
    return token;
  }

  /** Forgets a console session's temporary key at sign-out; false for the permanent pair or an unknown id. */
  revoke(secretId: string): boolean {
    return this.keys.get(secretId)?.kind === "console-session" && this.keys.delete(secretId);
  }

  /** Spends a sign-in token for a temporary key pair and session token; undefined when unknown or spent. */
  redeemLoginToken(token: string): ConsoleSession | undefined {
    const digest = tokenDigest(token);
    if (!this.loginTokens.delete(digest)) return undefined;
    const sessions = [...this.keys.entries()].filter(([, record]) => record.kind === "console-session");
    if (sessions.length >= MAX_SESSIONS) this.keys.delete(sessions[0][0]);
    const pair = generateKeyPair("AKIDtmp");
    const session: ConsoleSession = { ...pair, token: randomBytes(24).toString("base64url"), expiresAt: this.now() + CONSOLE_SESSION_MS };
    this.keys.set(session.secretId, { secretKey: session.secretKey, token: session.token, expiresAt: session.expiresAt, kind: "console-session" });
    return session;
  }
}
