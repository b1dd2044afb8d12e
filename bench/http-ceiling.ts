/**
 * Registration ceiling of the benchmarks: platform registrations per second vs. the same
 * node:http server (createPlatformHttpServer, same limits) answering a constant body of the
 * same shape (bench/ceiling/constant-http.ts): the HTTP stack's own limit on this machine.
 * Both are driven by the platform benchmark's own load process (bench/load/register-load.ts,
 * signed requests, new device names, keep-alive), each server in its own process, runs
 * alternating so machine noise hits both alike. The ratio says what share of the bare HTTP
 * stack's rate the registration path keeps (signature check, registry write, AES payload).
 *
 * Prints one JSON SectionOutput on stdout. Run: node --import tsx bench/http-ceiling.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startPlatformProcess } from "../simulator/platform-process";
import type { LoadReport, RegisterLoadTask } from "./load/register-load";
import { cpuSecondsOf, runWorker, startServer } from "./lib/processes";
import { median, round, spread } from "./lib/stats";
import type { SectionOutput } from "./lib/row";

const HERE = dirname(fileURLToPath(import.meta.url));
const QUICK = process.env.BENCH_QUICK === "1";
const RUNS = 3;
const CONCURRENCY = 64;
const WARMUP_MS = QUICK ? 200 : 1000;
const DURATION_MS = QUICK ? 500 : 4000;
const PRODUCT = { productId: "BENCHHTP01", productSecret: "YmVuY2hIdHRwQ2VpbGluZzE" };

/** One timed load run, with the CPU the server process spent in its timed share. */
async function load(httpUrl: string, serverPid: number | undefined, namePrefix: string): Promise<LoadReport & { serverCpuSeconds?: number }> {
  const before = cpuSecondsOf(serverPid);
  const report = await runWorker<RegisterLoadTask, LoadReport>(join(HERE, "load", "register-load.ts"), {
    httpUrl, ...PRODUCT, namePrefix, concurrency: CONCURRENCY, warmupMs: WARMUP_MS, durationMs: DURATION_MS,
  }, WARMUP_MS + DURATION_MS + 30_000);
  const after = cpuSecondsOf(serverPid);
  // Warm-up requests are not counted, so count only the timed share of the CPU.
  const serverCpuSeconds = before !== undefined && after !== undefined ? (after - before) * (DURATION_MS / (WARMUP_MS + DURATION_MS)) : undefined;
  return { ...report, serverCpuSeconds };
}

function rate(report: LoadReport, what: string): number {
  if (report.failed > 0) process.stderr.write(`${what}: ${report.failed} failed, first: ${report.firstFailure}\n`);
  return report.ok / (report.elapsedMs / 1000);
}

export async function runHttpCeilingBench(): Promise<SectionOutput> {
  const dir = mkdtempSync(join(tmpdir(), "explorer-xs-bench-http-"));
  const platform = await startPlatformProcess({
    configFile: join(dir, "products.json"),
    config: { products: [{ ...PRODUCT, dynamicRegistration: true, autoCreate: true, authType: "psk", devices: [] }] },
  });
  const constant = await startServer<{ httpUrl: string }>(join(HERE, "ceiling", "constant-http.ts"));
  try {
    const registrations: number[] = [];
    const ceiling: number[] = [];
    const pairRatios: number[] = [];
    const perCpu = { platform: [] as number[], constant: [] as number[] };
    let failed = 0;
    for (let run = 0; run < RUNS; run++) {
      const constantReport = await load(constant.ready.httpUrl, constant.child.pid, `c${run}x`);
      ceiling.push(rate(constantReport, "constant body"));
      const platformReport = await load(platform.httpUrl, platform.child.pid, `h${run}x`);
      registrations.push(rate(platformReport, "registrations"));
      pairRatios.push(registrations[run] / ceiling[run]);
      if (platformReport.serverCpuSeconds) perCpu.platform.push(platformReport.ok / platformReport.serverCpuSeconds);
      if (constantReport.serverCpuSeconds) perCpu.constant.push(constantReport.ok / constantReport.serverCpuSeconds);
      failed += platformReport.failed + constantReport.failed;
    }
    const figure = spread(registrations, 0);
    const top = spread(ceiling, 0);
    // The ratio of each pair of back-to-back runs, then the median: noise between pairs cancels.
    const ratio = median(pairRatios);
    const cpuNote = perCpu.platform.length && perCpu.constant.length
      ? `; per server CPU-second: ${Math.round(median(perCpu.platform))} registrations vs ${Math.round(median(perCpu.constant))} constant answers (ratio ${round(median(perCpu.platform) / median(perCpu.constant), 2)})`
      : "";
    return {
      section: "platform",
      rows: [{
        section: "platform", name: `registrations/s vs constant-body HTTP ceiling (${CONCURRENCY} in flight, paired runs)`, unit: "req/s",
        figure: figure.median, spread: figure,
        ceiling: { name: "same node:http server, constant body", figure: top.median, spread: top },
        ratio: round(ratio, 2), goal: "ratio >= 0.5", pass: ratio >= 0.5,
        note: `ratio = median of ${RUNS} back-to-back pairs (${pairRatios.map((value) => round(value, 2)).join(", ")})${cpuNote}${failed ? `; ${failed} failed requests` : ""}`,
      }],
      details: { runs: RUNS, warmupMs: WARMUP_MS, durationMs: DURATION_MS, concurrency: CONCURRENCY, failed },
    };
  } finally {
    await constant.stop();
    await platform.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const output = await runHttpCeilingBench();
  process.stdout.write(JSON.stringify(output) + "\n");
}
