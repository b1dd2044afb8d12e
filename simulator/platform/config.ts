/**
 * The products.json that seeds a platform: products and their pre-created devices. Seeding is
 * idempotent, so a restarted platform with a data folder keeps what devices did since.
 */
import { readFileSync } from "node:fs";
import { checkKeyPair } from "./cloud-api/credentials";
import { RegistryError, type AuthType, type Registry } from "./registry";

export interface DeviceSeed {
  deviceName: string;
  /** A PSK issued beforehand (one-device-one-secret), Base64. */
  psk?: string;
}

export interface ProductSeed {
  productId: string;
  productSecret: string;
  dynamicRegistration?: boolean;
  autoCreate?: boolean;
  authType?: AuthType;
  region?: string;
  devices?: Array<string | DeviceSeed>;
}

export interface PlatformConfig {
  products: ProductSeed[];
  /** The Cloud API's SecretId/SecretKey pair (issue 15); without it the platform makes one. */
  cloudApi?: { secretId: string; secretKey: string };
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

export function loadConfigFile(file: string): PlatformConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read ${file}: ${(error as Error).message}`);
  }
  if (text.length > MAX_CONFIG_BYTES) throw new ConfigError(`${file} is larger than ${MAX_CONFIG_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file} is not JSON: ${(error as Error).message}`);
  }
  return parseConfig(value, file);
}

export function parseConfig(value: unknown, source = "config"): PlatformConfig {
  if (typeof value !== "object" || value === null || !Array.isArray((value as { products?: unknown }).products)) {
    throw new ConfigError(`${source} must be {"products":[...]}`);
  }
  const cloudApi = (value as { cloudApi?: unknown }).cloudApi;
  if (cloudApi !== undefined) {
    try {
      checkKeyPair(typeof cloudApi === "object" && cloudApi !== null ? cloudApi : {}, `${source}: cloudApi`);
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
  }
  const products = (value as { products: unknown[] }).products;
  products.forEach((product, index) => {
    if (typeof product !== "object" || product === null) throw new ConfigError(`${source}: products[${index}] must be an object`);
    const devices = (product as { devices?: unknown }).devices;
    if (devices !== undefined && !Array.isArray(devices)) throw new ConfigError(`${source}: products[${index}].devices must be an array`);
  });
  return value as PlatformConfig;
}

/** Creates what the registry lacks; existing products and devices are left as they are. */
export function seedRegistry(registry: Registry, config: PlatformConfig, now = Date.now()): void {
  for (const [index, seed] of config.products.entries()) {
    try {
      if (!registry.getProduct(seed.productId)) registry.createProduct(seed, now);
      for (const entry of seed.devices ?? []) {
        const deviceSeed: DeviceSeed = typeof entry === "string" ? { deviceName: entry } : entry;
        if (registry.getDevice(seed.productId, deviceSeed.deviceName)) continue;
        registry.createDevice(seed.productId, deviceSeed.deviceName, { now });
        if (deviceSeed.psk !== undefined) {
          if (typeof deviceSeed.psk !== "string" || Buffer.from(deviceSeed.psk, "base64").length < 16) {
            throw new RegistryError("invalid", `psk of ${deviceSeed.deviceName} must be Base64 of at least 16 bytes`);
          }
          registry.setCredentials(seed.productId, deviceSeed.deviceName, { psk: deviceSeed.psk }, now);
        }
      }
    } catch (error) {
      if (error instanceof RegistryError) throw new ConfigError(`products[${index}] (${String(seed.productId)}): ${error.message}`);
      throw error;
    }
  }
}
