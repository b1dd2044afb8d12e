/**
 * The MQTT credential rules of docs/PROTOCOL.md §5, checked on the platform side with
 * node:crypto: client id = ProductId+DeviceName, username `<clientId>;<appId>;<connId>;<expiry>`,
 * password `<hex HMAC(decoded PSK, username)>;hmacsha256|hmacsha1`, compared in constant time;
 * and the topic rules of §7: which topics a device may publish and subscribe.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Device } from "./registry";

/** CONNACK return codes of MQTT 3.1 / 3.1.1. */
export const CONNACK = {
  identifierRejected: 2,
  badUsernameOrPassword: 4,
  notAuthorized: 5,
} as const;

export type MqttAuthResult =
  | { ok: true }
  | { ok: false; returnCode: 2 | 4 | 5; reason: string };

/** Tencent's broker keeps sessions alive at most this long (docs/PROTOCOL.md §5). */
export const MAX_KEEPALIVE_SECONDS = 690;

const APP_ID = /^[0-9]{1,12}$/;
const CONN_ID = /^[A-Za-z0-9]{5}$/;
/** Up to 19 digits: C `long` is 64-bit on a Linux host, so LONG_MAX has 19 (docs/PROTOCOL.md §5). */
const EXPIRY = /^[0-9]{1,19}$/;
const HEX = /^[0-9a-fA-F]+$/;

export interface ParsedUsername {
  clientId: string;
  appId: string;
  connId: string;
  /** Exact: a 19-digit expiry does not fit a double. */
  expiry: bigint;
}

/**
 * LONG_MAX of both widths: what Tencent's C SDK sends with MAX_ACCESS_EXPIRE_TIMEOUT 0 (its
 * default), meaning "never expires" (mqtt_client_connect.c, _serialize_connect_packet).
 */
export const NO_EXPIRY = [2n ** 31n - 1n, 2n ** 63n - 1n] as const;
/** An expiry at or above this is in milliseconds (the Python SDK's unit); below it, seconds. 1e11 s is the year 5138, 1e11 ms 1973. */
export const MILLISECOND_EXPIRY_FROM = 10n ** 11n;

/**
 * How far in the past an expiry may be: Tencent's Python SDK signs with expiry = its own current
 * time in ms, which is already past when the CONNECT arrives, and Tencent accepts it. The same
 * 300 s of clock skew the registration window allows (docs/PROTOCOL.md §5, the mock's own).
 */
export const EXPIRY_GRACE_MS = 300_000;

/** Whether the username's expiry lies more than `graceMs` before `nowMs` (exact integer comparison). */
export function expiryHasPassed(expiry: bigint, nowMs: number, graceMs = EXPIRY_GRACE_MS): boolean {
  if (NO_EXPIRY.includes(expiry as (typeof NO_EXPIRY)[number])) return false;
  const oldestAcceptedMs = BigInt(Math.floor(nowMs)) - BigInt(graceMs);
  // A seconds expiry covers its whole second.
  return expiry >= MILLISECOND_EXPIRY_FROM ? expiry < oldestAcceptedMs : expiry < oldestAcceptedMs / 1000n;
}

export function parseUsername(username: string): ParsedUsername | string {
  const fields = username.split(";");
  if (fields.length !== 4) return "username must have 4 fields: clientId;appId;connId;expiry";
  const [clientId, appId, connId, expiry] = fields;
  if (!APP_ID.test(appId)) return "username appId must be digits";
  if (!CONN_ID.test(connId)) return "username connId must be 5 letters or digits";
  if (!EXPIRY.test(expiry)) return "username expiry must be a unix time";
  return { clientId, appId, connId, expiry: BigInt(expiry) };
}

/** Checks the password of §5 against the device's PSK; never throws. */
export function verifyPskPassword(pskBase64: string, username: string, password: Buffer): boolean {
  const text = password.toString("utf8");
  const separator = text.lastIndexOf(";");
  if (separator === -1) return false;
  const hex = text.slice(0, separator);
  const algorithm = text.slice(separator + 1);
  const digest = algorithm === "hmacsha256" ? "sha256" : algorithm === "hmacsha1" ? "sha1" : undefined;
  if (!digest || !HEX.test(hex) || hex.length !== (digest === "sha256" ? 64 : 40)) return false;
  const expected = createHmac(digest, Buffer.from(pskBase64, "base64")).update(username, "utf8").digest();
  return timingSafeEqual(expected, Buffer.from(hex, "hex"));
}

export interface AuthInput {
  device: Device | undefined;         // the device whose ProductId+DeviceName is the client id
  clientId: string;
  username: string | undefined;
  password: Buffer | undefined;
  /** The platform's clock in milliseconds. */
  nowMs: number;
  /** The transport already proved the identity (TLS-PSK identity or a client certificate). */
  transportAuthenticated: boolean;
  /** CONNECT's keep-alive; 0 (none) is allowed, above MAX_KEEPALIVE_SECONDS is refused (chosen). */
  keepaliveSeconds?: number;
}

