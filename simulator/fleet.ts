/**
 * The fleet runner: N simulated devices, each with its own flash (an in-memory NVS partition,
 * or a file under `flashDir`), each through the full
 * boot task, at most `concurrency` booting at once. Online devices stay connected until all
 * have finished, so the memory figure is that of N live devices.
 */
import { join } from "node:path";
import type { DeviceInfo } from "../firmware/device-info";
import type { ExplorerError } from "../firmware/errors";
import type { HttpClient, SocketTransport } from "../hal/types";
import { nodeCrypto } from "../hal/node/crypto";
import { createNodeHttpClient } from "../hal/node/http";
import { createNodeSocketTransport } from "../hal/node/socket";
import { startSimDevice, type SimDevice } from "./sim-device";

export interface FleetOptions {
  count: number;
  concurrency: number;
  prefix: string;
  productId: string;
  productSecret: string;
  registerUrl: string;
  mqttUrl: string;
  /**
   * Keep each device's flash in a file here (fsynced on every commit, eFuse key beside it).
   * Without it, each device's flash is the same NVS emulation in memory and its eFuse key too:
   * a throwaway fleet gains nothing from files, and their commits were a tenth of its CPU.
   */
  flashDir?: string;
  onProgress?: (done: number, online: number) => void;
  /** Per-device boot limits: a device that cannot come online in this many attempts fails. */
  maxAttempts?: number;
}

export interface FleetSummary {
  count: number;
  online: number;
  failed: number;
  failuresByCause: Record<string, number>;
  /** Backoff waits across the fleet, by the cause that led to them. */
  retriesByCause: Record<string, number>;
  timeToOnlineMs: { p50: number; p95: number; p99: number; max: number };
  flashWritesPerDevice: { mean: number; max: number };
  wallMs: number;
  devicesPerSecond: number;
  peakRssMb: number;
}

export function deviceName(prefix: string, index: number): string {
  return `${prefix}-${index}`;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

export async function runFleet(options: FleetOptions): Promise<FleetSummary> {
  const http: HttpClient = createNodeHttpClient();
  const socket: SocketTransport = createNodeSocketTransport();
  const devices: SimDevice[] = [];
  const times: number[] = [];
  const failuresByCause: Record<string, number> = {};
  const retriesByCause: Record<string, number> = {};
  let flashWritesTotal = 0;
  let flashWritesMax = 0;
  let peakRss = process.memoryUsage().rss;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
  const started = performance.now();
  let next = 0;
  let done = 0;
  let online = 0;

  const bootOne = async (index: number) => {
    const name = deviceName(options.prefix, index);
    const factoryInfo: DeviceInfo = { productId: options.productId, productSecret: options.productSecret, deviceName: name, authMode: "psk" };
    const bootStarted = performance.now();
    const device = startSimDevice({
      flashFile: options.flashDir !== undefined ? join(options.flashDir, `${name}.flash`) : undefined,
      registerUrl: options.registerUrl,
      mqttUrl: options.mqttUrl,
      factoryInfo,
      ...(options.flashDir !== undefined ? {} : { storageKey: nodeCrypto.randomBytes(32) }),
      http,
      socket,
      logger: { log: () => undefined },
      boot: { backoff: { baseMs: 200, capMs: 5000, maxAttempts: options.maxAttempts ?? 8 }, initialReport: { index } },
    });
    devices.push(device);
    device.task.onState((event) => {
      if (event.state !== "backoff") return;
      const cause = event.detail?.split(":")[0] ?? "unknown";
      retriesByCause[cause] = (retriesByCause[cause] ?? 0) + 1;
    });
    try {
      await device.task.online;
      times.push(performance.now() - bootStarted);
      online++;
    } catch (error) {
      const code = (error as ExplorerError).code ?? "internal";
      failuresByCause[code] = (failuresByCause[code] ?? 0) + 1;
    }
    flashWritesTotal += device.counters.flashWrites;
    flashWritesMax = Math.max(flashWritesMax, device.counters.flashWrites);
    done++;
    options.onProgress?.(done, online);
  };

  const worker = async () => {
    while (next < options.count) await bootOne(next++);
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, options.count) }, worker));
  const wallMs = performance.now() - started;
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  clearInterval(rssTimer);
  await Promise.all(devices.map((device) => device.close()));
  times.sort((a, b) => a - b);
  const round = (value: number) => Math.round(value * 10) / 10;
  return {
    count: options.count,
    online,
    failed: options.count - online,
    failuresByCause,
    retriesByCause,
    timeToOnlineMs: { p50: round(percentile(times, 50)), p95: round(percentile(times, 95)), p99: round(percentile(times, 99)), max: round(times[times.length - 1] ?? 0) },
    flashWritesPerDevice: { mean: round(flashWritesTotal / Math.max(1, options.count)), max: flashWritesMax },
    wallMs: Math.round(wallMs),
    devicesPerSecond: round((online / wallMs) * 1000),
    peakRssMb: Math.round(peakRss / 1024 / 1024),
  };
}
