/**
 * Fleet section of the benchmarks (issues 4 and 8). Every figure is the median of repeated
 * runs, with min and max; every process below is separate, so no load generator shares a core's
 * event loop with what it measures:
 *
 * - devices online per second: `runFleet` (bench/fleet-worker.ts) booting COUNT (10,000) devices
 *   from factory-fresh flash (in memory, as `explorer-xs fleet` keeps it; register over HTTP,
 *   store, CONNECT with PSK credentials, subscribe, first report acknowledged) on WORKERS
 *   worker threads (what `explorer-xs fleet` takes by default) against the mock platform in
 *   its own process, vs.
 *   its ceiling, the same number of bare clients doing the same exchanges
 *   (bench/ceiling/bare-devices.mjs: HTTP POST, MQTT.js CONNECT, SUBSCRIBE, PUBLISH and the
 *   broker delivering it back) with the same concurrency and threads, against one process
 *   holding a constant-body HTTP server and a bare aedes broker (bench/ceiling/bare-platform.ts).
 *   Fleet and ceiling runs alternate, so machine noise hits both alike;
 * - memory per device: RSS growth of the fleet process from just before the first boot to the
 *   moment the last device is online, per device, vs. the same for one bare client;
 * - the same 10,000-device runs: wall time to all online (goal < 10 s), peak RSS of the fleet
 *   process plus the platform process (goal < 1 GB together), failures, time-to-online
 *   percentiles; and one 1,000-device run for the cost curve;
 * - cold and warm single-device time-to-online on loopback (many runs), with the round trips a
 *   cold boot makes (HTTP exchanges, CONNECTs, report round trips) and what a warm boot does.
 *
 * Prints one JSON SectionOutput on stdout. Run: node --import tsx bench/fleet.ts
 * BENCH_QUICK=1 shrinks every count (a smoke run, not a measurement).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startPlatformProcess, type PlatformProcess } from "../simulator/platform-process";
import { startSimDevice } from "../simulator/sim-device";
import type { HalTraceEvent } from "../simulator/instrumented-hal";
import type { FleetTask, FleetReport } from "./fleet-worker";
import { defaultWorkers } from "../simulator/commands/fleet";
import { FLEET_NODE_ARGS, FLEET_PLATFORM_NODE_ARGS } from "../simulator/fleet";
import { cpuSecondsOf, runWorker, startServer } from "./lib/processes";
import { medianPairRatio } from "./lib/paired";
import { quartiles, round, spread } from "./lib/stats";
import { msLeft } from "./lib/deadline";
import { printWhenRunAsScript, type BenchRow, type SectionOutput } from "./lib/row";

const HERE = dirname(fileURLToPath(import.meta.url));
const QUICK = process.env.BENCH_QUICK === "1";
/** One experiment serves every fleet figure: COUNT devices (the issue's 10,000), RUNS times. */
const COUNT = QUICK ? 200 : 10_000;
const RUNS = 3;
const CONCURRENCY = QUICK ? 20 : 200;
/** The fleet's default split: the cores left after the platform process. */
const WORKERS = defaultWorkers(true);
const SMALL_COUNT = QUICK ? 50 : 1000;
const SINGLE_WARMUP = QUICK ? 1 : 3;
const SINGLE_RUNS = QUICK ? 3 : 40;
const FLEET_TIMEOUT_MS = 150_000;
const PRODUCT = { productId: "BENCHFLT01", productSecret: "benchFleetSecretW2k9Qz7L" };
const MB = 1024 * 1024;

function productConfig(names: string[]) {
  return { products: [{ ...PRODUCT, dynamicRegistration: true, autoCreate: false, authType: "psk", devices: names }] };
}

/** A fresh platform process per fleet run: every device starts unregistered. */
async function withPlatform<T>(workDir: string, names: string[], body: (platform: PlatformProcess) => Promise<T>): Promise<T> {
  // As `explorer-xs fleet` runs its platform: no event log (nothing reads it).
  const platform = await startPlatformProcess({ configFile: join(workDir, "products.json"), config: productConfig(names), log: false, nodeArgs: [...FLEET_PLATFORM_NODE_ARGS] });
  try {
    return await body(platform);
  } finally {
    await platform.stop();
  }
}

/** A fleet run with the CPU seconds its platform process spent meanwhile. */
type FleetRun = FleetReport & { serverCpuSeconds?: number };
/** What bench/ceiling/bare-devices.mjs reports. */
interface BareDevicesReport {
  connected: number;
  failed: number;
  firstFailure?: string;
  wallMs: number;
  connectsPerSecond: number;
  rssBeforeBytes: number;
  rssAllConnectedBytes: number;
  bytesPerClient: number;
  peakRssMb: number;
  /** CPU time (user + system, all threads) the client process spent. */
  cpuSeconds: number;
}
type CeilingRun = BareDevicesReport & { serverCpuSeconds?: number };

