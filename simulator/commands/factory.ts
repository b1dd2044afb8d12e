/**
 * `explorer-xs factory --csv`: per-device factory data for a batch of ESP32 boards, as CSV files
 * for ESP-IDF's nvs_partition_gen.py (one CSV, hence one NVS image, per device).
 *
 *   key,type,encoding,value
 *   factory,namespace,,
 *   deviceName,data,string,<DeviceName>
 *   productId,data,string,<ProductId>            (when --product-id is given)
 *   productSecret,data,string,<ProductSecret>    (when --product-secret is given)
 *
 * The namespace and key names are hal/esp32/factory.ts's, which the firmware reads at boot; a
 * DeviceName written here wins over the manifest config. Every value is checked against the
 * device-info limits (docs/PROTOCOL.md §1) and NVS limits before anything is written.
 */
import type { Command } from "commander";
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileProblem, readInputFile, UsageError, writeSecretFile } from "../cli-errors";
import { validateDeviceInfo, LIMITS } from "../../firmware/device-info";
import { FACTORY_KEYS, FACTORY_NAMESPACE } from "../../hal/esp32/factory";
import { checkNvsName, checkNvsValue } from "../../hal/esp32/nvs-limits";
import { FACTORY_SEAL_KEY, STORAGE_KEY_BYTES } from "../../hal/esp32/storage-key";

export class FactoryInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FactoryInputError";
  }
}

export interface FactoryEntry {
  deviceName: string;
  productId?: string;
  productSecret?: string;
  /** The device's storage key (32 random bytes), written as factory/sealKey (docs/ESP32.md). */
  sealKey?: Uint8Array;
}

/** The largest batch one run writes (a bound, not a platform limit). */
export const MAX_BATCH = 100_000;

/** One DeviceName per line; blank lines and lines starting with # are skipped; duplicates refused. */
export function deviceNamesFromList(text: string): string[] {
  const names: string[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const name = raw.trim();
    if (name === "" || name.startsWith("#")) return;
    if (seen.has(name)) throw new FactoryInputError(`line ${index + 1}: DeviceName ${name} appears twice`);
    seen.add(name);
    names.push(name);
  });
  if (names.length === 0) throw new FactoryInputError("the device list holds no DeviceName");
  if (names.length > MAX_BATCH) throw new FactoryInputError(`the device list holds ${names.length} names; the limit is ${MAX_BATCH}`);
  return names;
}

/** <prefix><index>, the index zero-padded to the width of the last one (dev001 .. dev250). */
export function deviceNamesFromCount(count: number, prefix: string, start = 1): string[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_BATCH) throw new FactoryInputError(`--count must be an integer from 1 to ${MAX_BATCH}`);
  if (!Number.isInteger(start) || start < 0) throw new FactoryInputError("--start must be a non-negative integer");
  const width = String(start + count - 1).length;
  return Array.from({ length: count }, (_, i) => prefix + String(start + i).padStart(width, "0"));
}

/** Checks one entry as the firmware will (device-info rules, NVS limits); the message names the device. */
export function checkEntry(entry: FactoryEntry): void {
  try {
    // The secret may come from the manifest config instead; a stand-in satisfies the model's
    // "can this device register" rule without weakening the checks on what is written.
    validateDeviceInfo({
      productId: entry.productId ?? "PLACEHOLD0",
      deviceName: entry.deviceName,
      productSecret: entry.productSecret ?? "0".repeat(LIMITS.productSecretMin),
      authMode: "psk",
    });
    checkNvsName("namespace", FACTORY_NAMESPACE);
    for (const field of ["deviceName", "productId", "productSecret"] as const) {
      const value = entry[field];
      if (value === undefined) continue;
      checkNvsName("key", FACTORY_KEYS[field]);
      checkNvsValue(FACTORY_NAMESPACE, FACTORY_KEYS[field], value);
    }
  } catch (error) {
    throw new FactoryInputError(`device ${JSON.stringify(entry.deviceName)}: ${(error as Error).message}`);
  }
}

/** What makes a CSV field need quotes (RFC 4180), besides leading or trailing blanks. */
const CSV_SPECIAL = ['"', ",", "\r", "\n"];

/**
 * RFC 4180 quoting, which Python's csv module (used by nvs_partition_gen.py) reads back. No
 * regular expression holds a quote mark here: tools that read strings without knowing regex
 * literals took such a quote for an opening one, and the rest of the file for a string never closed.
 */
function csvField(value: string): string {
  const quoted = CSV_SPECIAL.some((special) => value.includes(special)) || value !== value.trim();
  return quoted ? '"' + value.replaceAll('"', '""') + '"' : value;
}

export function factoryCsv(entry: FactoryEntry): string {
  checkEntry(entry);
  const rows = [["key", "type", "encoding", "value"], [FACTORY_NAMESPACE, "namespace", "", ""]];
  rows.push([FACTORY_KEYS.deviceName, "data", "string", entry.deviceName]);
  if (entry.productId !== undefined) rows.push([FACTORY_KEYS.productId, "data", "string", entry.productId]);
  if (entry.productSecret !== undefined) rows.push([FACTORY_KEYS.productSecret, "data", "string", entry.productSecret]);
  if (entry.sealKey !== undefined) {
    if (entry.sealKey.length !== STORAGE_KEY_BYTES) throw new FactoryInputError(`device ${JSON.stringify(entry.deviceName)}: a seal key is ${STORAGE_KEY_BYTES} bytes`);
    rows.push([FACTORY_SEAL_KEY, "data", "hex2bin", Buffer.from(entry.sealKey).toString("hex")]);
  }
  return rows.map((row) => row.map(csvField).join(",")).join("\n") + "\n";
}

