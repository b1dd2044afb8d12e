/**
 * Data-template messages of PROTOCOL.md §5: property reports up, report_reply and control down,
 * control_reply up. Parsing never throws: a down message that is not ours is reported as such.
 */
import { utf8Decode, utf8Encode } from "./encoding";

export type DownMessage =
  | { kind: "report_reply"; clientToken: string; code: number; status: string }
  | { kind: "control"; clientToken: string; params: Record<string, unknown> }
  | { kind: "other"; method: string }
  | { kind: "invalid"; reason: string };

/** Down messages larger than this are dropped unread: a device has little RAM. */
export const MAX_DOWN_MESSAGE_BYTES = 16 * 1024;

export function encodeReport(clientToken: string, timestampSeconds: number, params: Record<string, unknown>): Uint8Array {
  return utf8Encode(JSON.stringify({ method: "report", clientToken, timestamp: timestampSeconds, params }));
}

export function encodeControlReply(clientToken: string, code: number, status: string): Uint8Array {
  return utf8Encode(JSON.stringify({ method: "control_reply", clientToken, code, status }));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function parseDownMessage(payload: Uint8Array): DownMessage {
  if (payload.length > MAX_DOWN_MESSAGE_BYTES) return { kind: "invalid", reason: `message of ${payload.length} bytes exceeds ${MAX_DOWN_MESSAGE_BYTES}` };
  let body: unknown;
  try {
    body = JSON.parse(utf8Decode(payload));
  } catch {
    return { kind: "invalid", reason: "not UTF-8 JSON" };
  }
  if (!isObject(body) || typeof body.method !== "string") return { kind: "invalid", reason: "no method" };
  const clientToken = typeof body.clientToken === "string" ? body.clientToken : undefined;
  if (body.method === "report_reply") {
    if (clientToken === undefined) return { kind: "invalid", reason: "report_reply without clientToken" };
    return {
      kind: "report_reply",
      clientToken,
      code: typeof body.code === "number" ? body.code : -1,
      status: typeof body.status === "string" ? body.status : "",
    };
  }
  if (body.method === "control") {
    if (clientToken === undefined) return { kind: "invalid", reason: "control without clientToken" };
    if (!isObject(body.params)) return { kind: "invalid", reason: "control without params object" };
    return { kind: "control", clientToken, params: body.params };
  }
  return { kind: "other", method: body.method };
}
