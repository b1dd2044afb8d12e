/**
 * Registry growth (issue 16 item 4, `npm run bench -- --large`): registration latency as the
 * platform's SQLite registry (a file in WAL mode, `explorer-xs platform --data DIR`) grows to a
 * million devices, so a user knows where one machine ends.
 *
 * For each size in SIZES: the registry file is filled up to that many registered, activated
 * PSK devices (bulk INSERTs in large transactions from this process, platform stopped), then
 * a fresh `explorer-xs platform --data DIR` process answers PROBES new registrations sent one
 * at a time (auto-created names: insert, PSK, nonce, answer), each timed from request to full
 * answer over a keep-alive connection, after WARMUP untimed ones. Figures: p50 and p99 per size,
 * the file's size, the fill rate.
 *
 * Prints one JSON SectionOutput on stdout. Run: node --import tsx bench/registry-growth.ts
 * BENCH_QUICK=1 grows to 20,000 only (a smoke run).
 */
import Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPlatformProcess } from "../simulator/platform-process";
import { percentile } from "../simulator/fleet";
import { signedRegisterRequest } from "./load/sign";
import { printWhenRunAsScript, type BenchRow, type SectionOutput } from "./lib/row";
import { round, spread } from "./lib/stats";

const QUICK = process.env.BENCH_QUICK === "1";
const SIZES = QUICK ? [1_000, 20_000] : [1_000, 10_000, 100_000, 1_000_000];
const PROBES = QUICK ? 100 : 500;
const WARMUP = 50;
const FILL_BATCH = 50_000;
const PRODUCT = { productId: "BENCHREG01", productSecret: "benchRegistryGrowthSecret7Q" };

/** Inserts devices `from`..`to - 1` straight into the registry file (the platform is stopped). */
function fill(file: string, from: number, to: number): number {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  // The registry's own devices table (simulator/platform/sqlite-registry.ts SCHEMA): registered and
  // activated PSK devices, as a long-lived fleet leaves them.
  const insert = db.prepare(`INSERT INTO devices (product_id, device_name, client_id, psk, auto_created, created_at, registered_at, activated_at) VALUES (?, ?, ?, ?, 0, ?, ?, ?)`);
  const batch = db.transaction((first: number, last: number) => {
    const now = Date.now();
    for (let index = first; index < last; index++) {
      const name = `grown-${index}`;
      insert.run(PRODUCT.productId, name, PRODUCT.productId + name, randomBytes(16).toString("base64"), now, now, now);
    }
  });
  const started = performance.now();
  for (let first = from; first < to; first += FILL_BATCH) batch(first, Math.min(to, first + FILL_BATCH));
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
  return performance.now() - started;
}

function registerOnce(agent: Agent, url: URL, deviceName: string): Promise<number> {
  const { body, headers } = signedRegisterRequest(url.hostname, PRODUCT.productId, PRODUCT.productSecret, deviceName);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: "/device/register", method: "POST", agent, headers }, (res) => {
      let text = "";
      res.on("data", (chunk) => (text += chunk));
      res.on("end", () => (res.statusCode === 200 && text.includes('"State":0') ? resolve(performance.now() - started) : reject(new Error(`registration of ${deviceName} refused: ${text.slice(0, 200)}`))));
    });
    req.on("error", reject);
    req.end(body);
  });
}

interface SizeResult { devices: number; fillSeconds: number; fileMb: number; p50Ms: number; p99Ms: number; maxMs: number }

export async function runRegistryGrowthBench(): Promise<SectionOutput> {
  const dir = mkdtempSync(join(tmpdir(), "explorer-xs-bench-registry-"));
  const dataDir = join(dir, "data");
  const configFile = join(dir, "products.json");
  const config = { products: [{ ...PRODUCT, dynamicRegistration: true, autoCreate: true, authType: "psk", devices: [] }] };
  const results: SizeResult[] = [];
  try {
    // A first start creates the registry file, its schema and the product.
    await (await startPlatformProcess({ configFile, config, dataDir })).stop();
    const file = join(dataDir, "platform.sqlite");
    let present = 0; // grown devices in the file (the probes' own registrations come on top)
    for (const size of SIZES) {
      const fillMs = fill(file, present, size);
      present = size;
      const platform = await startPlatformProcess({ configFile, dataDir });
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const url = new URL(platform.httpUrl);
        const times: number[] = [];
        for (let probe = 0; probe < WARMUP + PROBES; probe++) {
          const ms = await registerOnce(agent, url, `probe-${size}-${probe}`);
          if (probe >= WARMUP) times.push(ms);
        }
        times.sort((a, b) => a - b);
        results.push({
          devices: size, fillSeconds: round(fillMs / 1000, 1), fileMb: round(statSync(file).size / 1024 / 1024, 1),
          p50Ms: round(percentile(times, 50), 2), p99Ms: round(percentile(times, 99), 2), maxMs: round(times[times.length - 1], 2),
        });
      } finally {
        agent.destroy();
        await platform.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const rows: BenchRow[] = results.map((result) => ({
    section: "registry", name: `registration latency with ${result.devices.toLocaleString("en")} devices in the registry (SQLite file, WAL), p50`, unit: "ms",
    figure: result.p50Ms, spread: spread([result.p50Ms], 2),
    note: `p99 ${result.p99Ms} ms, max ${result.maxMs} ms over ${PROBES} sequential registrations; file ${result.fileMb} MB; filled in ${result.fillSeconds} s`,
  }));
  const first = results[0];
  const last = results[results.length - 1];
  if (first && last && last !== first) {
    const growth = last.p99Ms / first.p99Ms;
    rows.push({
      section: "registry", name: `registration p99 at ${last.devices.toLocaleString("en")} devices / at ${first.devices.toLocaleString("en")}`, unit: "×",
      figure: round(growth, 2), spread: spread([growth], 2), goal: "<= 2× (the registry's indexes keep a registration's cost flat)", pass: growth <= 2,
    });
  }
  return { section: "registry", rows, details: { sizes: results, probes: PROBES, warmup: WARMUP } };
}

await printWhenRunAsScript(import.meta.url, runRegistryGrowthBench);