async function fleetRun(workDir: string, run: string, count: number): Promise<FleetRun> {
  const prefix = `f${run}`;
  const names = Array.from({ length: count }, (_, index) => `${prefix}-${index}`);
  return withPlatform(workDir, names, async (platform) => {
    const before = cpuSecondsOf(platform.child.pid);
    const report = await runWorker<FleetTask, FleetReport>(join(HERE, "fleet-worker.ts"), {
      count, concurrency: CONCURRENCY, prefix, ...PRODUCT, workers: WORKERS, platformPid: platform.child.pid,
      registerUrl: `${platform.httpUrl}/device/register`, mqttUrl: platform.mqttUrl,
    }, FLEET_TIMEOUT_MS, [...FLEET_NODE_ARGS]);
    const after = cpuSecondsOf(platform.child.pid);
    return { ...report, serverCpuSeconds: before !== undefined && after !== undefined ? after - before : undefined };
  });
}

async function ceilingRun(count: number): Promise<CeilingRun> {
  const server = await startServer<{ httpUrl: string; mqttUrl: string }>(join(HERE, "ceiling", "bare-platform.ts"));
  try {
    const before = cpuSecondsOf(server.child.pid);
    const report = await runWorker<object, BareDevicesReport>(join(HERE, "ceiling", "bare-devices.mjs"),
      { httpUrl: server.ready.httpUrl, mqttUrl: server.ready.mqttUrl, count, concurrency: CONCURRENCY, workers: WORKERS, connectTimeoutMs: 10_000 }, FLEET_TIMEOUT_MS);
    const after = cpuSecondsOf(server.child.pid);
    return { ...report, serverCpuSeconds: before !== undefined && after !== undefined ? after - before : undefined };
  } finally {
    await server.stop();
  }
}

interface SingleBoot {
  ms: number;
  httpExchanges: number;
  connects: number;
  reportRoundTrips: number;
  subscribes: number;
  flashWrites: number;
}

/** One boot of one device on `flashFile`, timed from power-on to first report acknowledged. */
async function bootOnce(platform: PlatformProcess, flashFile: string, deviceName: string): Promise<SingleBoot> {
  const seen = { http: 0, connects: 0, reports: 0, subscribes: 0 };
  // Up to the first property answer (the report_reply that makes the device online): the
  // first-online sync that follows (report_info, get_status on the same topic) is not the way online.
  let answered = false;
  const onEvent = (event: HalTraceEvent) => {
    if (event.kind === "http.request") seen.http++;
    else if (event.kind === "mqtt.connack" || event.kind === "mqtt.refused") seen.connects++;
    else if (event.kind === "mqtt.subscribe") seen.subscribes++;
    else if (event.kind === "mqtt.publish" && event.topic.startsWith("$thing/up/property/") && !answered) seen.reports++;
    else if (event.kind === "mqtt.message" && event.topic.startsWith("$thing/down/property/")) answered = true;
  };
  const started = performance.now();
  const device = startSimDevice({
    flashFile,
    registerUrl: `${platform.httpUrl}/device/register`,
    mqttUrl: platform.mqttUrl,
    factoryInfo: { ...PRODUCT, deviceName, authMode: "psk" },
    logger: { log: () => undefined },
    onEvent,
    boot: { backoff: { baseMs: 200, capMs: 2000, maxAttempts: 3 }, initialReport: { power: 1 } },
  });
  try {
    await device.task.online;
    const ms = performance.now() - started;
    return { ms, httpExchanges: seen.http, connects: seen.connects, reportRoundTrips: seen.reports, subscribes: seen.subscribes, flashWrites: device.counters.flashWrites };
  } finally {
    await device.close();
  }
}

