/**
 * Where the Moddable SDK comes from for `npm run build:esp32`, `typecheck:esp32` and the
 * Moddable lane:
 * 1. `$MODDABLE`, a user's own SDK with its host tools built (Moddable's Linux setup);
 * 2. else the SDK source tarball named by EXPLORER_XS_MODDABLE_TARBALL, or by default the one
 *    vendored in this repository (vendor/moddable/), checked against the SHA256SUMS beside it,
 *    extracted into `.cache/moddable/` (ignored by git), its host tools and the `mcsim`
 *    simulator built there once and reused while the tarball is the same;
 * 3. else (no tarball at all, e.g. a checkout without vendor/) a copy already in
 *    `.cache/moddable/` from an earlier run.
 * Without any of them the caller skips loudly, or fails in CI (CI=true). A tarball whose
 * checksum does not match always fails: it is not the SDK this repository was tested with.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

export const REPO_ROOT = path.resolve(import.meta.dirname, "..", "..");
export const CACHE_DIR = path.join(REPO_ROOT, ".cache", "moddable");
/** The vendored SDK source: its tarball, SHA256SUMS, licences and README (how to refresh it). */
export const VENDOR_DIR = path.join(REPO_ROOT, "vendor", "moddable");
const READY_MARKER = ".explorer-xs-ready";

export interface ModdableSdk {
  /** The SDK folder ($MODDABLE). */
  root: string;
  /** Its host tools: mcconfig, xsc, xsl, mcsim... */
  bin: string;
  origin: "MODDABLE" | "tarball" | "cache";
}

export class SdkUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SdkUnavailableError";
  }
}

/** The tarball is not the one its SHA256SUMS names (corrupt, truncated, or swapped). */
export class SdkChecksumError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SdkChecksumError";
  }
}

export type Log = (line: string) => void;

/** The mcconfig platforms this project builds for (image.ts builds them, manifest-check.ts checks their manifests). */
export type Platform = "esp32" | "lin";

/** Runs a command, streaming nothing; rejects with its last output lines on failure. */
export function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const collect = (chunk: Buffer) => {
      output += chunk.toString("utf8");
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === 0) return resolve(output);
      const tail = output.trimEnd().split("\n").slice(-40).join("\n");
      reject(new Error(`${command} ${args.join(" ")} failed (${signal ?? `exit ${code}`}):\n${tail}`));
    });
  });
}

export function sdkEnv(sdk: ModdableSdk): NodeJS.ProcessEnv {
  return {
    ...process.env,
    MODDABLE: sdk.root,
    XS_DIR: path.join(sdk.root, "xs"),
    BUILD_DIR: path.join(sdk.root, "build"),
    // tsc is this repository's TypeScript; the SDK's tools come next.
    PATH: [path.join(REPO_ROOT, "node_modules", ".bin"), sdk.bin, process.env.PATH ?? ""].join(path.delimiter),
  };
}

function toolsOf(root: string): string {
  return path.join(root, "build", "bin", "lin", "release");
}

function hasTools(root: string, withSimulator: boolean): boolean {
  const bin = toolsOf(root);
  return ["mcconfig", "xsc", "xsid", "xsl"].every((tool) => existsSync(path.join(bin, tool))) &&
    (!withSimulator || existsSync(path.join(bin, "mcsim")));
}

function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(file).on("data", (chunk) => hash.update(chunk)).on("error", reject).on("end", () => resolve(hash.digest("hex")));
  });
}

/** The digest SHA256SUMS (sha256sum's format: "<hex>  <name>") gives for `name`, if any. */
export function expectedDigest(sumsFile: string, name: string): string | undefined {
  for (const line of readFileSync(sumsFile, "utf8").split("\n")) {
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line.trim());
    if (match && match[2] === name) return match[1];
  }
  return undefined;
}

/**
 * The tarball's SHA-256, checked against the SHA256SUMS beside it. Required for the vendored
 * tarball; a tarball named by EXPLORER_XS_MODDABLE_TARBALL is checked when a SHA256SUMS lies beside it.
 */
export async function verifiedDigest(tarball: string, options: { requireSums: boolean }): Promise<string> {
  const digest = await sha256File(tarball);
  const sums = path.join(path.dirname(tarball), "SHA256SUMS");
  if (!existsSync(sums)) {
    if (options.requireSums) throw new SdkChecksumError(`${sums} is missing: the vendored SDK tarball cannot be checked`);
    return digest;
  }
  const expected = expectedDigest(sums, path.basename(tarball));
  if (expected === undefined) throw new SdkChecksumError(`${sums} lists no checksum for ${path.basename(tarball)}`);
  if (expected !== digest) throw new SdkChecksumError(`${tarball} has SHA-256 ${digest}, but ${sums} says ${expected}: refusing to build from it`);
  return digest;
}

/** The newest moddable-sdk-*-src.tar.gz in the vendor folder, if any. */
export function vendoredTarball(dir = VENDOR_DIR): string | undefined {
  if (!existsSync(dir)) return undefined;
  const names = readdirSync(dir).filter((name) => /^moddable-sdk-.+-src\.tar\.gz$/.test(name)).sort();
  return names.length > 0 ? path.join(dir, names[names.length - 1]) : undefined;
}

