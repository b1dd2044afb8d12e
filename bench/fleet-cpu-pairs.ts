/**
 * CPU per device, this checkout against another build of the project, in back-to-back pairs: the
 * figure to compare on a shared machine, where wall time moves with everyone else's load.
 *
 * Each run is what `explorer-xs fleet` does: a fresh platform process (`dist/cli.js platform
 * --memory --no-log`) and a fleet process (bench/fleet-worker.ts: `runFleet` on the default
 * worker threads) booting COUNT factory-fresh devices. Per run it records the fleet process's CPU
 * (user + system, all threads, until the last device is online) and the platform process's CPU
 * over the whole run (from /proc, boots and disconnects included), each divided by the devices.
 * The two builds alternate (base first in odd pairs, this checkout first in even ones), or with
 * --together run at the same time, so that whatever else loads the machine loads both alike
 * (each then has about half the cores: compare CPU, not wall time). The verdict is the median
 * of the pairs' ratios, this checkout / base.
 *
 *   node --import tsx bench/fleet-cpu-pairs.ts --base DIR [--count 5000] [--pairs 3] [--together] [--ceiling] [--node-args="--flag ..."]
 *
 * DIR is another checkout with its own `dist/` built (`npm run build` there) and node_modules;
 * e.g. `git worktree add /tmp/base main`, link node_modules, build. Without --base both sides run
 * this checkout (the machine's own noise, pair to pair). --ceiling adds to each pair a run of
 * bare clients making the same exchanges as a device (bench/ceiling/bare-devices.mjs, exchanges
 * "device") against bare aedes and a constant-body HTTP server: the floor under both figures.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type { FleetReport, FleetTask } from "./fleet-worker";
import type { PlatformProcess, PlatformProcessOptions } from "../simulator/platform-process";
import { defaultWorkers } from "../simulator/commands/fleet";
import { cpuSecondsOf, runWorker, startServer } from "./lib/processes";

const HERE = dirname(fileURLToPath(import.meta.url));
const PRODUCT = { productId: "BENCHCPU01", productSecret: "benchCpuPairsSecretR7t2Vx9" };

interface RunFigures {
  build: "base" | "this";
  wallMs: number;
  online: number;
  fleetMsPerDevice: number;
  platformMsPerDevice: number;
  fleetPeakRssMb: number;
  platformPeakRssMb: number;
}

async function runOnce(root: string, build: RunFigures["build"], count: number, prefix: string, workDir: string, nodeArgs: string[]): Promise<RunFigures> {
  const { startPlatformProcess } = (await import(pathToFileURL(join(root, "simulator", "platform-process.ts")).href)) as
    { startPlatformProcess(options: PlatformProcessOptions): Promise<PlatformProcess> };
  // Both processes as that build's `explorer-xs fleet` runs them (builds before FLEET_NODE_ARGS: no options).
  const fleetModule = (await import(pathToFileURL(join(root, "simulator", "fleet.ts")).href)) as { FLEET_NODE_ARGS?: readonly string[]; FLEET_PLATFORM_NODE_ARGS?: readonly string[] };
  const names = Array.from({ length: count }, (_, index) => `${prefix}-${index}`);
  const platform = await startPlatformProcess({
    log: false,
    configFile: join(workDir, `${prefix}.json`),
    config: { products: [{ ...PRODUCT, dynamicRegistration: true, autoCreate: false, authType: "psk", devices: names }] },
    nodeArgs: [...(fleetModule.FLEET_PLATFORM_NODE_ARGS ?? []), ...nodeArgs],
  });
  try {
    const before = cpuSecondsOf(platform.child.pid) ?? NaN;
    const report = await runWorker<FleetTask, FleetReport>(join(root, "bench", "fleet-worker.ts"), {
      count, concurrency: 200, prefix, ...PRODUCT, workers: defaultWorkers(true), platformPid: platform.child.pid,
      registerUrl: `${platform.httpUrl}/device/register`, mqttUrl: platform.mqttUrl,
    }, 600_000, [...(fleetModule.FLEET_NODE_ARGS ?? []), ...nodeArgs]);
    const after = cpuSecondsOf(platform.child.pid) ?? NaN;
    return {
      build, wallMs: report.summary.wallMs, online: report.summary.online,
      fleetMsPerDevice: (1000 * report.cpuSeconds) / count,
      platformMsPerDevice: (1000 * (after - before)) / count,
      fleetPeakRssMb: report.summary.peakRssMb,
      platformPeakRssMb: report.summary.platformPeakRssMb ?? NaN,
    };
  } finally {
    await platform.stop();
  }
}

/**
 * The floor: bare clients making a device's first-online exchanges (bench/ceiling/bare-devices.mjs
 * with exchanges "device") against the constant-body HTTP server and bare aedes in one process.
 */
