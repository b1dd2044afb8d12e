/**
 * MQTT connect parameters of docs/PROTOCOL.md §5, derived from the device's PSK:
 *   client id  <ProductId><DeviceName>
 *   username   <ClientID>;21010406;<connid>;<expiry>
 *   password   <hex HMAC(key = Base64-decoded PSK, username)>;hmacsha256 (or ;hmacsha1)
 */
import type { CryptoHal } from "./contracts";
import type { MqttConnectOptions } from "./mqtt/client";
import { needsRegistration, type DeviceInfo } from "./device-info";
import { base64Decode, hexEncode, utf8Encode } from "./encoding";
import { DeviceInfoError } from "./errors";
import type { SignAlgorithm } from "./dynreg-sign";

export const SDK_APP_ID = "21010406";
export const MAX_KEEP_ALIVE_SECONDS = 690;
export const DEFAULT_KEEP_ALIVE_SECONDS = 240;
/** Expiry used when the wall clock is unknown: the largest signed 32-bit unix time. */
export const FAR_FUTURE_EXPIRY = 0x7fffffff;
/** With a known clock, credentials stay valid this long (reconnects make new ones). */
export const DEFAULT_CREDENTIAL_LIFETIME_SECONDS = 24 * 3600;
const CONNID_LENGTH = 5;
const ALPHANUMERICS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

export function defaultMqttUrl(productId: string): string {
  return `mqtts://${productId}.iotcloud.tencentdevices.com:8883`;
}

export function mqttClientId(info: Pick<DeviceInfo, "productId" | "deviceName">): string {
  return info.productId + info.deviceName;
}

/** Keep-alive within (0, 690]; anything not a positive number gets the SDK's default. */
export function clampKeepAlive(seconds: number | undefined): number {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds <= 0) return DEFAULT_KEEP_ALIVE_SECONDS;
  return Math.min(Math.floor(seconds) || 1, MAX_KEEP_ALIVE_SECONDS);
}

/**
 * Five alphanumerics from the CSPRNG. Bytes of 248 and above are drawn again so each of the 62
 * characters is equally likely (248 = 4 * 62).
 */
export function randomConnid(crypto: Pick<CryptoHal, "randomBytes">): string {
  let connid = "";
  while (connid.length < CONNID_LENGTH) {
    const bytes = crypto.randomBytes(CONNID_LENGTH * 2);
    for (let i = 0; i < bytes.length && connid.length < CONNID_LENGTH; i++) {
      if (bytes[i] < 248) connid += ALPHANUMERICS[bytes[i] % 62];
    }
  }
  return connid;
}

export interface MqttCredentialOptions {
  /** Current unix seconds, or undefined when the clock is not synchronized (far-future expiry). */
  nowSeconds?: number;
  lifetimeSeconds?: number;
  algorithm?: SignAlgorithm;
  /** Default mqtts://<ProductId>.iotcloud.tencentdevices.com:8883 */
  mqttUrl?: string;
  keepAliveSeconds?: number;
  connectTimeoutMs?: number;
  /** Fixed connid (tests); normally drawn from the CSPRNG. */
  connid?: string;
}

export const DEFAULT_MQTT_CONNECT_TIMEOUT_MS = 10_000;

/** The decoded PSK: the HMAC key is these bytes, not the Base64 text. */
function pskBytes(info: DeviceInfo): Uint8Array {
  if (needsRegistration(info) || !info.deviceSecret) {
    throw new DeviceInfoError("deviceSecret", "the device has no deviceSecret yet: register it before connecting");
  }
  let key: Uint8Array;
  try {
    key = base64Decode(info.deviceSecret);
  } catch {
    throw new DeviceInfoError("deviceSecret", "deviceSecret is not Base64: burn or register the PSK the console shows");
  }
  if (key.length === 0) throw new DeviceInfoError("deviceSecret", "deviceSecret decodes to no bytes");
  return key;
}

export function mqttPassword(crypto: Pick<CryptoHal, "hmac">, psk: Uint8Array, username: string, algorithm: SignAlgorithm): string {
  const hash = algorithm === "hmacsha1" ? "sha1" : "sha256";
  return `${hexEncode(crypto.hmac(hash, psk, utf8Encode(username)))};${algorithm}`;
}

/**
 * Everything connectMqtt needs for a PSK device. Cert devices authenticate with TLS
 * client certificates, so their password is empty.
 */
export function buildMqttCredentials(crypto: Pick<CryptoHal, "hmac" | "randomBytes">, info: DeviceInfo, options: MqttCredentialOptions = {}): MqttConnectOptions & { connid: string; expiry: number } {
  const clientId = mqttClientId(info);
  const connid = options.connid ?? randomConnid(crypto);
  if (!/^[A-Za-z0-9]{5}$/.test(connid)) throw new DeviceInfoError("connid", "connid must be 5 alphanumerics");
  const expiry =
    options.nowSeconds === undefined
      ? FAR_FUTURE_EXPIRY
      : Math.min(Math.floor(options.nowSeconds) + (options.lifetimeSeconds ?? DEFAULT_CREDENTIAL_LIFETIME_SECONDS), FAR_FUTURE_EXPIRY);
  const username = `${clientId};${SDK_APP_ID};${connid};${expiry}`;
  const password = info.authMode === "cert" ? "" : mqttPassword(crypto, pskBytes(info), username, options.algorithm ?? "hmacsha256");
  return {
    url: options.mqttUrl ?? defaultMqttUrl(info.productId),
    clientId,
    username,
    password,
    keepAliveSeconds: clampKeepAlive(options.keepAliveSeconds),
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_MQTT_CONNECT_TIMEOUT_MS,
    connid,
    expiry,
  };
}
