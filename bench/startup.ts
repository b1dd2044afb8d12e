/**
 * Start-up section of the benchmarks (issue 16 item 1): whole processes, timed from spawn to
 * exit, in back-to-back pairs whose order alternates, so machine noise hits both sides alike.
 *
 * - `explorer-xs --help` (the installed bin, compiled CLI) vs `node -e ''`: goal within 2×;
 * - a cold device as a whole process, `explorer-xs device --once` (register, seal the secret
 *   into a flash file with fsync, CONNECT, SUBSCRIBE, first report acknowledged), vs
 *   - the in-repo ceiling bench/ceiling/bare-device.mjs: bare Node, one signed HTTP POST and
 *     one MQTT.js CONNECT (goal: ours within 2× of it, ratio >= 0.5),
 *   - Tencent's Python device SDK doing registration and login
 *     (bench/python/tencent_sdk_cold_boot.py; goal: ours at most 0.5× of it), skipped with the
 *     script's reason where the SDK is not installed.
 * All against one platform process started beforehand (a product with auto-create, so every
 * run registers a new device).
 *
 * Prints one JSON SectionOutput on stdout. Run: node --import tsx bench/startup.ts
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startPlatformProcess } from "../simulator/platform-process";
import type { BenchRow, SectionOutput } from "./lib/row";
import { median, round, spread } from "./lib/stats";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..");
const BIN = join(ROOT, "simulator", "bin", "explorer-xs.js");
const QUICK = process.env.BENCH_QUICK === "1";
const PAIRS = QUICK ? 2 : 9;
const WARMUP = 1;
const PYTHON = process.env.PYTHON ?? "python3";
const PRODUCT = { productId: "BENCHSTA01", productSecret: "benchStartupSecretK3m9Tq2V" };
const PYTHON_SKIPPED = 3;

interface Timed { ms: number; code: number | null; stderr: string }

function timeProcess(command: string, args: string[]): Promise<Timed> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr = (stderr + chunk).slice(-2000)));
    child.once("error", (error) => resolve({ ms: Number.NaN, code: -1, stderr: error.message }));
    child.once("close", (code) => resolve({ ms: performance.now() - started, code, stderr }));
  });
}

function must(result: Timed, what: string): number {
  if (result.code !== 0) throw new Error(`${what} exited ${result.code}: ${result.stderr.trim().slice(-400)}`);
  return result.ms;
}

/** Runs `a` and `b` PAIRS times back to back, alternating which goes first; `make` gets the run index. */
async function pairs(make: (run: number) => { a: () => Promise<number>; b: () => Promise<number> }): Promise<{ a: number[]; b: number[] }> {
  const a: number[] = [];
  const b: number[] = [];
  for (let run = 0; run < WARMUP + PAIRS; run++) {
    const pair = make(run);
    const [first, second] = run % 2 === 0 ? [pair.a, pair.b] : [pair.b, pair.a];
    const x = await first();
    const y = await second();
    if (run < WARMUP) continue;
    if (run % 2 === 0) { a.push(x); b.push(y); } else { a.push(y); b.push(x); }
  }
  return { a, b };
}

const pairRatios = (figures: number[], ceilings: number[]) => figures.map((figure, index) => figure / ceilings[index]);

