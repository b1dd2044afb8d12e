/**
 * The products.json that seeds a platform: products and their pre-created devices. Seeding is
 * idempotent, so a restarted platform with a data folder keeps what devices did since.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { checkKeyPair } from "./cloud-api/credentials";
import { RegistryError, type AuthType, type Registry } from "./registry";
import { ProductTemplates } from "./thing-model/store";
import { parseTemplateText, TemplateError, TEMPLATE_LIMITS } from "./thing-model/template";

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
  /**
   * The product's data template (issue 24): Tencent's JSON inline, or the path of a file holding
   * it (relative to the config file); parseConfig replaces a path with the file's text.
   */
  dataTemplate?: object | string;
}

export interface PlatformConfig {
  products: ProductSeed[];
  /** The Cloud API's SecretId/SecretKey pair (issue 15); without it the platform makes one. */
  cloudApi?: { secretId: string; secretKey: string };
  /** The registry in PostgreSQL (postgres://user:password@host:port/database) instead of SQLite (issue 21). */
  postgres?: string;
  /** Platform nodes sharing this Redis (redis://...) and the PostgreSQL registry act as one (issue 21). */
  redis?: string;
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
  return parseConfig(value, file, dirname(resolve(file)));
}

/** Reads a template file named in products.json; its text is validated when seeded. */
function readTemplateFile(path: string, baseDir: string, field: string): string {
  const file = resolve(baseDir, path);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(`${field}: cannot read ${file}: ${(error as Error).message}`);
  }
  if (Buffer.byteLength(text, "utf8") > TEMPLATE_LIMITS.bytes) throw new ConfigError(`${field}: ${file} is larger than ${TEMPLATE_LIMITS.bytes} bytes`);
  return text;
}

/** `baseDir` resolves template file paths (the config file's folder; the working folder for an inline config). */
export function parseConfig(value: unknown, source = "config", baseDir = process.cwd()): PlatformConfig {
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
  const postgres = (value as { postgres?: unknown }).postgres;
  if (postgres !== undefined && (typeof postgres !== "string" || !/^postgres(ql)?:\/\//.test(postgres))) {
    throw new ConfigError(`${source}: postgres must be a URL postgres://user:password@host:port/database`);
  }
  const redis = (value as { redis?: unknown }).redis;
  if (redis !== undefined && (typeof redis !== "string" || !/^rediss?:\/\//.test(redis))) {
    throw new ConfigError(`${source}: redis must be a URL redis://[:password@]host:port[/db]`);
  }
  const products = (value as { products: unknown[] }).products;
  products.forEach((product, index) => {
    if (typeof product !== "object" || product === null) throw new ConfigError(`${source}: products[${index}] must be an object`);
    const devices = (product as { devices?: unknown }).devices;
    if (devices !== undefined && !Array.isArray(devices)) throw new ConfigError(`${source}: products[${index}].devices must be an array`);
    const template = (product as { dataTemplate?: unknown }).dataTemplate;
    if (template !== undefined && typeof template !== "string" && (typeof template !== "object" || template === null || Array.isArray(template))) {
      throw new ConfigError(`${source}: products[${index}].dataTemplate must be a template object or the path of a template file`);
    }
  });
  // Template paths become the files' text; the caller's object is left as it was.
  return {
    ...(value as PlatformConfig),
    products: (products as ProductSeed[]).map((product, index) => typeof product.dataTemplate === "string"
      ? { ...product, dataTemplate: readTemplateFile(product.dataTemplate, baseDir, `${source}: products[${index}].dataTemplate`) }
      : product),
  };
}

/** Creates what the registry lacks; existing products and devices are left as they are. */
export async function seedRegistry(registry: Registry, config: PlatformConfig, now = Date.now()): Promise<void> {
  const templates = new ProductTemplates(registry);
  for (const [index, seed] of config.products.entries()) {
    try {
      if (!await registry.getProduct(seed.productId)) await registry.createProduct(seed, now);
      // Like products and devices, a template is seeded once: one set since (Cloud API, console) stays.
      // A malformed one is refused even then, so a bad products.json never passes unnoticed.
      if (seed.dataTemplate !== undefined) {
        if (!await templates.stored(seed.productId)) await templates.set(seed.productId, seed.dataTemplate, now);
        else parseTemplateText(typeof seed.dataTemplate === "string" ? seed.dataTemplate : JSON.stringify(seed.dataTemplate));
      }
      for (const entry of seed.devices ?? []) {
        const deviceSeed: DeviceSeed = typeof entry === "string" ? { deviceName: entry } : entry;
        if (await registry.getDevice(seed.productId, deviceSeed.deviceName)) continue;
        await registry.createDevice(seed.productId, deviceSeed.deviceName, { now });
        if (deviceSeed.psk !== undefined) {
          if (typeof deviceSeed.psk !== "string" || Buffer.from(deviceSeed.psk, "base64").length < 16) {
            throw new RegistryError("invalid", `psk of ${deviceSeed.deviceName} must be Base64 of at least 16 bytes`);
          }
          await registry.setCredentials(seed.productId, deviceSeed.deviceName, { psk: deviceSeed.psk }, now);
        }
      }
    } catch (error) {
      if (error instanceof RegistryError) throw new ConfigError(`products[${index}] (${String(seed.productId)}): ${error.message}`);
      if (error instanceof TemplateError) throw new ConfigError(`products[${index}] (${String(seed.productId)}): dataTemplate.${error.message} (${error.code})`);
      throw error;
    }
  }
}
