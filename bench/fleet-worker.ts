/**
 * The fleet under measurement, in its own process: simulator/fleet.ts `runFleet` against a
 * platform running in another process, exactly as `explorer-xs fleet` runs it, plus the
 * process's RSS just before the first boot and at the moment the last device came online (the
 * same two samples bench/ceiling/bare-devices.mjs takes), for the per-device memory figure.
 * Forked by bench/fleet.ts; one task, one report, then exits.
 */
import { runFleet, type FleetSummary } from "../simulator/fleet";

export interface FleetTask {
  count: number;
  concurrency: number;
  prefix: string;
  productId: string;
  productSecret: string;
  registerUrl: string;
  mqttUrl: string;
  /** Worker threads, as `explorer-xs fleet --workers`. */
  workers: number;
  /** The platform process, whose peak RSS the summary reports. */
  platformPid?: number;
  /** Boot attempts per device (runFleet's default when absent). */
  maxAttempts?: number;
}

export interface FleetReport {
  summary: FleetSummary;
  rssBeforeBytes: number;
  rssAllOnlineBytes: number;
  bytesPerDevice: number;
  /** CPU time (user + system) this process spent until the last device was online. */
  cpuSeconds: number;
}

/** Fork with FLEET_NODE_ARGS (simulator/fleet.ts), as `explorer-xs fleet` runs its devices. */
export async function runFleetTask(task: FleetTask): Promise<FleetReport> {
  const rssBeforeBytes = process.memoryUsage().rss;
  let rssAllOnlineBytes = 0;
  const cpuBefore = process.cpuUsage();
  let cpuAllOnline = { user: 0, system: 0 };
  const summary = await runFleet({
    ...task, // no flashDir: each device's flash in memory, what `explorer-xs fleet` does by default
    onProgress: (done) => {
      if (done !== task.count) return;
      rssAllOnlineBytes = process.memoryUsage().rss;
      cpuAllOnline = process.cpuUsage(cpuBefore);
    },
  });
  const cpu = cpuAllOnline;
  return {
    summary,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    rssBeforeBytes,
    rssAllOnlineBytes,
    bytesPerDevice: Math.max(0, rssAllOnlineBytes - rssBeforeBytes) / Math.max(1, summary.online),
  };
}

if (process.send) {
  process.once("message", (task: FleetTask) => {
    runFleetTask(task).then(
      (report) => process.send!(report, () => process.exit(0)),
      (error) => { console.error(error); process.exit(1); },
    );
  });
}