export function checkMqttCredentials(input: AuthInput): MqttAuthResult {
  const { device } = input;
  if (!device) return { ok: false, returnCode: CONNACK.identifierRejected, reason: "client id is not ProductId+DeviceName of a known device" };
  if (device.psk === undefined && device.certPem === undefined) return { ok: false, returnCode: CONNACK.notAuthorized, reason: "device has no credentials yet (not registered)" };
  if (!device.enabled) return { ok: false, returnCode: CONNACK.notAuthorized, reason: "device is disabled" };
  if (input.username === undefined) return { ok: false, returnCode: CONNACK.badUsernameOrPassword, reason: "username missing" };
  const parsed = parseUsername(input.username);
  if (typeof parsed === "string") return { ok: false, returnCode: CONNACK.badUsernameOrPassword, reason: parsed };
  if (parsed.clientId !== input.clientId) return { ok: false, returnCode: CONNACK.badUsernameOrPassword, reason: "username clientId differs from the client id" };
  if (expiryHasPassed(parsed.expiry, input.nowMs)) return { ok: false, returnCode: CONNACK.badUsernameOrPassword, reason: `username expiry is more than ${EXPIRY_GRACE_MS / 1000} s in the past` };
  if ((input.keepaliveSeconds ?? 0) > MAX_KEEPALIVE_SECONDS) {
    return { ok: false, returnCode: CONNACK.notAuthorized, reason: `keep-alive ${input.keepaliveSeconds} s exceeds ${MAX_KEEPALIVE_SECONDS} s` };
  }
  if (input.transportAuthenticated) {
    if (input.password === undefined || input.password.length === 0) return { ok: true };
  } else if (device.psk === undefined) {
    return { ok: false, returnCode: CONNACK.notAuthorized, reason: "certificate devices must connect over TLS with their client certificate" };
  }
  if (input.password === undefined) return { ok: false, returnCode: CONNACK.badUsernameOrPassword, reason: "password missing" };
  if (device.psk === undefined || !verifyPskPassword(device.psk, input.username, input.password)) {
    return { ok: false, returnCode: CONNACK.badUsernameOrPassword, reason: "password does not match" };
  }
  return { ok: true };
}

/** The device's own data-template topics (docs/PROTOCOL.md §7). */
const THING_TOPIC = /^\$thing\/(up|down)\/(property|event|action)\/([^/]+)\/([^/]+)$/;

export function parseThingTopic(topic: string): { direction: "up" | "down"; kind: "property" | "event" | "action"; productId: string; deviceName: string } | undefined {
  const match = THING_TOPIC.exec(topic);
  if (!match) return undefined;
  return { direction: match[1] as "up" | "down", kind: match[2] as "property" | "event" | "action", productId: match[3], deviceName: match[4] };
}

export interface DeviceIdentity {
  productId: string;
  deviceName: string;
}

/**
 * Every topic a device may use, by name, with what it may do there (docs/PROTOCOL.md §7):
 * the data template, the system time service, Tencent's default custom topics and firmware update (§14). Anything
 * else is refused, and a wildcard never matches: "+" or "#" is never a device's own name.
 */
export function deviceTopics(identity: DeviceIdentity): ReadonlyMap<string, { publish: boolean; subscribe: boolean }> {
  const { productId: pid, deviceName: dn } = identity;
  const pub = { publish: true, subscribe: false };
  const sub = { publish: false, subscribe: true };
  return new Map([
    [`$thing/up/property/${pid}/${dn}`, pub],
    [`$thing/up/event/${pid}/${dn}`, pub],
    [`$thing/up/action/${pid}/${dn}`, pub],
    [`$thing/down/property/${pid}/${dn}`, sub],
    [`$thing/down/event/${pid}/${dn}`, sub],
    [`$thing/down/action/${pid}/${dn}`, sub],
    [`$sys/operation/${pid}/${dn}`, pub],
    [`$sys/operation/result/${pid}/${dn}`, sub],
    [`${pid}/${dn}/data`, { publish: true, subscribe: true }],
    [`${pid}/${dn}/event`, pub],
    [`${pid}/${dn}/control`, sub],
    [`$ota/report/${pid}/${dn}`, pub],
    [`$ota/update/${pid}/${dn}`, sub],
  ]);
}

/** The identity's topic table, cached per identity object (each client has one). */
const tables = new WeakMap<DeviceIdentity, ReadonlyMap<string, { publish: boolean; subscribe: boolean }>>();
function tableOf(identity: DeviceIdentity) {
  let table = tables.get(identity);
  if (!table) tables.set(identity, (table = deviceTopics(identity)));
  return table;
}

export function mayPublish(identity: DeviceIdentity, topic: string): boolean {
  return tableOf(identity).get(topic)?.publish === true;
}

export function maySubscribe(identity: DeviceIdentity, topic: string): boolean {
  return tableOf(identity).get(topic)?.subscribe === true;
}
