/**
 * npm run build:esp32      the real manifest.json (or --manifest <file>, e.g. an example) for esp32 through tsc -> xsc -> xsid -> xsl
 *                          (Moddable's own makefile), stopping where ESP-IDF takes over; prints
 *                          the XS bytecode size per folder.
 * npm run typecheck:esp32  firmware/ and hal/esp32/ against the SDK's own typings, with the
 *                          tsconfig mcconfig generates for this manifest; without --manifest,
 *                          the examples too (examples/<name>/manifest.json: each app against the
 *                          module its data template generated).
 * Both use $MODDABLE, else the SDK built from EXPLORER_XS_MODDABLE_TARBALL or the vendored
 * tarball (vendor/moddable/) into .cache/moddable (tools/moddable/sdk.ts). Without an SDK they skip loudly, except in CI (CI=true), where that fails.
 */
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { buildImage, ImageBuildError } from "./image";
import { CACHE_DIR, isCi, locateSdk, REPO_ROOT, SdkChecksumError, SdkUnavailableError } from "./sdk";
import { bytecodeSizes, formatSizes } from "./sizes";

const USAGE = "usage: node --import tsx tools/moddable/cli.ts <build-esp32 | typecheck-esp32> [--manifest <manifest.json>]";

/** The example apps (examples/<name>/manifest.json), which typecheck:esp32 checks beside the board image. */
function exampleManifests(): string[] {
  const folder = path.join(REPO_ROOT, "examples");
  return readdirSync(folder).sort().map((name) => path.join(folder, name, "manifest.json")).filter((file) => existsSync(file));
}

/**
 * The manifests to build: the one --manifest names (relative to the working folder), else
 * manifest.json, and for typecheck-esp32 the examples after it.
 */
function manifestArguments(command: string, args: string[]): string[] | undefined {
  if (args.length === 0) return [path.join(REPO_ROOT, "manifest.json"), ...(command === "typecheck-esp32" ? exampleManifests() : [])];
  if (args.length === 2 && args[0] === "--manifest" && args[1].endsWith(".json")) return [path.resolve(args[1])];
  return undefined;
}

/** One output folder per manifest: the board image's stays where it always was. */
function outDirOf(manifest: string): string {
  return path.join(CACHE_DIR, "build", "esp32", ...(path.dirname(manifest) === REPO_ROOT ? [] : [path.relative(REPO_ROOT, path.dirname(manifest)).replace(/[\\/.]+/g, "-")]));
}

async function main(command: string | undefined, args: string[]): Promise<number> {
  const manifests = command === "build-esp32" || command === "typecheck-esp32" ? manifestArguments(command, args) : undefined;
  if (manifests === undefined) {
    console.error(USAGE);
    return 2;
  }
  const missing = manifests.find((manifest) => !existsSync(manifest));
  if (missing !== undefined) {
    console.error(`${command}: ${missing} does not exist`);
    return 2;
  }
  const started = Date.now();
  const sdk = await locateSdk();
  console.log(`moddable: SDK ${sdk.root} (${sdk.origin})`);
  if (command === "typecheck-esp32") {
    for (const manifest of manifests) {
      console.log(`typecheck:esp32: ${path.relative(REPO_ROOT, manifest)}`);
      await buildImage({ sdk, platform: "esp32", manifest, outDir: outDirOf(manifest), typecheckOnly: true });
    }
    console.log(`typecheck:esp32: no errors in ${manifests.length} manifest${manifests.length === 1 ? "" : "s"} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    return 0;
  }
  const [manifest] = manifests;
  const image = await buildImage({ sdk, platform: "esp32", manifest, outDir: outDirOf(manifest) });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`build:esp32: XS bytecode (with preloading) in ${path.relative(REPO_ROOT, image.modulesDir)}:`);
  console.log(formatSizes(bytecodeSizes(image.modulesDir, path.join(image.tmpDir, "makefile"))));
  console.log(`build:esp32: ${path.relative(REPO_ROOT, image.artifact)} linked in ${seconds} s`);
  return 0;
}

main(process.argv[2], process.argv.slice(3)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof SdkUnavailableError && !isCi()) {
      console.warn(`\n  !!! SKIPPED (${process.argv[2]}): ${error.message}\n`);
      process.exit(0);
    }
    console.error(error instanceof ImageBuildError || error instanceof SdkUnavailableError || error instanceof SdkChecksumError ? `${error.name}: ${error.message}` : error);
    process.exit(1);
  },
);