/** Cold (empty flash file) then warm (same file, rebooted) boots of fresh devices, many times. */
async function singleDevice(workDir: string): Promise<{ cold: SingleBoot[]; warm: SingleBoot[] }> {
  const total = SINGLE_WARMUP + SINGLE_RUNS;
  const names = Array.from({ length: total }, (_, index) => `single-${index}`);
  // Durable flash (fsync on every commit) in the OS temp folder, as `explorer-xs device` uses it.
  const flashDir = mkdtempSync(join(tmpdir(), "explorer-xs-bench-single-"));
  try {
    return await withPlatform(workDir, names, async (platform) => {
      const cold: SingleBoot[] = [];
      const warm: SingleBoot[] = [];
      for (let index = 0; index < total; index++) {
        const flashFile = join(flashDir, `${names[index]}.flash`);
        const coldBoot = await bootOnce(platform, flashFile, names[index]);
        const warmBoot = await bootOnce(platform, flashFile, names[index]);
        if (index >= SINGLE_WARMUP) { cold.push(coldBoot); warm.push(warmBoot); }
      }
      return { cold, warm };
    });
  } finally {
    rmSync(flashDir, { recursive: true, force: true });
  }
}

function timingRow(name: string, boots: SingleBoot[]): BenchRow {
  const values = boots.map((boot) => boot.ms);
  const { q1, q3 } = quartiles(values);
  const stats = spread(values, 2);
  return { section: "fleet", name, unit: "ms", figure: stats.median, spread: stats, note: `${values.length} runs, IQR ${round(q1, 2)}..${round(q3, 2)} ms` };
}

