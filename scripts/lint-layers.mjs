#!/usr/bin/env node
/**
 * The layer rule (.dependency-cruiser.cjs, docs/ARCHITECTURE.md) run over the repository:
 *
 *   npm run lint:layers     prints each violation (rule, from → to) and exits 1 on any
 *
 * Through dependency-cruiser's API rather than its `depcruise` command: the command refuses to
 * start on Node 20 (dependency-cruiser 18 declares Node 22 or newer), which this project still
 * supports; the API it wraps runs on Node 20, and test/layers.test.ts runs this same function.
 *
 * Plain JavaScript, so it runs with node alone.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { cruise, format } from "dependency-cruiser";
import extractDepcruiseOptions from "dependency-cruiser/config-utl/extract-depcruise-options";
import extractTSConfig from "dependency-cruiser/config-utl/extract-ts-config";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Every first-party folder that holds code. */
export const LAYER_FOLDERS = ["firmware", "hal", "xs", "simulator", "tools", "bench", "test", "scripts"];

/**
 * Cruises `folders` under `root` with the rule set in `configFile` (both relative to `root`;
 * tsconfig.json there, when the config names it). Returns the violations and the report text.
 */
export async function cruiseLayers({ root = ROOT, configFile = ".dependency-cruiser.cjs", folders = LAYER_FOLDERS } = {}) {
  const options = await extractDepcruiseOptions(resolve(root, configFile));
  const tsConfigName = options.tsConfig?.fileName;
  const tsConfig = tsConfigName === undefined ? undefined : extractTSConfig(resolve(root, tsConfigName));
  const result = await cruise(folders, { ...options, baseDir: root, validate: true }, {}, { tsConfig });
  const { summary } = result.output;
  const report = await format(result.output, { outputType: "err-long" });
  return {
    violations: summary.violations.map((v) => ({ rule: v.rule.name, from: v.from, to: v.to, cycle: v.cycle?.map((step) => step.name) })),
    modules: result.output.modules.map((m) => m.source),
    report: report.output,
  };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { violations, report } = await cruiseLayers();
  process.stdout.write(report);
  process.exitCode = violations.length === 0 ? 0 : 1;
}
