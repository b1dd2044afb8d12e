/**
 * The 100,000-device fleet (issue 16 items 3 and 4, `npm run bench -- --large`): factory-fresh
 * devices to online with their first report acknowledged, on the fleet's default worker threads,
 * against `explorer-xs platform` in its own process, all held online until the last one is,
 * exactly as `explorer-xs fleet --count 100000` runs. Figures: wall time, peak RSS of both
 * processes, failures by cause.
 *
 * Before it starts, the section reads the limits one machine puts on a single run of this size:
 * the hard open-file limit (every online device holds one socket in the fleet process and one in
 * the platform process; Node raises the soft limit to the hard one by itself, raising the hard
 * one needs CAP_SYS_RESOURCE), and the ephemeral ports one source address has towards one
 * listener. When they cannot hold COUNT devices at once, the section says which limit stops the
 * run and where, and runs the largest fleet that fits instead (FLEET_LARGE_FORCE=1 runs COUNT
 * anyway, to see the failures). Devices get two boot attempts each, so a limit shows as failures
 * with their cause instead of hours of backoff.
 *
 * Prints one JSON SectionOutput on stdout. Run: node --import tsx bench/fleet-large.ts
 * FLEET_LARGE_COUNT overrides the count; BENCH_QUICK=1 runs 2,000.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startPlatformProcess } from "../simulator/platform-process";
import { FLEET_NODE_ARGS, FLEET_PLATFORM_NODE_ARGS } from "../simulator/fleet";
import { defaultWorkers } from "../simulator/commands/fleet";
import type { FleetReport, FleetTask } from "./fleet-worker";
import { cpuSecondsOf, runWorker } from "./lib/processes";
import { printWhenRunAsScript, type BenchRow, type SectionOutput } from "./lib/row";
import { round, spread } from "./lib/stats";

const HERE = dirname(fileURLToPath(import.meta.url));
const COUNT = Number(process.env.FLEET_LARGE_COUNT ?? (process.env.BENCH_QUICK === "1" ? 2_000 : 100_000));
const CONCURRENCY = 200;
const WORKERS = defaultWorkers(true);
const PRODUCT = { productId: "BENCHBIG01", productSecret: "benchLargeFleetSecret4Hn8" };

/** Sockets and files a process holds besides one per online device (listeners, pooled HTTP, modules). */
const FD_HEADROOM = 1000;

/** The machine's limits on one run of `count` devices (Linux /proc), in words, and the largest fleet they hold. */
export function machineLimits(count: number): { openFiles?: number; ephemeralPorts?: number; fits: number; binding?: string; notes: string[] } {
  const notes: string[] = [];
  let openFiles: number | undefined;
  let ephemeralPorts: number | undefined;
  let fits = count;
  let binding: string | undefined;
  try {
    // The hard limit: Node raises its soft limit to it at start.
    const match = /^Max open files\s+\S+\s+(\d+|unlimited)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    openFiles = match && match[1] !== "unlimited" ? Number(match[1]) : undefined;
    if (openFiles !== undefined) {
      notes.push(`hard open-file limit ${openFiles} per process (one socket per online device in each of fleet and platform)`);
      if (openFiles - FD_HEADROOM < fits) { fits = openFiles - FD_HEADROOM; binding = `the hard open-file limit (${openFiles} per process; raising it needs CAP_SYS_RESOURCE, e.g. docker --ulimit nofile=262144 or systemd LimitNOFILE)`; }
    }
  } catch { /* not Linux */ }
  try {
    const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    ephemeralPorts = high - low + 1;
    notes.push(`ephemeral ports ${low}-${high}: ${ephemeralPorts} connections from one source address to one listener`);
    if (ephemeralPorts - FD_HEADROOM < fits) { fits = ephemeralPorts - FD_HEADROOM; binding = `the ephemeral ports towards one listener (${ephemeralPorts}, net.ipv4.ip_local_port_range; every device connects from 127.0.0.1 to one port)`; }
  } catch { /* not Linux */ }
  return { openFiles, ephemeralPorts, fits: Math.max(1, fits), binding, notes };
}