/** Builds the host tools (never the makefile's default target: it also runs pkill) and mcsim. */
async function buildHostTools(root: string, log: Log): Promise<void> {
  const sdk: ModdableSdk = { root, bin: toolsOf(root), origin: "tarball" };
  const env = sdkEnv(sdk);
  const makefiles = path.join(root, "build", "makefiles", "lin");
  const jobs = "-j2";
  for (const file of ["xsc", "xsid", "xsl"]) {
    log(`  make ${file}`);
    await run("make", [jobs, "GOAL=release", "-f", path.join(root, "xs", "makefiles", "lin", `${file}.mk`)], { cwd: makefiles, env });
  }
  for (const file of ["serial2xsbug", "tools"]) {
    log(`  make ${file}`);
    await run("make", [jobs, "GOAL=release", "-f", `${file}.mk`], { cwd: makefiles, env });
  }
  log("  mcconfig -m -p x-lin tools/mcsim/manifest.json (the simulator)");
  await run(path.join(sdk.bin, "mcconfig"), ["-m", "-p", "x-lin", path.join(root, "tools", "mcsim", "manifest.json")], { cwd: root, env });
}

async function fromTarball(tarball: string, log: Log, options: { requireSums: boolean; cacheDir: string }): Promise<ModdableSdk> {
  if (!existsSync(tarball)) throw new SdkUnavailableError(`EXPLORER_XS_MODDABLE_TARBALL names ${tarball}, which does not exist`);
  const digest = (await verifiedDigest(tarball, options)).slice(0, 16);
  const root = path.join(options.cacheDir, `sdk-${digest}`);
  if (existsSync(path.join(root, READY_MARKER)) && hasTools(root, true)) return { root, bin: toolsOf(root), origin: "tarball" };

  const started = Date.now();
  log(`moddable: extracting ${path.basename(tarball)} into ${path.relative(REPO_ROOT, root)} and building its host tools (once)`);
  const staging = `${root}.partial`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  await run("tar", ["-xzf", tarball, "-C", staging]);
  // A tarball with one top folder, or the SDK's folders at its top.
  const entries = readdirSync(staging);
  const top = entries.length === 1 && !existsSync(path.join(staging, "xs")) ? path.join(staging, entries[0]) : staging;
  rmSync(root, { recursive: true, force: true });
  renameSync(top, root);
  if (top !== staging) rmSync(staging, { recursive: true, force: true });
  await buildHostTools(root, log);
  writeFileSync(path.join(root, READY_MARKER), `${new Date().toISOString()} ${tarball}\n`);
  log(`moddable: SDK ready in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return { root, bin: toolsOf(root), origin: "tarball" };
}

function fromCache(cacheDir: string): ModdableSdk | undefined {
  if (!existsSync(cacheDir)) return undefined;
  for (const name of readdirSync(cacheDir).sort()) {
    const root = path.join(cacheDir, name);
    if (name.startsWith("sdk-") && existsSync(path.join(root, READY_MARKER)) && hasTools(root, true)) {
      return { root, bin: toolsOf(root), origin: "cache" };
    }
  }
  return undefined;
}

/** The SDK to build with, or SdkUnavailableError saying why there is none. */
export async function locateSdk(options: {
  env?: NodeJS.ProcessEnv;
  log?: Log;
  needSimulator?: boolean;
  /** Where the vendored tarball lives (tests point it elsewhere); default vendor/moddable. */
  vendorDir?: string;
  /** Where SDKs are extracted; default .cache/moddable. */
  cacheDir?: string;
} = {}): Promise<ModdableSdk> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line) => console.log(line));
  if (env.MODDABLE) {
    const root = path.resolve(env.MODDABLE);
    if (!hasTools(root, options.needSimulator ?? false)) {
      throw new SdkUnavailableError(
        `MODDABLE=${root} has no host tools in build/bin/lin/release${options.needSimulator ? " (mcconfig, xsc, xsid, xsl and mcsim)" : " (mcconfig, xsc, xsid, xsl)"}: build them as Moddable's Linux guide says (docs/ESP32.md)`,
      );
    }
    return { root, bin: toolsOf(root), origin: "MODDABLE" };
  }
  const cacheDir = options.cacheDir ?? CACHE_DIR;
  if (env.EXPLORER_XS_MODDABLE_TARBALL) return fromTarball(path.resolve(env.EXPLORER_XS_MODDABLE_TARBALL), log, { requireSums: false, cacheDir });
  const vendored = vendoredTarball(options.vendorDir);
  if (vendored) return fromTarball(vendored, log, { requireSums: true, cacheDir });
  const cached = fromCache(cacheDir);
  if (cached) return cached;
  throw new SdkUnavailableError(
    "no Moddable SDK: set MODDABLE to an SDK with its host tools built, or EXPLORER_XS_MODDABLE_TARBALL to the SDK source tarball (vendor/moddable/ holds one in a full checkout)",
  );
}

/** In CI a missing SDK fails; elsewhere the caller skips with this reason, loudly. */
export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI === "true" || env.CI === "1";
}
