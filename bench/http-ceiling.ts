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
import { fileURLToPath } from "node:url";
import { startPlatformProcess } from "../simulator/platform-process";
import { startServer } from "./lib/processes";
import { pairedRow, timedLoad } from "./lib/paired";
import { printWhenRunAsScript, type SectionOutput } from "./lib/row";

const HERE = dirname(fileURLToPath(import.meta.url));
const LOAD_DIR = join(HERE, "load");
const QUICK = process.env.BENCH_QUICK === "1";
const RUNS = 3;
const CONCURRENCY = 64;
const WARMUP_MS = QUICK ? 200 : 1000;
const DURATION_MS = QUICK ? 500 : 4000;
const PRODUCT = { productId: "BENCHHTP01", productSecret: "YmVuY2hIdHRwQ2VpbGluZzE" };

export async function runHttpCeilingBench(): Promise<SectionOutput> {
  const dir = mkdtempSync(join(tmpdir(), "explorer-xs-bench-http-"));
  const platform = await startPlatformProcess({
    configFile: join(dir, "products.json"),
    config: { products: [{ ...PRODUCT, dynamicRegistration: true, autoCreate: true, authType: "psk", devices: [] }] },
  });
  const constant = await startServer<{ httpUrl: string }>(join(HERE, "ceiling", "constant-http.ts"));
  try {
    const pairs = [];
    for (let run = 0; run < RUNS; run++) {
      const task = (namePrefix: string) => ({ ...PRODUCT, namePrefix, concurrency: CONCURRENCY, warmupMs: WARMUP_MS, durationMs: DURATION_MS });
      const ceiling = await timedLoad(LOAD_DIR, "register-load.ts", { httpUrl: constant.ready.httpUrl, ...task(`c${run}x`) }, constant.child.pid);
      const figure = await timedLoad(LOAD_DIR, "register-load.ts", { httpUrl: platform.httpUrl, ...task(`h${run}x`) }, platform.child.pid);
      pairs.push({ figure, ceiling });
    }
    const row = pairedRow({
      section: "platform", name: `registrations/s vs constant-body HTTP ceiling (${CONCURRENCY} in flight, paired runs)`, unit: "req/s",
      operation: "registrations", ceilingOperation: "constant answers", ceilingName: "same node:http server, constant body", pairs,
    });
    const failed = pairs.reduce((sum, pair) => sum + pair.figure.failed + pair.ceiling.failed, 0);
    return {
      section: "platform",
      rows: [row],
      details: { runs: RUNS, warmupMs: WARMUP_MS, durationMs: DURATION_MS, concurrency: CONCURRENCY, failed },
    };
  } finally {
    await constant.stop();
    await platform.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await printWhenRunAsScript(import.meta.url, runHttpCeilingBench);
