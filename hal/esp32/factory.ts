/**
 * Factory data: where ProductId, ProductSecret and DeviceName come from on an ESP32.
 *
 * Precedence, per field: the per-device value written at the factory into the NVS namespace
 * "factory" (an nvs_partition_gen.py image made by `explorer-xs factory --csv`), then the
 * manifest `config` (overridable on the mcconfig command line), then, for DeviceName only and
 * only when config.deviceNameRule is "mac", <prefix><MAC without colons>. The simulator's
 * factory command imports these names, so both sides agree on the NVS layout.
 * Engine-neutral: the Node tests run it against a fake flash.
 */
import type { KeyValueFlash } from "../../firmware/contracts";
import { validateDeviceInfo, type DeviceInfo } from "../../firmware/device-info";
import { DeviceInfoError } from "../../firmware/errors";

export const FACTORY_NAMESPACE = "factory";

/** NVS key names (at most 15 characters) of the factory namespace. */
export const FACTORY_KEYS = {
  productId: "productId",
  productSecret: "productSecret",
  deviceName: "deviceName",
  region: "region",
  /** "psk" (key products) or "cert" (certificate products): what the registration returns. */
  authMode: "authMode",
} as const;

export type FactoryField = keyof typeof FACTORY_KEYS;

/**
 * Optional per-device endpoints in the same namespace: a fleet on a private deployment, or a
 * bench board pointed at the mock platform, without rebuilding the image. Absent: the manifest
 * config, then the core's defaults.
 */
export const FACTORY_ENDPOINT_KEYS = {
  registerUrl: "registerUrl",
  mqttUrl: "mqttUrl",
} as const;

export type FactoryEndpoint = keyof typeof FACTORY_ENDPOINT_KEYS;
export type FieldSource = "factory" | "config" | "mac";

/** The subset of the manifest `config` this module reads. */
export interface DeviceConfig {
  productId?: string;
  productSecret?: string;
  deviceName?: string;
  /** "config" (default): DeviceName must come from the factory or config; "mac": derive it. */
  deviceNameRule?: "config" | "mac";
  deviceNamePrefix?: string;
  region?: string;
  /** The product's authentication type; default "psk". */
  authMode?: string;
}

export interface ResolvedDeviceInfo {
  info: DeviceInfo;
  sources: Partial<Record<FactoryField, FieldSource>>;
}

const MAC_PATTERN = /^([0-9A-Fa-f]{2})(?::([0-9A-Fa-f]{2})){5}$/;

/** "A4:D1:8C:DB:C0:20" with prefix "dev-" gives "dev-A4D18CDBC020" (upper case, no colons). */
export function deviceNameFromMac(prefix: string, mac: string): string {
  if (typeof mac !== "string" || !MAC_PATTERN.test(mac)) {
    throw new DeviceInfoError("deviceName", `cannot derive a DeviceName from MAC ${JSON.stringify(mac)}`);
  }
  return prefix + mac.replace(/:/g, "").toUpperCase();
}

function factoryText(flash: KeyValueFlash, field: FactoryField | FactoryEndpoint): string | undefined {
  const key = field in FACTORY_KEYS ? FACTORY_KEYS[field as FactoryField] : FACTORY_ENDPOINT_KEYS[field as FactoryEndpoint];
  const value = flash.get(FACTORY_NAMESPACE, key);
  if (value === undefined) return undefined;
  if (typeof value !== "string") {
    throw new DeviceInfoError(field, `factory NVS ${FACTORY_NAMESPACE}/${key} must be a string, found ${typeof value}`);
  }
  return value === "" ? undefined : value;
}

/** Each endpoint from the factory namespace when present there, else from the config. */
export function resolveFactoryEndpoints(
  flash: KeyValueFlash,
  config: { registerUrl?: string; mqttUrl?: string },
): { registerUrl?: string; mqttUrl?: string } {
  return {
    registerUrl: factoryText(flash, "registerUrl") ?? configText(config.registerUrl),
    mqttUrl: factoryText(flash, "mqttUrl") ?? configText(config.mqttUrl),
  };
}

function configText(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/**
 * The factory device info for a device with no record yet: validated (docs/PROTOCOL.md §1
 * limits), with no secret and the product's auth mode (PSK unless the factory or config says
 * "cert"), so the core registers dynamically and expects the credential type the platform will
 * send. `mac` is called only when the
 * DeviceName has to be derived.
 */
export function resolveFactoryDeviceInfo(flash: KeyValueFlash, config: DeviceConfig, mac: () => string): ResolvedDeviceInfo {
  const sources: Partial<Record<FactoryField, FieldSource>> = {};
  const pick = (field: FactoryField, fromConfig: unknown): string | undefined => {
    const fromFactory = factoryText(flash, field);
    if (fromFactory !== undefined) {
      sources[field] = "factory";
      return fromFactory;
    }
    const text = configText(fromConfig);
    if (text !== undefined) sources[field] = "config";
    return text;
  };
  const productId = pick("productId", config.productId);
  const productSecret = pick("productSecret", config.productSecret);
  const region = pick("region", config.region);
  const authMode = pick("authMode", config.authMode) ?? "psk";
  let deviceName = pick("deviceName", config.deviceName);
  if (deviceName === undefined && config.deviceNameRule === "mac") {
    deviceName = deviceNameFromMac(config.deviceNamePrefix ?? "", mac());
    sources.deviceName = "mac";
  }
  const info = validateDeviceInfo({
    productId: productId ?? "",
    deviceName: deviceName ?? "",
    productSecret,
    authMode: authMode as DeviceInfo["authMode"],
    region,
  });
  return { info, sources };
}