interface FactoryOptions {
  csv?: boolean;
  devices?: string;
  count?: string;
  prefix?: string;
  start?: string;
  productId?: string;
  productSecret?: string;
  sealKey?: boolean;
  out?: string;
  outDir?: string;
}

function parseInteger(name: string, text: string | undefined, fallback?: number): number {
  if (text === undefined) {
    if (fallback === undefined) throw new FactoryInputError(`${name} is required`);
    return fallback;
  }
  if (!/^\d+$/.test(text)) throw new FactoryInputError(`${name} must be a whole number, not ${JSON.stringify(text)}`);
  return Number(text);
}

/** Runs the command; returns the lines to print (never a secret). */
export function runFactory(options: FactoryOptions): string[] {
  if (!options.csv) throw new FactoryInputError("choose an output format: --csv (the only one so far)");
  if ((options.devices === undefined) === (options.count === undefined)) throw new FactoryInputError("give exactly one of --devices <file> or --count <n>");
  const names = options.devices !== undefined
    ? deviceNamesFromList(readInputFile(options.devices, "--devices"))
    : deviceNamesFromCount(parseInteger("--count", options.count), options.prefix ?? "", parseInteger("--start", options.start, 1));
  const entries = names.map((deviceName) => ({
    deviceName, productId: options.productId, productSecret: options.productSecret,
    // One key per device from Node's CSPRNG: the firmware then never draws or writes one.
    sealKey: options.sealKey ? new Uint8Array(randomBytes(STORAGE_KEY_BYTES)) : undefined,
  }));
  const csvs = entries.map((entry) => ({ name: entry.deviceName, text: factoryCsv(entry) }));

  if (options.out !== undefined && options.outDir !== undefined) throw new FactoryInputError("give --out or --out-dir, not both");
  if (options.outDir !== undefined) {
    try {
      mkdirSync(options.outDir, { recursive: true });
    } catch (error) {
      throw new FactoryInputError(`--out-dir ${options.outDir}: cannot make it a folder (${fileProblem(error)})`);
    }
    for (const csv of csvs) writeSecretFile(join(options.outDir, `${csv.name}.csv`), csv.text, "--out-dir");
    return [
      `wrote ${csvs.length} CSV file(s) to ${options.outDir} (namespace "${FACTORY_NAMESPACE}")`,
      `next, per device: python $IDF_PATH/components/nvs_flash/nvs_partition_generator/nvs_partition_gen.py generate <name>.csv <name>.bin 0x6000`,
      "(0x6000: the nvs partition size in your build's partitions.csv; see docs/ESP32.md)",
    ];
  }
  if (csvs.length !== 1) throw new FactoryInputError(`${csvs.length} devices: use --out-dir <dir> to write one CSV per device`);
  if (options.out !== undefined) {
    writeSecretFile(options.out, csvs[0].text, "--out");
    return [`wrote ${options.out} for ${csvs[0].name}`];
  }
  // Standard output ends up in terminals and CI logs: a ProductSecret or a seal key goes to a file only.
  if (options.productSecret !== undefined) throw new FactoryInputError("with --product-secret, write to a file: --out <file> or --out-dir <dir>");
  if (options.sealKey) throw new FactoryInputError("with --seal-key, write to a file: --out <file> or --out-dir <dir>");
  return [csvs[0].text.trimEnd()];
}

export function register(program: Command): void {
  program
    .command("factory")
    .description("per-device factory data (DeviceName, optionally ProductId/ProductSecret) as NVS CSV for ESP-IDF's nvs_partition_gen.py")
    .option("--csv", "write nvs_partition_gen.py CSV (key,type,encoding,value)")
    .option("--devices <file>", "device list: one DeviceName per line (# comments allowed)")
    .option("--count <n>", "generate n DeviceNames instead of reading a list")
    .option("--prefix <text>", "DeviceName prefix with --count", "")
    .option("--start <n>", "first index with --count", "1")
    .option("--product-id <id>", "ProductId to burn into every device (else the manifest config's)")
    .option("--product-secret <secret>", "ProductSecret to burn into every device (else the manifest config's)")
    .option("--seal-key", "a random 32-byte storage key per device (factory/sealKey), so the firmware never makes one (docs/ESP32.md)")
    .option("--out <file>", "write the CSV of a single device to this file (default: standard output)")
    .option("--out-dir <dir>", "write one <DeviceName>.csv per device into this directory")
    .action((options: FactoryOptions) => {
      try {
        for (const line of runFactory(options)) process.stdout.write(line + "\n");
      } catch (error) {
        if (error instanceof FactoryInputError) throw new UsageError(`factory: ${error.message}`);
        throw error;
      }
    });
}