async function runCeiling(count: number): Promise<{ clientMsPerDevice: number; serverMsPerDevice: number; wallMs: number; done: number }> {
  const server = await startServer<{ httpUrl: string; mqttUrl: string }>(join(HERE, "ceiling", "bare-platform.ts"));
  try {
    const before = cpuSecondsOf(server.child.pid) ?? NaN;
    const report = await runWorker<object, { connected: number; wallMs: number; cpuSeconds: number }>(join(HERE, "ceiling", "bare-devices.mjs"),
      { httpUrl: server.ready.httpUrl, mqttUrl: server.ready.mqttUrl, count, concurrency: 200, workers: defaultWorkers(true), connectTimeoutMs: 10_000, exchanges: "device" }, 600_000);
    const after = cpuSecondsOf(server.child.pid) ?? NaN;
    return { clientMsPerDevice: (1000 * report.cpuSeconds) / count, serverMsPerDevice: (1000 * (after - before)) / count, wallMs: report.wallMs, done: report.connected };
  } finally {
    await server.stop();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { base: { type: "string" }, count: { type: "string", default: "5000" }, pairs: { type: "string", default: "3" }, together: { type: "boolean", default: false }, ceiling: { type: "boolean", default: false }, "node-args": { type: "string", default: "" } } });
  // Options for node itself on this checkout's side only (both processes), e.g. to try a V8 flag against the same build.
  const thisNodeArgs = values["node-args"]!.split(" ").filter(Boolean);
  const here = resolve(HERE, "..");
  const base = values.base !== undefined ? resolve(values.base) : here;
  const count = Number(values.count);
  const pairs = Number(values.pairs);
  const workDir = mkdtempSync(join(tmpdir(), "explorer-xs-cpu-pairs-"));
  const line = (text: string) => process.stdout.write(`${text}\n`);
  const show = (run: RunFigures) => `${run.build.padEnd(4)} fleet ${run.fleetMsPerDevice.toFixed(3)} ms + platform ${run.platformMsPerDevice.toFixed(3)} ms per device, ${run.online}/${count} online in ${(run.wallMs / 1000).toFixed(1)} s, peak RSS ${run.fleetPeakRssMb} + ${run.platformPeakRssMb} MB`;
  line(`base ${base}\nthis ${here}\n${count} devices, ${pairs} pairs, load ${(await import("node:os")).loadavg().map((n) => n.toFixed(1)).join(" ")}`);
  const ratios = { fleet: [] as number[], platform: [] as number[], both: [] as number[] };
  try {
    for (let pair = 0; pair < pairs; pair++) {
      const order: Array<["base" | "this", string]> = pair % 2 === 0 ? [["base", base], ["this", here]] : [["this", here], ["base", base]];
      const runs: Record<string, RunFigures> = {};
      const one = async ([build, root]: ["base" | "this", string]) => {
        const run = await runOnce(root, build, count, `c${pair}${build[0]}`, workDir, build === "this" ? thisNodeArgs : []);
        runs[build] = run;
        line(`pair ${pair + 1}: ${show(run)}`);
      };
      if (values.together) await Promise.all(order.map(one));
      else for (const side of order) await one(side);
      if (values.ceiling) {
        const floor = await runCeiling(count);
        line(`pair ${pair + 1}: bare clients with a device's exchanges: client ${floor.clientMsPerDevice.toFixed(3)} ms + server ${floor.serverMsPerDevice.toFixed(3)} ms per device, ${floor.done}/${count} done in ${(floor.wallMs / 1000).toFixed(1)} s`);
      }
      ratios.fleet.push(runs.this.fleetMsPerDevice / runs.base.fleetMsPerDevice);
      ratios.platform.push(runs.this.platformMsPerDevice / runs.base.platformMsPerDevice);
      ratios.both.push((runs.this.fleetMsPerDevice + runs.this.platformMsPerDevice) / (runs.base.fleetMsPerDevice + runs.base.platformMsPerDevice));
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  const fmt = (list: number[]) => `${median(list).toFixed(3)} (pairs ${list.map((n) => n.toFixed(2)).join(", ")})`;
  line(`this / base, CPU per device: fleet ${fmt(ratios.fleet)}; platform ${fmt(ratios.platform)}; both ${fmt(ratios.both)}`);
  line(`load at end ${(await import("node:os")).loadavg().map((n) => n.toFixed(1)).join(" ")}`);
}

await main();
