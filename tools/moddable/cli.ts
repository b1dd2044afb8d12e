/**
 * npm run build:esp32      the real manifest.json (or --manifest <file>, e.g. an example) for esp32 through tsc -> xsc -> xsid -> xsl
 *                          (Moddable's own makefile), stopping where ESP-IDF takes over; prints
 *                          the XS bytecode size per folder.
 * npm run typecheck:esp32  firmware/ and hal/esp32/ against the SDK's own typings, with the
 *                          tsconfig mcconfig generates for this manifest.
 * Both use $MODDABLE, else the SDK built from EXPLORER_XS_MODDABLE_TARBALL or the vendored
 * tarball (vendor/moddable/) into .cache/moddable (tools/moddable/sdk.ts). Without an SDK they skip loudly, except in CI (CI=true), where that fails.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { buildImage, ImageBuildError } from "./image";
import { CACHE_DIR, isCi, locateSdk, REPO_ROOT, SdkChecksumError, SdkUnavailableError } from "./sdk";
import { bytecodeSizes, formatSizes } from "./sizes";

const USAGE = "usage: node --import tsx tools/moddable/cli.ts <build-esp32 | typecheck-esp32> [--manifest <manifest.json>]";

/** The manifest to build: manifest.json, or the one --manifest names (relative to the working folder). */
function manifestArgument(args: string[]): string | undefined {
  if (args.length === 0) return path.join(REPO_ROOT, "manifest.json");
  if (args.length === 2 && args[0] === "--manifest" && args[1].endsWith(".json")) return path.resolve(args[1]);
  return undefined;
}

async function main(command: string | undefined, args: string[]): Promise<number> {
  const manifest = manifestArgument(args);
  if ((command !== "build-esp32" && command !== "typecheck-esp32") || manifest === undefined) {
    console.error(USAGE);
    return 2;
  }
  if (!existsSync(manifest)) {
    console.error(`${command}: ${manifest} does not exist`);
    return 2;
  }
  const started = Date.now();
  const sdk = await locateSdk();
  console.log(`moddable: SDK ${sdk.root} (${sdk.origin})`);
  const typecheckOnly = command === "typecheck-esp32";
  const image = await buildImage({
    sdk,
    platform: "esp32",
    manifest,
    // One output folder per manifest: the board image's stays where it always was.
    outDir: path.join(CACHE_DIR, "build", "esp32", ...(path.dirname(manifest) === REPO_ROOT ? [] : [path.relative(REPO_ROOT, path.dirname(manifest)).replace(/[\\/.]+/g, "-")])),
    typecheckOnly,
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (typecheckOnly) {
    console.log(`typecheck:esp32: no errors (${seconds} s)`);
    return 0;
  }
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
