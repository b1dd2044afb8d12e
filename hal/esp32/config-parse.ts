/**
 * The manifest `config` block, normalized. mcconfig passes command-line overrides
 * (`mcconfig ... productId=ABC ledPin=2`) as strings, so numbers and booleans are parsed here
 * and a bad value is a clear ConfigError at boot rather than a wrong GPIO. Engine-neutral.
 */
import { nameErrorClass } from "../../firmware/contracts";
import type { DeviceConfig } from "./factory";

export class ConfigError extends Error {
  static {
    nameErrorClass(this, "ConfigError");
  }
  constructor(message: string) {
    super(message);
  }
}

export interface FirmwareConfig extends DeviceConfig {
  registerUrl?: string;
  mqttUrl?: string;
  signAlgorithm?: "hmacsha256" | "hmacsha1";
  /** GPIO of the status LED; undefined disables it. */
  ledPin?: number;
  ledActiveLow: boolean;
  sntpServers: string[];
  /** DER trust anchor (a resource in the build's data) for the registration gateway's HTTPS. */
  registerCa: string;
  /** DER trust anchor for the MQTT broker's TLS. Tencent pins different roots for the two. */
  mqttCa: string;
  ssid?: string;
  password?: string;
  wifiAttemptMs: number;
  keepAliveSeconds?: number;
}

const DEFAULT_SNTP = ["pool.ntp.org", "time.cloudflare.com"];
/** The anchors Tencent's current C SDK pins (docs/ESP32.md, "Trust anchors"). */
export const DEFAULT_REGISTER_CA = "digicert-global-root-ca.der";
export const DEFAULT_MQTT_CA = "tencent-iot-root-ca.der";

function text(raw: Record<string, unknown>, name: string): string | undefined {
  const value = raw[name];
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw new ConfigError(`config.${name} must be a string`);
  return value;
}

function integer(raw: Record<string, unknown>, name: string, min: number, max: number): number | undefined {
  const value = raw[name];
  if (value === undefined || value === null || value === "") return undefined;
  const number = typeof value === "number" ? value : typeof value === "string" && /^-?\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(number) || number < min || number > max) throw new ConfigError(`config.${name} must be an integer from ${min} to ${max}, not ${JSON.stringify(value)}`);
  return number;
}

function flag(raw: Record<string, unknown>, name: string): boolean {
  const value = raw[name];
  if (value === undefined || value === "" || value === false || value === "false" || value === "0" || value === 0) return false;
  if (value === true || value === "true" || value === "1" || value === 1) return true;
  throw new ConfigError(`config.${name} must be true or false, not ${JSON.stringify(value)}`);
}

export function parseFirmwareConfig(raw: Record<string, unknown>): FirmwareConfig {
  const rule = text(raw, "deviceNameRule") ?? "config";
  if (rule !== "config" && rule !== "mac") throw new ConfigError(`config.deviceNameRule must be "config" or "mac", not ${JSON.stringify(rule)}`);
  const authMode = text(raw, "authMode") ?? "psk";
  if (authMode !== "psk" && authMode !== "cert") throw new ConfigError(`config.authMode must be "psk" or "cert", not ${JSON.stringify(authMode)}`);
  const algorithm = text(raw, "signAlgorithm");
  if (algorithm !== undefined && algorithm !== "hmacsha256" && algorithm !== "hmacsha1") {
    throw new ConfigError(`config.signAlgorithm must be hmacsha256 or hmacsha1, not ${JSON.stringify(algorithm)}`);
  }
  const ledPin = integer(raw, "ledPin", -1, 48);
  const sntp = text(raw, "sntpServers");
  return {
    productId: text(raw, "productId"),
    productSecret: text(raw, "productSecret"),
    deviceName: text(raw, "deviceName"),
    deviceNameRule: rule,
    deviceNamePrefix: text(raw, "deviceNamePrefix"),
    region: text(raw, "region"),
    authMode,
    registerUrl: text(raw, "registerUrl"),
    mqttUrl: text(raw, "mqttUrl"),
    signAlgorithm: algorithm,
    ledPin: ledPin === undefined || ledPin < 0 ? undefined : ledPin,
    ledActiveLow: flag(raw, "ledActiveLow"),
    sntpServers: sntp ? sntp.split(",").map((host) => host.trim()).filter((host) => host !== "") : DEFAULT_SNTP,
    registerCa: text(raw, "registerCa") ?? DEFAULT_REGISTER_CA,
    mqttCa: text(raw, "mqttCa") ?? DEFAULT_MQTT_CA,
    ssid: text(raw, "ssid"),
    password: text(raw, "password"),
    wifiAttemptMs: integer(raw, "wifiAttemptMs", 1000, 120_000) ?? 20_000,
    keepAliveSeconds: integer(raw, "keepAliveSeconds", 10, 690),
  };
}
