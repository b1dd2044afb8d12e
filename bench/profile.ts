/**
 * Where the fleet's time goes: runs one fleet of COUNT factory-fresh devices (as the fleet
 * section does: default worker threads, a platform process) with `node --cpu-prof` on both
 * processes, and prints each side's CPU profile summarised: self time by source file (bundled
 * code is attributed to its TypeScript or node_modules file through esbuild's `// path` module
 * markers), by function, and garbage collection. What BENCHMARKS.md quotes for every miss.
 *
 *   node --import tsx bench/profile.ts [COUNT]       (default 10000; profiles kept in a temp folder, path printed)
 *   node --import tsx bench/profile.ts --summarise FILE.cpuprofile...   (any profile, e.g. of
 *       `node --cpu-prof simulator/bin/explorer-xs.js device ... --once`)
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startPlatformProcess } from "../simulator/platform-process";
import { defaultWorkers } from "../simulator/commands/fleet";
import { FLEET_NODE_ARGS, FLEET_PLATFORM_NODE_ARGS } from "../simulator/fleet";
import type { FleetReport, FleetTask } from "./fleet-worker";
import { runWorker } from "./lib/processes";

const HERE = dirname(fileURLToPath(import.meta.url));
const PRODUCT = { productId: "BENCHPRF01", productSecret: "benchProfileSecretZ8w3Lk5M" };

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

/** For a bundled file, the module each line belongs to (esbuild writes `// path` before each module). */
const moduleMaps = new Map<string, Array<{ line: number; module: string }>>();
function moduleOf(url: string, line: number): string {
  if (!url) return "";
  if (url.startsWith("node:")) return "node: (built-ins)";
  const path = url.startsWith("file://") ? fileURLToPath(url) : url;
  if (!path.includes("/dist/")) {
    const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
    return inModules ? `node_modules/${inModules[1]}` : path.replace(/^.*?\/(firmware|hal|simulator|bench|xs)\//, "$1/");
  }
  let marks = moduleMaps.get(path);
  if (!marks) {
    marks = [];
    try {
      readFileSync(path, "utf8").split("\n").forEach((text, index) => {
        const match = /^\/\/ ((?:node_modules|firmware|hal|simulator|xs|bench)\/\S+)$/.exec(text);
        if (match) marks!.push({ line: index, module: match[1] });
      });
    } catch { /* gone */ }
    moduleMaps.set(path, marks);
  }
  let found = "dist (bundle glue)";
  for (const mark of marks) if (mark.line <= line) found = mark.module;
  const inModules = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(found);
  return inModules ? `node_modules/${inModules[1]}` : found;
}

function summarise(file: string, top = 14): string {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, index) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));
  let total = 0;
  let idle = 0;
  const byModule = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)") { idle += us; continue; }
    total += us;
    const module = functionName.startsWith("(") ? functionName : moduleOf(url, lineNumber) || "(native / V8)";
    byModule.set(module, (byModule.get(module) ?? 0) + us);
    const fn = `${functionName || "(anonymous)"} [${module}]`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  }
  const rank = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([name, us]) => `  ${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}`).join("\n");
  return [`${file}: ${(total / 1000).toFixed(0)} ms busy, ${(idle / 1000).toFixed(0)} ms idle`, " by file:", rank(byModule), " by function:", rank(byFunction)].join("\n");
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 10_000);
  const dir = mkdtempSync(join(tmpdir(), "explorer-xs-profile-"));
  for (const side of ["platform", "fleet"]) mkdirSync(join(dir, side));
  const names = Array.from({ length: count }, (_, index) => `p-${index}`);
  const platform = await startPlatformProcess({
    log: false, // as `explorer-xs fleet` runs its platform
    configFile: join(dir, "products.json"),
    config: { products: [{ ...PRODUCT, dynamicRegistration: true, autoCreate: false, authType: "psk", devices: names }] },
    nodeArgs: [...FLEET_PLATFORM_NODE_ARGS, "--cpu-prof", "--cpu-prof-dir", join(dir, "platform")],
  });
  let report: FleetReport;
  try {
    report = await runWorker<FleetTask, FleetReport>(join(HERE, "fleet-worker.ts"), {
      count, concurrency: 200, prefix: "p", ...PRODUCT, workers: defaultWorkers(true), platformPid: platform.child.pid,
      registerUrl: `${platform.httpUrl}/device/register`, mqttUrl: platform.mqttUrl,
    }, 300_000, [...FLEET_NODE_ARGS, "--cpu-prof", "--cpu-prof-dir", join(dir, "fleet")]);
  } finally {
    await platform.stop();
  }
  await new Promise((resolve) => setTimeout(resolve, 1000)); // the forked fleet process writes its profiles as it exits
  process.stdout.write(`${count} devices: ${report.summary.online} online in ${report.summary.wallMs} ms; fleet CPU ${report.cpuSeconds.toFixed(2)} s\n\n`);
  for (const side of ["platform", "fleet"]) {
    for (const file of readdirSync(join(dir, side)).filter((name) => name.endsWith(".cpuprofile")).sort()) {
      process.stdout.write(`== ${side}: ${summarise(join(dir, side, file))}\n\n`);
    }
  }
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  if (process.argv[2] === "--summarise") for (const file of process.argv.slice(3)) process.stdout.write(`${summarise(file, 25)}\n\n`);
  else await main();
}
