/**
 * A thin Tencent Cloud API 3.0 client for the CLI's own commands (`explorer-xs ota`): one
 * TC3-signed JSON POST per action, as Tencent's SDKs send it (the signature is the platform's
 * own `authorizationHeader`), Tencent's error envelope turned into a typed error. The key pair
 * comes from flags, Tencent's SDK environment variables, or a platform's credentials file.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { checkKeyPair, CONSOLE_SIGNED_HEADERS, CREDENTIALS_FILE, type ApiKeyPair } from "./platform/cloud-api/credentials";
import { API_VERSION } from "./platform/cloud-api/server";
import { authorizationHeader } from "./platform/cloud-api/tc3";
import { readInputFile, UsageError } from "./cli-errors";

/** Answers larger than this are refused (the mock's largest is a page of 100 devices). */
const MAX_ANSWER_BYTES = 1024 * 1024;
const REQUEST_TIMEOUT_MS = 30_000;

export class CloudApiCallError extends Error {
  constructor(readonly code: string, message: string, readonly requestId: string) {
    super(`${code}: ${message}`);
    this.name = "CloudApiCallError";
  }
}

export interface CloudApiTarget extends ApiKeyPair {
  /** The platform's base URL (http:// or https://). */
  url: string;
  region?: string;
  /** A console session's token (X-TC-Token): its temporary key signs CONSOLE_SIGNED_HEADERS too, as the console does. */
  token?: string;
}

/**
 * The key pair: --secret-id/--secret-key, else TENCENTCLOUD_SECRET_ID/TENCENTCLOUD_SECRET_KEY
 * (the variables Tencent's SDKs read), else `<data>/cloud-api-credentials.json` of a platform's
 * data folder.
 */
/** `takesData`: the command has a --data flag to name in the error when no pair is given. */
export function resolveKeyPair(flags: { secretId?: string; secretKey?: string; data?: string }, env: NodeJS.ProcessEnv = process.env, takesData = true): ApiKeyPair {
  const secretId = flags.secretId ?? env.TENCENTCLOUD_SECRET_ID;
  const secretKey = flags.secretKey ?? env.TENCENTCLOUD_SECRET_KEY;
  if (secretId !== undefined || secretKey !== undefined) {
    if (!secretId || !secretKey) throw new UsageError("give both --secret-id and --secret-key (or TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY)");
    return checkPair({ secretId, secretKey }, "--secret-id/--secret-key");
  }
  if (flags.data !== undefined) {
    const file = join(flags.data, CREDENTIALS_FILE);
    if (!existsSync(file)) throw new UsageError(`${file} does not exist: is --data the platform's data folder?`);
    let parsed: { SecretId?: unknown; SecretKey?: unknown };
    try {
      parsed = JSON.parse(readInputFile(file, "--data")) as typeof parsed;
    } catch (error) {
      if (error instanceof UsageError) throw error;
      throw new UsageError(`${file} is not JSON`);
    }
    return checkPair({ secretId: parsed.SecretId, secretKey: parsed.SecretKey }, file);
  }
  throw new UsageError(`no Cloud API key pair: give --secret-id and --secret-key${takesData ? ", TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY, or --data DIR" : " or TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY"}`);
}

function checkPair(pair: { secretId?: unknown; secretKey?: unknown }, source: string): ApiKeyPair {
  try {
    return checkKeyPair(pair, source);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** Calls one action; resolves with the Response fields, rejects with CloudApiCallError for Tencent's error envelope. */
export async function callCloudApi(target: CloudApiTarget, action: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
  const url = new URL(target.url);
  const body = JSON.stringify(params);
  const timestamp = Math.floor(Date.now() / 1000);
  const tc: Record<string, string> = { "x-tc-action": action, "x-tc-version": API_VERSION, "x-tc-timestamp": String(timestamp), "x-tc-region": target.region ?? "ap-guangzhou" };
  if (target.token !== undefined) tc["x-tc-token"] = target.token;
  const headers = { "content-type": "application/json", host: url.host };
  // Tencent's SDKs sign content-type and host; a console session's key must sign more (server.ts refuses it otherwise).
  const signed = target.token === undefined ? headers : { ...headers, ...Object.fromEntries(CONSOLE_SIGNED_HEADERS.map((name) => [name, tc[name]])) };
  const answer = await fetch(new URL("/", url), {
    method: "POST",
    body,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    headers: { ...headers, ...tc, authorization: authorizationHeader({ secretId: target.secretId, secretKey: target.secretKey, timestamp, headers: signed, payload: body }) },
  });
  const text = await answer.text();
  if (text.length > MAX_ANSWER_BYTES) throw new CloudApiCallError("InvalidResponse", `the answer exceeds ${MAX_ANSWER_BYTES} bytes`, "");
  let parsed: { Response?: Record<string, unknown> & { Error?: { Code?: string; Message?: string }; RequestId?: string } };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw new CloudApiCallError("InvalidResponse", `HTTP ${answer.status}, not Tencent's JSON envelope`, "");
  }
  const response = parsed.Response;
  if (!response) throw new CloudApiCallError("InvalidResponse", `HTTP ${answer.status} without a Response`, "");
  if (response.Error) throw new CloudApiCallError(String(response.Error.Code), String(response.Error.Message ?? ""), String(response.RequestId ?? ""));
  return response;
}
