/**
 * One firmware image built with Moddable's own tools: mcconfig writes the makefile (and the
 * tsconfig it compiles each TypeScript module with), then this runs
 * - one tsc over every project module with that very tsconfig (the SDK's typings and mcconfig's
 *   module paths), which is `npm run typecheck:esp32` and fails fast;
 * - the manifest check (manifest-check.ts): no entry dropped or unresolved, no JSON pulled in;
 * - the makefile's own tsc -> xsc -> xsid -> xsl steps. For esp32 the build stops where ESP-IDF
 *   takes over (mc.xs.c and mc.resources.c are the XS side of the image); for lin it links the
 *   mc.so that Moddable's simulator runs.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { checkManifest, type ManifestFinding } from "./manifest-check";
import { REPO_ROOT, run, sdkEnv, type Log, type ModdableSdk, type Platform } from "./sdk";

export type { Platform };

export interface ImageOptions {
  sdk: ModdableSdk;
  platform: Platform;
  manifest: string;
  /** Output folder (mcconfig -o). */
  outDir: string;
  debug?: boolean;
  /** mcconfig command-line config overrides, name=value. */
  config?: Record<string, string>;
  /** Run only mcconfig and the typecheck (npm run typecheck:esp32). */
  typecheckOnly?: boolean;
  log?: Log;
}

export interface BuiltImage {
  /** mcconfig's temporary folder for this build (makefile, modules/, tsc/). */
  tmpDir: string;
  /** The linked image: mc.so for lin, mc.xs.c for esp32. */
  artifact: string;
  modulesDir: string;
  mcconfigWarnings: string[];
}

export class ImageBuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImageBuildError";
  }
}

function findTmpDir(outDir: string, platform: Platform, debug: boolean): string {
  // esp32: tmp/esp32/<debug|release>/<name>; lin: tmp/lin/mc/<debug|release>/<name>
  const base = platform === "lin" ? path.join(outDir, "tmp", "lin", "mc", debug ? "debug" : "release") : path.join(outDir, "tmp", platform, debug ? "debug" : "release");
  const names = existsSync(base) ? readdirSync(base).filter((name) => name !== "lib" && existsSync(path.join(base, name, "makefile"))) : [];
  if (names.length !== 1) throw new ImageBuildError(`mcconfig wrote no single makefile under ${base} (found ${names.join(", ") || "none"})`);
  return path.join(base, names[0]);
}

function makeVariable(makefile: string, name: string): string {
  const match = new RegExp(`^${name} = (.*)$`, "m").exec(readFileSync(makefile, "utf8"));
  if (!match) throw new ImageBuildError(`${name} is not set in ${makefile}`);
  return match[1].trim();
}

/** The project's TypeScript modules as mcconfig listed them (their per-file tsconfigs). */
function projectTypeScript(makefile: string): string[] {
  const sources = new Set<string>();
  for (const match of readFileSync(makefile, "utf8").matchAll(/^\$\(TMP_DIR\)\/tsc\/\S+ : (\S+\.ts) /gm)) sources.add(match[1]);
  return [...sources].sort();
}

async function typecheck(sdk: ModdableSdk, tmpDir: string, log: Log): Promise<void> {
  const makefile = path.join(tmpDir, "makefile");
  const files = projectTypeScript(makefile);
  const config = path.join(tmpDir, "typecheck-tsconfig.json");
  writeFileSync(config, JSON.stringify({
    extends: path.join(tmpDir, "modules", "tsconfig-base.json"),
    compilerOptions: { noEmit: true, rootDir: "/" },
    files,
  }, null, 2));
  log(`  tsc: ${files.length} modules against the SDK's typings (${path.relative(REPO_ROOT, config)})`);
  try {
    await run("tsc", ["-p", config], { env: sdkEnv(sdk) });
  } catch (error) {
    throw new ImageBuildError(`TypeScript errors against the Moddable SDK's typings:\n${(error as Error).message}`);
  }
}

export async function buildImage(options: ImageOptions): Promise<BuiltImage> {
  const { sdk, platform } = options;
  const debug = options.debug ?? false;
  const log = options.log ?? ((line) => console.log(line));
  const env = sdkEnv(sdk);
  mkdirSync(options.outDir, { recursive: true });

  const args = [...(debug ? ["-d"] : []), "-p", platform, "-o", options.outDir, options.manifest];
  for (const [name, value] of Object.entries(options.config ?? {})) args.push(`${name}=${value}`);
  log(`  mcconfig ${args.map((arg) => path.isAbsolute(arg) ? path.relative(REPO_ROOT, arg) : arg).join(" ")}`);
  let output: string;
  try {
    output = await run(path.join(sdk.bin, "mcconfig"), args, { cwd: REPO_ROOT, env });
  } catch (error) {
    throw new ImageBuildError(`mcconfig failed: ${(error as Error).message}`);
  }
  const mcconfigWarnings = output.split("\n").filter((line) => /^# warning|^### Error|^### Warning/i.test(line));
  const tmpDir = findTmpDir(options.outDir, platform, debug);
  const makefile = path.join(tmpDir, "makefile");

  const findings: ManifestFinding[] = checkManifest({ manifest: options.manifest, platform, makefile, mcconfigWarnings });
  if (findings.length > 0) {
    throw new ImageBuildError(`the manifest does not build as written:\n${findings.map((finding) => `  - ${finding.message}`).join("\n")}`);
  }
  await typecheck(sdk, tmpDir, log);
  const modulesDir = makeVariable(makefile, "MODULES_DIR");
  if (options.typecheckOnly) return { tmpDir, artifact: "", modulesDir, mcconfigWarnings };

  const makeArgs = ["-j2", "-f", makefile];
  let artifact: string;
  if (platform === "esp32") {
    // Only the XS half: the targets below need ESP-IDF's generated sdkconfig.h as a prerequisite,
    // never its content (-o: treat it as up to date); IDF_VERSION given so the makefile does not
    // ask git for one.
    const idf = ["IDF_PATH=" + path.join(tmpDir, "no-esp-idf"), "IDF_VERSION=none"];
    const sdkconfigH = (await run("make", ["-s", "-f", makefile, ...idf, "--eval", "print-%: ; @echo $($*)", "print-SDKCONFIG_H"], { cwd: tmpDir, env })).trim().split("\n").pop()!;
    makeArgs.push(...idf, "-o", sdkconfigH);
    artifact = path.join(tmpDir, "mc.xs.c");
    makeArgs.push(artifact, path.join(tmpDir, "mc.resources.c"));
  } else {
    // `build`, never the default target: that one also runs pkill and launches the simulator.
    artifact = path.join(makeVariable(makefile, "BIN_DIR"), "mc.so");
    makeArgs.push("build");
  }
  log(`  make: tsc -> xsc -> xsid -> xsl${platform === "lin" ? " -> cc -> mc.so" : " (stops where ESP-IDF takes over)"}`);
  try {
    await run("make", makeArgs, { cwd: tmpDir, env });
  } catch (error) {
    // mcconfig's rule leaves tsc's output behind when tsc reports errors; remove it so the next
    // build cannot mistake it for up to date.
    rmSync(path.join(tmpDir, "tsc"), { recursive: true, force: true });
    throw new ImageBuildError(`the ${platform} build failed: ${(error as Error).message}`);
  }
  if (!existsSync(artifact) || statSync(artifact).size === 0) throw new ImageBuildError(`make finished without ${artifact}`);
  return { tmpDir, artifact, modulesDir, mcconfigWarnings };
}
