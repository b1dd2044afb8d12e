#!/usr/bin/env node
/**
 * Builds the JavaScript that `explorer-xs` runs: esbuild bundles of the CLI and of every entry
 * point that runs in its own thread or process (fleet workers, the XS lane's child), written to
 * dist/ with source maps, so no command transpiles TypeScript at start.
 *
 *   node scripts/build.mjs             build (what `npm ci` runs through `prepare`)
 *   node scripts/build.mjs --if-stale  build only when a source, a bundled dependency or this
 *                                      script changed since the last build (what `npm start`,
 *                                      `npm test`, mocha and the bench run first; a few ms)
 *
 * Plain JavaScript on purpose: it runs before anything is built, with node alone.
 *
 * Every output file lands directly in dist/ (code-split chunks included), one folder below the
 * repository, as the sources under simulator/ and xs/ are: `new URL("..", import.meta.url)`
 * names the repository root from either (simulator/paths.ts relies on it).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DIST = join(ROOT, "dist");
const INFO = join(DIST, "build-info.json");
const THIS_SCRIPT = fileURLToPath(import.meta.url);
const COMMANDS_DIR = join(ROOT, "simulator", "commands");
/** Resolved by simulator/cli.ts; replaced in the bundle by static imports of every command. */
const COMMAND_MODULES = join(ROOT, "simulator", "command-modules.ts");

/** Bundle entry -> source. Each runs as its own program (main thread, worker thread or child). */
const ENTRY_POINTS = {
  cli: "simulator/cli.ts",
  "fleet-worker": "simulator/fleet-worker.ts",
  "xs-child": "xs/child.ts",
};

/**
 * Left to node_modules at run time: native addons and what loads them (better-sqlite3), the XS
 * lane's engine packages (SES lockdown and the xsnap binary path must stay in their own
 * package), and esbuild itself (the XS lane bundles the core for xsnap when it starts).
 */
const EXTERNAL = ["better-sqlite3", "@endo/init", "@agoric/xsnap", "esbuild"];

/** Every `simulator/commands/*.ts`, as the module the bundle imports instead of the directory scan. */
function commandModulesSource() {
  const files = readdirSync(COMMANDS_DIR).filter((name) => name.endsWith(".ts")).sort();
  const imports = files.map((file, index) => `import * as command${index} from ${JSON.stringify(join(COMMANDS_DIR, file))};`);
  return `${imports.join("\n")}\nexport async function loadCommandModules() { return [${files.map((_, index) => `command${index}`).join(", ")}]; }\n`;
}

const staticCommandModules = {
  name: "static-command-modules",
  setup(build) {
    build.onLoad({ filter: /command-modules\.ts$/ }, (args) => {
      if (args.path !== COMMAND_MODULES) return undefined;
      return { contents: commandModulesSource(), loader: "ts", resolveDir: COMMANDS_DIR };
    });
  },
};

export async function build() {
  let esbuild;
  try {
    esbuild = await import("esbuild");
  } catch {
    throw new Error("esbuild is not installed: run `npm ci` (it is a devDependency the build needs)");
  }
  rmSync(DIST, { recursive: true, force: true });
  mkdirSync(DIST, { recursive: true });
  const started = performance.now();
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: ENTRY_POINTS,
    outdir: DIST,
    chunkNames: "chunk-[hash]",
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    sourcemap: "linked",
    sourcesContent: false,
    external: EXTERNAL,
    // Bundled CommonJS dependencies call require() for Node's built-ins.
    banner: { js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' },
    plugins: [staticCommandModules],
    metafile: true,
    logLevel: "warning",
  });
  const inputs = Object.keys(result.metafile.inputs).map((input) => join(ROOT, input));
  // A new command file appears in no input list: the commands folder's own mtime catches it.
  const watched = [...new Set([...inputs, THIS_SCRIPT, COMMANDS_DIR, join(ROOT, "package-lock.json")])].filter((path) => existsSync(path));
  const stamps = Object.fromEntries(watched.map((path) => [relative(ROOT, path), statSync(path).mtimeMs]));
  writeFileSync(INFO, JSON.stringify({ builtAt: new Date().toISOString(), esbuild: esbuild.version, stamps }, null, 1) + "\n");
  return { ms: Math.round(performance.now() - started), inputs: inputs.length };
}

/** Why dist/ must be rebuilt, or undefined when every recorded input is as it was built. */
export function staleReason() {
  let info;
  try {
    info = JSON.parse(readFileSync(INFO, "utf8"));
  } catch {
    return "not built yet";
  }
  for (const [path, mtimeMs] of Object.entries(info.stamps)) {
    let now;
    try {
      now = statSync(join(ROOT, path)).mtimeMs;
    } catch {
      return `${path} is gone`;
    }
    // Within a millisecond counts as unchanged: a timestamp restored through utimes or an
    // archive tool comes back rounded.
    if (Math.abs(now - mtimeMs) >= 1) return `${path} changed`;
  }
  for (const entry of Object.keys(ENTRY_POINTS)) {
    if (!existsSync(join(DIST, `${entry}.js`))) return `dist/${entry}.js is missing`;
  }
  return undefined;
}

/** Builds when stale; says why on stderr, so a rebuild in the middle of a command is never a mystery. */
export async function buildIfStale() {
  const reason = staleReason();
  if (reason === undefined) return false;
  const { ms } = await build();
  process.stderr.write(`explorer-xs: rebuilt dist/ (${reason}) in ${ms} ms\n`);
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    if (process.argv.includes("--if-stale")) await buildIfStale();
    else {
      const { ms, inputs } = await build();
      process.stderr.write(`explorer-xs: built dist/ from ${inputs} files in ${ms} ms\n`);
    }
  } catch (error) {
    process.stderr.write(`explorer-xs build failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}

export { DIST, ROOT };