export async function runFleetLargeBench(): Promise<SectionOutput> {
  const limits = machineLimits(COUNT);
  const count = process.env.FLEET_LARGE_FORCE === "1" ? COUNT : limits.fits;
  const stopped: BenchRow[] = count < COUNT ? [{
    section: "fleet-large", name: `${COUNT.toLocaleString("en")} devices factory-fresh to online + report acked`, unit: "devices",
    figure: count, spread: spread([count], 0), goal: "completes with no failure", pass: false,
    note: `not run here: ${limits.binding} holds about ${count.toLocaleString("en")} devices online at once; the largest fleet that fits ran instead (next rows); FLEET_LARGE_FORCE=1 runs ${COUNT.toLocaleString("en")} anyway`,
  }] : [];
  const dir = mkdtempSync(join(tmpdir(), "explorer-xs-bench-large-"));
  const names = Array.from({ length: count }, (_, index) => `big-${index}`);
  const platform = await startPlatformProcess({
    log: false, // as `explorer-xs fleet` runs its platform
    configFile: join(dir, "products.json"),
    config: { products: [{ ...PRODUCT, dynamicRegistration: true, autoCreate: false, authType: "psk", devices: names }] },
    extraArgs: ["--max-mqtt-connections", String(count + 1000)],
    nodeArgs: [...FLEET_PLATFORM_NODE_ARGS],
    readyTimeoutMs: 120_000,
  });
  try {
    const platformCpuBefore = cpuSecondsOf(platform.child.pid);
    const report = await runWorker<FleetTask & { maxAttempts: number }, FleetReport>(join(HERE, "fleet-worker.ts"), {
      count, concurrency: CONCURRENCY, prefix: "big", ...PRODUCT, workers: WORKERS, platformPid: platform.child.pid, maxAttempts: 2,
      registerUrl: `${platform.httpUrl}/device/register`, mqttUrl: platform.mqttUrl,
    }, 25 * 60_000, [...FLEET_NODE_ARGS]);
    const platformCpu = (cpuSecondsOf(platform.child.pid) ?? Number.NaN) - (platformCpuBefore ?? Number.NaN);
    const summary = report.summary;
    const rss = summary.peakRssMb + (summary.platformPeakRssMb ?? 0);
    const causes = Object.entries(summary.failuresByCause).map(([cause, n]) => `${cause}: ${n}`).join(", ");
    const rows: BenchRow[] = [
      ...stopped,
      {
        section: "fleet-large", name: `${count.toLocaleString("en")} devices factory-fresh to online + report acked`, unit: "s",
        figure: round(summary.wallMs / 1000, 1), spread: spread([summary.wallMs / 1000]), goal: "completes with no failure", pass: summary.failed === 0,
        note: `${summary.online} online, ${summary.failed} failed${causes ? ` (${causes})` : ""}; ${summary.devicesPerSecond} devices/s; ${WORKERS} worker thread(s), ${CONCURRENCY} booting at once; CPU fleet ${round(report.cpuSeconds, 1)} s + platform ${round(platformCpu, 1)} s; ${limits.notes.join("; ")}`,
      },
      {
        section: "fleet-large", name: `${count.toLocaleString("en")}-device run: peak RSS, fleet process + platform process`, unit: "MB",
        figure: rss, spread: spread([rss], 0),
        note: `fleet ${summary.peakRssMb} MB (all threads) + platform ${summary.platformPeakRssMb ?? "?"} MB; ${round(report.bytesPerDevice / 1024, 1)} KiB fleet RSS growth per online device`,
      },
    ];
    return { section: "fleet-large", rows, details: { count, requested: COUNT, workers: WORKERS, summary, limits, platformCpuSeconds: platformCpu, fleetCpuSeconds: report.cpuSeconds } };
  } finally {
    await platform.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await printWhenRunAsScript(import.meta.url, runFleetLargeBench);
