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
import { fileURLToPath } from "node:url";
import { startPlatformProcess } from "../simulator/platform-process";
import { printWhenRunAsScript, type BenchRow, type SectionOutput } from "./lib/row";
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

/** A timed pair as a row: ours against a reference; `limit` is the largest accepted ours/reference. */
function pairRow(name: string, timings: { a: number[]; b: number[] }, reference: string, limit: number, goal: string): BenchRow {
  const ratio = median(pairRatios(timings.a, timings.b));
  const ours = spread(timings.a, 0);
  const theirs = spread(timings.b, 0);
  return {
    section: "startup", name, unit: "ms",
    figure: ours.median, spread: ours,
    ceiling: { name: reference, figure: theirs.median, spread: theirs },
    ratio: round(1 / ratio, 2), goal, pass: ratio <= limit,
    note: `${round(ratio, 2)}× ${reference} (median of ${PAIRS} alternating pairs)`,
  };
}

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
    rows.push(pairRow("`explorer-xs --help` (compiled CLI, whole process)", help, "node -e ''", 2, "within 2× of node -e '' (ratio >= 0.5)"));

    // cold device as a whole process vs the bare Node client
    const deviceInfo = (name: string) => {
      const file = join(dir, `${name}.json`);
      writeFileSync(file, JSON.stringify({ auth_mode: "KEY", ...PRODUCT, deviceName: name }));
      return file;
    };
    const ourColdDevice = async (name: string) => must(await timeProcess(process.execPath,
      [BIN, "device", "--flash", join(dir, `${name}.flash`), "--device-info", deviceInfo(name), "--platform", platform.httpUrl, "--mqtt", platform.mqttUrl, "--once"]), "explorer-xs device --once");
    const cold = await pairs((run) => ({
      a: () => ourColdDevice(`ours-${run}`),
      b: async () => must(await timeProcess(process.execPath, [join(HERE, "ceiling", "bare-device.mjs"), platform.httpUrl, platform.mqttUrl, PRODUCT.productId, PRODUCT.productSecret, `bare-${run}`]), "bare-device.mjs"),
    }));
    rows.push(pairRow("cold device, whole process: `explorer-xs device --once` (register, flash, connect, report acked)", cold,
      "bare Node: one signed POST + one MQTT.js CONNECT", 2, "within 2× of the bare client (ratio >= 0.5)"));

    // Tencent's Python SDK, where installed
    const script = join(HERE, "python", "tencent_sdk_cold_boot.py");
    const probe = await timeProcess(PYTHON, [script, platform.httpUrl, platform.mqttUrl, PRODUCT.productId, PRODUCT.productSecret, "py-probe"]);
    let pythonDetails: unknown;
    if (probe.code === 0) {
      const python = await pairs((run) => ({
        a: () => ourColdDevice(`vs-py-${run}`),
        b: async () => must(await timeProcess(PYTHON, [script, platform.httpUrl, platform.mqttUrl, PRODUCT.productId, PRODUCT.productSecret, `py-${run}`]), "Tencent Python SDK"),
      }));
      rows.push(pairRow("cold device, whole process, vs Tencent's Python SDK (dynregDevice + connect)", python,
        "Tencent Python SDK, same platform", 0.5, "at most 0.5× the Python SDK's time (ratio >= 2)"));
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

await printWhenRunAsScript(import.meta.url, runStartupBench);