export async function runStartupBench(): Promise<SectionOutput> {
  const dir = mkdtempSync(join(tmpdir(), "explorer-xs-bench-startup-"));
  const platform = await startPlatformProcess({
    configFile: join(dir, "products.json"),
    config: { products: [{ ...PRODUCT, dynamicRegistration: true, autoCreate: true, authType: "psk", devices: [] }] },
  });
  try {
    const rows: BenchRow[] = [];

    // --help vs node -e ''
    const help = await pairs(() => ({
      a: async () => must(await timeProcess(process.execPath, [BIN, "--help"]), "explorer-xs --help"),
      b: async () => must(await timeProcess(process.execPath, ["-e", ""]), "node -e ''"),
    }));
    const helpRatio = median(pairRatios(help.a, help.b));
    const helpStats = spread(help.a, 0);
    const nodeStats = spread(help.b, 0);
    rows.push({
      section: "startup", name: "`explorer-xs --help` (compiled CLI, whole process)", unit: "ms",
      figure: helpStats.median, spread: helpStats,
      ceiling: { name: "node -e ''", figure: nodeStats.median, spread: nodeStats },
      ratio: round(1 / helpRatio, 2), goal: "within 2× of node -e '' (ratio >= 0.5)", pass: helpRatio <= 2,
      note: `${round(helpRatio, 2)}× node -e '' (median of ${PAIRS} alternating pairs)`,
    });

    // cold device as a whole process vs the bare Node client
    const deviceInfo = (name: string) => {
      const file = join(dir, `${name}.json`);
      writeFileSync(file, JSON.stringify({ auth_mode: "KEY", ...PRODUCT, deviceName: name }));
      return file;
    };
    const cold = await pairs((run) => ({
      a: async () => must(await timeProcess(process.execPath, [BIN, "device", "--flash", join(dir, `ours-${run}.flash`), "--device-info", deviceInfo(`ours-${run}`), "--platform", platform.httpUrl, "--mqtt", platform.mqttUrl, "--once"]), "explorer-xs device --once"),
      b: async () => must(await timeProcess(process.execPath, [join(HERE, "ceiling", "bare-device.mjs"), platform.httpUrl, platform.mqttUrl, PRODUCT.productId, PRODUCT.productSecret, `bare-${run}`]), "bare-device.mjs"),
    }));
    const coldRatio = median(pairRatios(cold.a, cold.b));
    const coldStats = spread(cold.a, 0);
    const bareStats = spread(cold.b, 0);
    rows.push({
      section: "startup", name: "cold device, whole process: `explorer-xs device --once` (register, flash, connect, report acked)", unit: "ms",
      figure: coldStats.median, spread: coldStats,
      ceiling: { name: "bare Node: one signed POST + one MQTT.js CONNECT", figure: bareStats.median, spread: bareStats },
      ratio: round(1 / coldRatio, 2), goal: "within 2× of the bare client (ratio >= 0.5)", pass: coldRatio <= 2,
      note: `${round(coldRatio, 2)}× the bare client (median of ${PAIRS} alternating pairs)`,
    });

    // Tencent's Python SDK, where installed
    const script = join(HERE, "python", "tencent_sdk_cold_boot.py");
    const probe = await timeProcess(PYTHON, [script, platform.httpUrl, platform.mqttUrl, PRODUCT.productId, PRODUCT.productSecret, "py-probe"]);
    let pythonDetails: unknown;
    if (probe.code === 0) {
      const python = await pairs((run) => ({
        a: async () => must(await timeProcess(process.execPath, [BIN, "device", "--flash", join(dir, `vs-py-${run}.flash`), "--device-info", deviceInfo(`vs-py-${run}`), "--platform", platform.httpUrl, "--mqtt", platform.mqttUrl, "--once"]), "explorer-xs device --once"),
        b: async () => must(await timeProcess(PYTHON, [script, platform.httpUrl, platform.mqttUrl, PRODUCT.productId, PRODUCT.productSecret, `py-${run}`]), "Tencent Python SDK"),
      }));
      const ratio = median(pairRatios(python.a, python.b));
      const ours = spread(python.a, 0);
      const theirs = spread(python.b, 0);
      rows.push({
        section: "startup", name: "cold device, whole process, vs Tencent's Python SDK (dynregDevice + connect)", unit: "ms",
        figure: ours.median, spread: ours,
        ceiling: { name: "Tencent Python SDK, same platform", figure: theirs.median, spread: theirs },
        ratio: round(ratio, 2), goal: "at most 0.5× the Python SDK's time", pass: ratio <= 0.5,
        note: `ratio = ours / Python, median of ${PAIRS} alternating pairs`,
      });
      pythonDetails = { ours: python.a, python: python.b };
    } else {
      const reason = probe.code === PYTHON_SKIPPED ? probe.stderr.trim()
        : probe.code === -1 ? `skipped: no ${PYTHON} to run Tencent's Python SDK with (${probe.stderr.trim()})`
        : `the Python script failed (exit ${probe.code}): ${probe.stderr.trim().slice(-300)}`;
      rows.push({
        section: "startup", name: "cold device, whole process, vs Tencent's Python SDK (dynregDevice + connect)", unit: "ms",
        figure: Number.NaN, spread: spread([Number.NaN]), goal: "at most 0.5× the Python SDK's time",
        note: reason.startsWith("skipped") ? reason : `skipped: ${reason}`,
      });
      pythonDetails = { skipped: reason };
    }

    return { section: "startup", rows, details: { pairs: PAIRS, help, cold, python: pythonDetails } };
  } finally {
    await platform.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const output = await runStartupBench();
  process.stdout.write(JSON.stringify(output) + "\n");
}
