/**
 * Platform section of the benchmarks: how many registrations and authenticated MQTT connects
 * per second one mock platform process sustains on this machine, driven from a separate load
 * process (bench/load/*.ts, forked). The platform runs as `explorer-xs platform --memory` with
 * its JSON log on, exactly as the CLI runs it. Each figure is the median of `RUNS` timed runs
 * (after a warm-up), and the whole section stays well under a minute. Beside the wall-clock
 * rates it reports operations per CPU-second of the platform process (from /proc), which does
 * not depend on what else the machine runs: what one free core sustains.
 *
 * Prints JSON to stdout. Run: node --import tsx bench/platform.ts
 */
import { fork, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ConnectLoadTask } from "./load/connect-load";
import { printWhenRunAsScript } from "./lib/row";
import type { LoadReport, RegisterLoadTask } from "./load/register-load";

const HERE = dirname(fileURLToPath(import.meta.url));
const CLI = join(HERE, "..", "simulator", "cli.ts");
const RUNS = 3;
const WARMUP_MS = 1000;
const DURATION_MS = 4000;
const REGISTER_CONCURRENCY = 64;
const CONNECT_CONCURRENCY = 64;
const CONNECT_DEVICES = 64 * 8;

const REG_PRODUCT = { productId: "BENCHREG01", productSecret: "YmVuY2hSZWdpc3RlclNlY3JldA", dynamicRegistration: true, autoCreate: true, authType: "psk" };
const CONN_PRODUCT_ID = "BENCHMQT01";

interface RunningPlatform { httpUrl: string; mqttUrl: string; child: ChildProcess; stop(): Promise<void> }

async function startPlatformProcess(configFile: string): Promise<RunningPlatform> {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, "platform", "--memory", "--host", "127.0.0.1", "--http-port", "0", "--mqtt-port", "0", "--config", configFile],
    { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  let errors = "";
  child.stderr!.on("data", (chunk) => (errors = (errors + chunk).slice(-4000)));
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`platform not ready in 30 s: ${errors}`)), 30_000);
    child.stdout!.on("data", function onData(chunk) {
      output += chunk;
      const ready = /platform ready http=(\S+) mqtt=(\S+)/.exec(output);
      if (ready) { clearTimeout(timer); child.stdout!.off("data", onData); resolve(ready); }
    });
    child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`platform exited (${code}): ${errors}`)); });
  });
  child.stdout!.resume(); // drain its log so a full pipe never slows it
  return {
    httpUrl: match[1], mqttUrl: match[2], child,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    }),
  };
}

function runLoad<T>(file: string, task: T): Promise<LoadReport> {
  const child = fork(join(HERE, "load", file), [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  return new Promise((resolve, reject) => {
    child.once("message", (report) => resolve(report as LoadReport));
    child.once("exit", (code) => reject(new Error(`load process ${file} exited with ${code} without a report`)));
    child.send(task as object);
  });
}

/** CPU seconds (user + system) a process has used, from /proc (Linux); undefined elsewhere. */
function cpuSeconds(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return undefined;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export interface Figure {
  median: number;              // operations per wall-clock second, median of the runs
  runs: number[];
  failed: number;
  concurrency: number;
  /** Operations per CPU-second the platform process spent: its capacity on one free core. */
  perPlatformCpuSecond?: number;
}

export interface PlatformBenchResult {
  machine: { cpus: number; node: string; loadAverage: number[] };
  registrationsPerSecond: Figure;
  connectsPerSecond: Figure;
  method: string;
}

export async function runPlatformBench(): Promise<PlatformBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), "explorer-xs-bench-"));
  const devices = Array.from({ length: CONNECT_DEVICES }, (_, i) => ({ deviceName: `mqtt${i}`, psk: randomBytes(16).toString("base64") }));
  const configFile = join(dir, "products.json");
  writeFileSync(configFile, JSON.stringify({ products: [REG_PRODUCT, {
    productId: CONN_PRODUCT_ID, productSecret: "YmVuY2hNcXR0U2VjcmV0MDE", dynamicRegistration: false, autoCreate: false, authType: "psk", devices,
  }] }));
  const platform = await startPlatformProcess(configFile);
  try {
    const measure = async <T>(file: string, task: (run: number) => T, concurrency: number): Promise<Figure> => {
      const runs: number[] = [];
      let failed = 0;
      let ok = 0;
      let cpu = 0;
      for (let run = 0; run < RUNS; run++) {
        const before = cpuSeconds(platform.child.pid);
        const report = await runLoad<T>(file, task(run));
        const after = cpuSeconds(platform.child.pid);
        if (report.firstFailure) process.stderr.write(`${file}: ${report.firstFailure}\n`);
        failed += report.failed;
        ok += report.ok;
        // Warm-up operations are not counted, so scale the CPU to the timed share of the run.
        if (before !== undefined && after !== undefined) cpu += (after - before) * (DURATION_MS / (WARMUP_MS + DURATION_MS));
        runs.push(Math.round(report.ok / (report.elapsedMs / 1000)));
      }
      return { median: median(runs), runs, failed, concurrency, perPlatformCpuSecond: cpu > 0 ? Math.round(ok / cpu) : undefined };
    };
    const registrationsPerSecond = await measure<RegisterLoadTask>("register-load.ts", (run) => ({
      httpUrl: platform.httpUrl, productId: REG_PRODUCT.productId, productSecret: REG_PRODUCT.productSecret,
      namePrefix: `r${run}x`, concurrency: REGISTER_CONCURRENCY, warmupMs: WARMUP_MS, durationMs: DURATION_MS,
    }), REGISTER_CONCURRENCY);
    const connectsPerSecond = await measure<ConnectLoadTask>("connect-load.ts", () => ({
      mqttUrl: platform.mqttUrl, productId: CONN_PRODUCT_ID, devices,
      concurrency: CONNECT_CONCURRENCY, warmupMs: WARMUP_MS, durationMs: DURATION_MS,
    }), CONNECT_CONCURRENCY);
    const os = await import("node:os");
    return {
      machine: { cpus: os.cpus().length, node: process.version, loadAverage: os.loadavg().map((load) => Math.round(load * 100) / 100) },
      registrationsPerSecond,
      connectsPerSecond,
      method: `one 'explorer-xs platform --memory' process (JSON log on), one forked load process per run; ${RUNS} runs of ${DURATION_MS} ms after ${WARMUP_MS} ms warm-up; registrations are new auto-created devices (State 0); connects are TCP + CONNECT (hmacsha256) + CONNACK 0 + DISCONNECT`,
    };
  } finally {
    await platform.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await printWhenRunAsScript(import.meta.url, runPlatformBench);