export async function runFleetBench(): Promise<SectionOutput> {
  const workDir = mkdtempSync(join(tmpdir(), "explorer-xs-bench-fleet-")); // platform configs
  try {
    const fleet: FleetRun[] = [];
    const bare: CeilingRun[] = [];
    for (let run = 0; run < RUNS; run++) {
      const started = Date.now();
      bare.push(await ceilingRun(COUNT));
      fleet.push(await fleetRun(workDir, `r${run}`, COUNT));
      // Another pair, then the 1k run and the single devices (about a third of a pair), must
      // fit in the section's bound; on a loaded machine report the pairs done instead.
      const pairMs = Date.now() - started;
      if (run < RUNS - 1 && msLeft() < pairMs * 1.4 + 10_000) {
        process.stderr.write(`fleet: ${run + 1} of ${RUNS} pairs (a pair took ${Math.round(pairMs / 1000)} s; the section's bound leaves no room for another)\n`);
        break;
      }
    }
    const small = await fleetRun(workDir, "small", SMALL_COUNT);
    const single = await singleDevice(workDir);

    const rows: BenchRow[] = [];
    const fleetRate = spread(fleet.map((report) => report.summary.devicesPerSecond));
    const bareRate = spread(bare.map((report) => report.connectsPerSecond));
    const { ratio: rateRatio, note: ratioNote } = medianPairRatio(fleet.map((report) => report.summary.devicesPerSecond), bare.map((report) => report.connectsPerSecond));
    rows.push({
      section: "fleet", name: `devices online/s (${COUNT} devices, ${CONCURRENCY} at once)`, unit: "devices/s",
      figure: fleetRate.median, spread: fleetRate,
      ceiling: { name: "bare clients/s: POST to constant-body HTTP, MQTT.js CONNECT, SUBSCRIBE, PUBLISH echoed by bare aedes", figure: bareRate.median, spread: bareRate },
      ratio: round(rateRatio, 2), goal: "ratio >= 0.5", pass: rateRatio >= 0.5,
      note: `${ratioNote}${fleet.length < RUNS ? ` (${fleet.length} of ${RUNS} pairs fitted the section's time bound)` : ""}; ${cpuNote(fleet, bare)}`,
    });
    const fleetKb = spread(fleet.map((report) => report.bytesPerDevice / 1024));
    const bareKb = spread(bare.map((report) => report.bytesPerClient / 1024));
    rows.push({
      section: "fleet", name: "memory per online device (fleet RSS growth / devices)", unit: "KiB",
      figure: fleetKb.median, spread: fleetKb,
      ceiling: { name: "RSS growth per bare client (MQTT.js)", figure: bareKb.median, spread: bareKb },
      ratio: round(bareKb.median / fleetKb.median, 2), goal: "ratio (bare / fleet) >= 0.5", pass: bareKb.median / fleetKb.median >= 0.5,
    });
    const seconds = spread(fleet.map((report) => report.summary.wallMs / 1000));
    const rss = spread(fleet.map((report) => report.summary.peakRssMb + (report.summary.platformPeakRssMb ?? 0)), 0);
    const fleetRss = spread(fleet.map((report) => report.summary.peakRssMb), 0).median;
    const platformRss = spread(fleet.map((report) => report.summary.platformPeakRssMb ?? Number.NaN), 0).median;
    const failures = spread(fleet.map((report) => report.summary.failed), 0);
    const p50 = spread(fleet.map((report) => report.summary.timeToOnlineMs.p50), 0).median;
    const p99 = spread(fleet.map((report) => report.summary.timeToOnlineMs.p99), 0).median;
    rows.push({
      section: "fleet", name: `${COUNT} devices factory-fresh to online + report acked`, unit: "s",
      figure: seconds.median, spread: seconds, goal: "< 10 s", pass: seconds.median < 10,
      note: `${WORKERS} worker thread(s); per-device time-to-online p50 ${p50} ms, p99 ${p99} ms (medians over runs; ${CONCURRENCY} booting at once)`,
    });
    rows.push({
      section: "fleet", name: `${COUNT}-device run: peak RSS, fleet process + platform process`, unit: "MB", figure: rss.median, spread: rss, goal: "< 1024 MB (sum)", pass: rss.median < 1024,
      note: `fleet process ${fleetRss} MB (all threads) + platform process ${platformRss} MB (medians; kernel high-water marks)`,
    });
    rows.push({ section: "fleet", name: `${COUNT}-device run: failures`, unit: "devices", figure: failures.median, spread: failures, goal: "0", pass: failures.max === 0 });
    rows.push({
      section: "fleet", name: `${SMALL_COUNT} devices factory-fresh to online + report acked (cost curve)`, unit: "s",
      figure: round(small.summary.wallMs / 1000, 2), spread: spread([small.summary.wallMs / 1000], 2),
      note: `one run; peak RSS fleet ${small.summary.peakRssMb} MB + platform ${small.summary.platformPeakRssMb ?? "?"} MB; ${small.summary.failed} failed`,
    });
    rows.push(timingRow("cold boot time-to-online, one device (register, store, connect, report acked)", single.cold));
    rows.push(timingRow("warm boot time-to-online, one device (flash read, connect, report acked)", single.warm));
    const roundTrips = spread(single.cold.map((boot) => boot.httpExchanges + boot.connects + boot.reportRoundTrips), 0);
    rows.push({
      section: "fleet", name: "round trips per cold boot beyond TCP handshakes (HTTP + CONNECT + report)", unit: "round trips",
      figure: roundTrips.median, spread: roundTrips, goal: "<= 3", pass: roundTrips.max <= 3,
      note: "SUBSCRIBE is sent together with the report (pipelined), so it adds no round trip",
    });
    const warmRoundTrips = spread(single.warm.map((boot) => boot.httpExchanges + boot.connects + boot.reportRoundTrips), 0);
    rows.push({ section: "fleet", name: "round trips per warm boot (no HTTP)", unit: "round trips", figure: warmRoundTrips.median, spread: warmRoundTrips, goal: "<= 2", pass: warmRoundTrips.max <= 2 });

    return {
      section: "fleet",
      rows,
      details: {
        count: COUNT, concurrency: CONCURRENCY, workers: WORKERS,
        fleet: fleet.map(brief),
        small: brief(small),
        bare: bare.map((report) => ({ ...report, rssBeforeMb: round(report.rssBeforeBytes / MB), rssAllConnectedMb: round(report.rssAllConnectedBytes / MB) })),
        single: { runs: SINGLE_RUNS, warmupRuns: SINGLE_WARMUP, coldBoot: single.cold[0], warmBoot: single.warm[0] },
      },
    };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** CPU milliseconds per device on each side: what bounds both rates on a 2-core machine. */
function cpuPerDevice(runs: Array<{ cpuSeconds: number; serverCpuSeconds?: number }>, count: number) {
  const client = spread(runs.map((run) => (run.cpuSeconds * 1000) / count), 2).median;
  const servers = runs.map((run) => run.serverCpuSeconds).filter((value): value is number => value !== undefined);
  const server = servers.length ? spread(servers.map((value) => (value * 1000) / count), 2).median : undefined;
  return { client, server };
}

function cpuNote(fleet: FleetRun[], bare: CeilingRun[]): string {
  const f = cpuPerDevice(fleet, COUNT);
  const b = cpuPerDevice(bare, COUNT);
  return `CPU per device: fleet ${f.client} ms + platform ${f.server ?? "?"} ms vs bare client ${b.client} ms + bare broker ${b.server ?? "?"} ms`;
}

function brief(report: FleetRun) {
  return { ...report.summary, cpuSeconds: round(report.cpuSeconds, 2), serverCpuSeconds: report.serverCpuSeconds, rssBeforeMb: round(report.rssBeforeBytes / MB), rssAllOnlineMb: round(report.rssAllOnlineBytes / MB), kibPerDevice: round(report.bytesPerDevice / 1024) };
}

await printWhenRunAsScript(import.meta.url, runFleetBench);
