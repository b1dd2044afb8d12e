/**
 * Bundles an XS entry (and the firmware core it imports) into one script that xsnap can
 * `evaluate`: no Node shims, `main` fields only (tweetnacl's browser/Node split stays out),
 * `crypto` aliased to an empty module, IIFE because `evaluate` runs a script, not a module.
 */
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

export const XS_DIR = fileURLToPath(new URL(".", import.meta.url));

export interface XsBundle {
  code: string;
  bytes: number;
}

export async function bundleForXs(entryPath: string): Promise<XsBundle> {
  const result = await build({
    entryPoints: [entryPath],
    bundle: true,
    write: false,
    platform: "neutral",
    mainFields: ["main"],
    format: "iife",
    target: "es2022",
    alias: { crypto: fileURLToPath(new URL("./empty.ts", import.meta.url)) },
    logLevel: "silent",
  });
  const code = result.outputFiles[0].text;
  return { code, bytes: Buffer.byteLength(code) };
}

/** Entry points shipped with the lane. */
export const ENTRIES = {
  /** The firmware core: bootDevice and the record store over the bridge Hal. */
  core: fileURLToPath(new URL("./entry.ts", import.meta.url)),
  /** The record store only (sealing and NVS layout, no network). */
  store: fileURLToPath(new URL("./store-entry.ts", import.meta.url)),
  /** The bridge runtime alone (baseline for sizes). */
  bridge: fileURLToPath(new URL("./bridge-entry.ts", import.meta.url)),
  /** Encoding and tweetnacl only: proves the engine before the core exists. */
  smoke: fileURLToPath(new URL("./smoke-entry.ts", import.meta.url)),
} as const;
