/**
 * Connect ceiling of the benchmarks: authenticated MQTT connects per second on the platform
 * vs. the same load against a bare aedes broker (bench/ceiling/bare-broker.ts: same aedes
 * version, no authentication, no ACL, no data template, no log): aedes's own connect rate on
 * this machine, the limit the platform's 2,000 connects/s goal (issue 3) is bounded by. Both
 * are driven by the platform benchmark's load process (bench/load/connect-load.ts: TCP,
 * CONNECT with PSK credentials, CONNACK, DISCONNECT), each server in its own process, runs
 * alternating so machine noise hits both alike.
 *
 * Prints one JSON SectionOutput on stdout. Run: node --import tsx bench/connect-ceiling.ts
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startPlatformProcess } from "../simulator/platform-process";
import type { ConnectLoadTask } from "./load/connect-load";
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
const PRODUCT_ID = "BENCHCON01";

export async function runConnectCeilingBench(): Promise<SectionOutput> {
  const dir = mkdtempSync(join(tmpdir(), "explorer-xs-bench-connect-"));
  // Eight devices per in-flight slot, each with a PSK issued beforehand (registered, not yet activated).
  const devices = Array.from({ length: CONCURRENCY * 8 }, (_, i) => ({ deviceName: `con${i}`, psk: randomBytes(16).toString("base64") }));
  const platform = await startPlatformProcess({
    configFile: join(dir, "products.json"),
    config: { products: [{ productId: PRODUCT_ID, productSecret: "YmVuY2hDb25uZWN0Q2VpbGluZw", dynamicRegistration: false, authType: "psk", devices }] },
  });
  const bare = await startServer<{ mqttUrl: string }>(join(HERE, "ceiling", "bare-broker.ts"));
  try {
    const task = (mqttUrl: string): ConnectLoadTask => ({ mqttUrl, productId: PRODUCT_ID, devices, concurrency: CONCURRENCY, warmupMs: WARMUP_MS, durationMs: DURATION_MS });
    const pairs = [];
    for (let run = 0; run < RUNS; run++) {
      const ceiling = await timedLoad(LOAD_DIR, "connect-load.ts", task(bare.ready.mqttUrl), bare.child.pid);
      const figure = await timedLoad(LOAD_DIR, "connect-load.ts", task(platform.mqttUrl), platform.child.pid);
      pairs.push({ figure, ceiling });
    }
    return {
      section: "platform",
      rows: [pairedRow({
        section: "platform", name: `authenticated connects/s vs bare aedes ceiling (${CONCURRENCY} in flight, paired runs)`, unit: "connects/s",
        operation: "authenticated connects", ceilingOperation: "bare connects", ceilingName: "same aedes, no auth, no log", pairs,
      })],
      details: { runs: RUNS, warmupMs: WARMUP_MS, durationMs: DURATION_MS, concurrency: CONCURRENCY },
    };
  } finally {
    await bare.stop();
    await platform.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await printWhenRunAsScript(import.meta.url, runConnectCeilingBench);
