/**
 * The MQTT credential rules of PROTOCOL.md §5, checked on the platform side with node:crypto:
 * client id = ProductId+DeviceName, username `<clientId>;<appId>;<connId>;<expiry>`, password
 * `<hex HMAC(decoded PSK, username)>;hmacsha256|hmacsha1`, compared in constant time.
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

/** Tencent's broker keeps sessions alive at most this long (PROTOCOL.md §5). */
export const MAX_KEEPALIVE_SECONDS = 690;

const APP_ID = /^[0-9]{1,12}$/;
const CONN_ID = /^[A-Za-z0-9]{5}$/;
const EXPIRY = /^[0-9]{1,16}$/;
const HEX = /^[0-9a-fA-F]+$/;

export interface ParsedUsername {
  clientId: string;
  appId: string;
  connId: string;
  expiry: number;
}

export function parseUsername(username: string): ParsedUsername | string {
  const fields = username.split(";");
  if (fields.length !== 4) return "username must have 4 fields: clientId;appId;connId;expiry";
  const [clientId, appId, connId, expiry] = fields;
  if (!APP_ID.test(appId)) return "username appId must be digits";
  if (!CONN_ID.test(connId)) return "username connId must be 5 letters or digits";
  if (!EXPIRY.test(expiry)) return "username expiry must be a unix time";
  return { clientId, appId, connId, expiry: Number(expiry) };
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
  nowSeconds: number;
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
  // Large values (SDKs that send milliseconds, or a far future when the clock is unknown) are valid.
  if (parsed.expiry < input.nowSeconds) return { ok: false, returnCode: CONNACK.badUsernameOrPassword, reason: "username expiry is in the past" };
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

/** The device's own data-template topics (PROTOCOL.md §5). */
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

function isOwn(identity: DeviceIdentity, topic: string, direction: "up" | "down"): boolean {
  const parsed = parseThingTopic(topic); // a wildcard level ("+", "#") never equals a real name
  return parsed !== undefined && parsed.direction === direction
    && parsed.productId === identity.productId && parsed.deviceName === identity.deviceName;
}

export function mayPublish(identity: DeviceIdentity, topic: string): boolean {
  return isOwn(identity, topic, "up");
}

export function maySubscribe(identity: DeviceIdentity, topic: string): boolean {
  return isOwn(identity, topic, "down");
}
