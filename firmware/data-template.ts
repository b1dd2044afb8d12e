/**
 * Data-template messages of docs/PROTOCOL.md §8 and the time service of §9, as the device sends
 * and reads them: report, report_info, get_status, clear_control, control_reply, event_post and
 * action_reply up; their replies, control and action down. Parsing never throws: a down message
 * that is not ours is reported as such.
 */
import { utf8Decode, utf8Encode } from "./encoding";

export type DownMessage =
  | { kind: "report_reply"; clientToken: string; code: number; status: string }
  | { kind: "control"; clientToken: string; params: Record<string, unknown> }
  /** report_info_reply, clear_control_reply, event_reply, events_reply: code and status only. */
  | { kind: "reply"; method: string; clientToken: string; code: number; status: string }
  | { kind: "get_status_reply"; clientToken: string; code: number; status: string; reported?: Record<string, unknown>; control?: Record<string, unknown> }
  | { kind: "action"; clientToken: string; actionId: string; params: Record<string, unknown> }
  | { kind: "other"; method: string }
  | { kind: "invalid"; reason: string };

/** Replies that carry only code and status, answered to a request by clientToken. */
const PLAIN_REPLIES: ReadonlySet<string> = new Set(["report_info_reply", "clear_control_reply", "event_reply", "events_reply"]);

/** Down messages larger than this are dropped unread: a device has little RAM. */
export const MAX_DOWN_MESSAGE_BYTES = 16 * 1024;

export function encodeReport(clientToken: string, timestampSeconds: number, params: Record<string, unknown>): Uint8Array {
  return utf8Encode(JSON.stringify({ method: "report", clientToken, timestamp: timestampSeconds, params }));
}

export function encodeControlReply(clientToken: string, code: number, status: string): Uint8Array {
  return utf8Encode(JSON.stringify({ method: "control_reply", clientToken, code, status }));
}

export function encodeReportInfo(clientToken: string, params: Record<string, unknown>): Uint8Array {
  return utf8Encode(JSON.stringify({ method: "report_info", clientToken, params }));
}

/** Without a type the platform answers with both data.reported and data.control, as the C SDK asks. */
export function encodeGetStatus(clientToken: string): Uint8Array {
  return utf8Encode(JSON.stringify({ method: "get_status", clientToken }));
}

export function encodeClearControl(clientToken: string): Uint8Array {
  return utf8Encode(JSON.stringify({ method: "clear_control", clientToken }));
}

export type EventType = "info" | "alert" | "fault";

/** One event; the timestamp is in milliseconds, 0 when the device has no trusted time (as the C SDK sends). */
export function encodeEventPost(clientToken: string, eventId: string, type: EventType, timestampMs: number, params: Record<string, unknown>): Uint8Array {
  return utf8Encode(JSON.stringify({ method: "event_post", clientToken, version: "1.0", eventId, type, timestamp: timestampMs, params }));
}

export function encodeActionReply(clientToken: string, code: number, status: string, response: Record<string, unknown>): Uint8Array {
  return utf8Encode(JSON.stringify({ method: "action_reply", clientToken, code, status, response }));
}

/** `$sys/operation` request for the platform's time. */
export function encodeTimeRequest(): Uint8Array {
  return utf8Encode(JSON.stringify({ type: "get", resource: ["time"] }));
}

export interface PlatformTime {
  /** The platform's time in seconds. */
  time: number;
  /** When the platform received the request and sent the answer, in ms (equal on Tencent's logs). */
  ntptime1: number;
  ntptime2: number;
}

/** The answer on `$sys/operation/result`, or a reason it is not one. */
export function parseTimeResult(payload: Uint8Array): PlatformTime | { invalid: string } {
  if (payload.length > MAX_DOWN_MESSAGE_BYTES) return { invalid: "too large" };
  let body: unknown;
  try {
    body = JSON.parse(utf8Decode(payload));
  } catch {
    return { invalid: "not UTF-8 JSON" };
  }
  if (!isObject(body) || body.type !== "get") return { invalid: "not a get result" };
  const { time, ntptime1, ntptime2 } = body;
  if (typeof time !== "number" || !Number.isFinite(time)) return { invalid: "no time" };
  const ms = (value: unknown) => (typeof value === "number" && Number.isFinite(value) ? value : time * 1000);
  return { time, ntptime1: ms(ntptime1), ntptime2: ms(ntptime2) };
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
  const code = typeof body.code === "number" ? body.code : -1;
  const status = typeof body.status === "string" ? body.status : "";
  if (PLAIN_REPLIES.has(body.method)) {
    if (clientToken === undefined) return { kind: "invalid", reason: `${body.method} without clientToken` };
    return { kind: "reply", method: body.method, clientToken, code, status };
  }
  if (body.method === "get_status_reply") {
    if (clientToken === undefined) return { kind: "invalid", reason: "get_status_reply without clientToken" };
    const data = isObject(body.data) ? body.data : {};
    return {
      kind: "get_status_reply", clientToken, code, status,
      ...(isObject(data.reported) ? { reported: data.reported } : {}),
      ...(isObject(data.control) ? { control: data.control } : {}),
    };
  }
  if (body.method === "action") {
    if (clientToken === undefined) return { kind: "invalid", reason: "action without clientToken" };
    if (typeof body.actionId !== "string" || body.actionId.length === 0) return { kind: "invalid", reason: "action without actionId" };
    return { kind: "action", clientToken, actionId: body.actionId, params: isObject(body.params) ? body.params : {} };
  }
  return { kind: "other", method: body.method };
}
