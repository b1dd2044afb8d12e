/**
 * The fleet runner: N simulated devices, each with its own flash (an in-memory NVS partition,
 * or a file under `flashDir`), each through the full boot task, at most `concurrency` booting
 * at once. Online devices stay connected until all have finished, so the memory figure is that
 * of N live devices.
 *
 * With `workers` > 0 the devices are split into that many shards, each booted by a worker
 * thread running the compiled simulator/fleet-worker.ts (dist/fleet-worker.js): one event loop
 * per core. The calling thread only adds up progress and results, so there is one progress
 * callback and one summary whatever the split. Threads rather than processes: one process's RSS
 * is the fleet's whole memory, and a shard's results come back as one structured-clone message.
 */
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
import type { DeviceInfo } from "../firmware/device-info";
import type { ExplorerError } from "../firmware/errors";
import type { HttpClient, SocketTransport } from "../firmware/contracts";
import { nodeCrypto } from "../hal/node/crypto";
import { NodeApplicationSlots } from "../hal/node/app-slots";
import { createNodeHttpClient } from "../hal/node/http";
import { createNodeSocketTransport } from "../hal/node/socket";
import { trustAnchorsFor } from "./trust-anchors";
import { compiledEntry } from "./paths";
import { startSimDevice, type SimDevice } from "./sim-device";
import { parseTemplateText } from "./platform/thing-model/template";
import { plausibleReport } from "./template-values";

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
  /** The product's data template (JSON text): each device reports plausible values for every property, seeded by its name. */
  templateText?: string;
  /** Worker threads to boot the devices on (0: all in this thread, the default). */
  workers?: number;
  /** A local platform process: the summary reports its peak RSS too (Linux /proc). */
  platformPid?: number;
  /**
   * Firmware update on: each device gets two application slots in memory with a factory image of
   * this version, reports it, and reboots in place (same flash, same key) when an update restarts it.
   */
  firmwareVersion?: string;
  /** Runs once every device is online or failed, before they are disconnected (`fleet --ota`'s rollout). */
  whileOnline?: (fleet: OnlineFleet) => Promise<FleetOtaSummary>;
}

/** The booted fleet, as `whileOnline` sees it. */
export interface OnlineFleet {
  /** The devices that came online, by name. */
  onlineNames: string[];
  /** What the devices did about firmware updates so far, added up over the shards. */
  otaResults(): Promise<ShardOtaResult>;
}

/** A shard's firmware update record (devices run with `firmwareVersion`). */
export interface ShardOtaResult {
  /** When each device confirmed a new image online (Date.now(), comparable across threads). */
  confirmedAt: number[];
  /** Bytes of firmware the devices downloaded (their GET responses' bodies). */
  bytesDownloaded: number;
  /** Restarts into a new image. */
  restarts: number;
}

/** What `fleet --ota` reports (simulator/fleet-ota.ts). */
export interface FleetOtaSummary {
  version: string;
  fromVersion: string;
  imageBytes: number;
  taskId: number;
  /** Devices in the task. */
  devices: number;
  updated: number;
  failed: number;
  /** Devices that did not end updated, by cause (Tencent's status, the device's result code). */
  failuresByCause: Record<string, number>;
  /** From the BatchUpdateFirmware call to each device confirming the new image online. */
  timeToUpdatedMs: { p50: number; p95: number; p99: number; max: number };
  /** From BatchUpdateFirmware to the task's every device ended. */
  rolloutMs: number;
  /** Firmware bytes the platform served to the devices (counted as they received them). */
  bytesServed: number;
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
  /** From the first boot started to the last device online (or failed), worker start-up included. */
  wallMs: number;
  devicesPerSecond: number;
  /** Worker threads used (0: the devices ran in the calling thread). */
  workers: number;
  /** Peak RSS of the fleet process, all its threads (the kernel's high-water mark). */
  peakRssMb: number;
  /** Peak RSS of the local platform process, when the fleet started one. */
  platformPeakRssMb?: number;
  /** The rollout of `fleet --ota`, after every device was online. */
  ota?: FleetOtaSummary;
}

/** One shard's devices: indices `first` .. `first + count - 1` of the fleet. */
export interface ShardOptions extends Omit<FleetOptions, "onProgress" | "workers" | "platformPid" | "count" | "whileOnline"> {
  first: number;
  count: number;
}

/** What a shard reports once every one of its devices is online or failed. */
export interface ShardResult {
  online: number;
  /** Time-to-online of each device that came online, in ms. */
  times: number[];
  failuresByCause: Record<string, number>;
  retriesByCause: Record<string, number>;
  flashWritesTotal: number;
  flashWritesMax: number;
  /** The devices that came online (with `firmwareVersion` only: a rollout names them). */
  onlineNames?: string[];
}

export interface BootedShard {
  result: ShardResult;
  /** The shard's firmware update record so far. */
  ota(): ShardOtaResult;
  /** Disconnects every device of the shard. */
  close(): Promise<void>;
}

/** The node options a fleet and its platform run with (simulator/fleet-node-args.ts). */
export { FLEET_NODE_ARGS, FLEET_PLATFORM_NODE_ARGS } from "./fleet-node-args";

export function deviceName(prefix: string, index: number): string {
  return `${prefix}-${index}`;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

/** Boots one shard in this thread, reporting the shard's devices done and online after each; they stay online until `close()`. */
export async function bootShard(options: ShardOptions, onProgress?: (done: number, online: number) => void): Promise<BootedShard> {
  // One set of transports for the shard, trusting what each device's own would (Tencent's pinned roots on Tencent's URLs).
  const anchors = trustAnchorsFor(options.registerUrl, options.mqttUrl);
  const ota: ShardOtaResult = { confirmedAt: [], bytesDownloaded: 0, restarts: 0 };
  const shared: HttpClient = createNodeHttpClient({ ca: anchors.registerCa });
  // A device GETs only firmware (registration is a POST): its bodies are the bytes served.
  const http: HttpClient = options.firmwareVersion === undefined ? shared : {
    async request(request) {
      const response = await shared.request(request);
      if (request.method === "GET") ota.bytesDownloaded += response.body.length;
      return response;
    },
  };
  const socket: SocketTransport = createNodeSocketTransport({ ca: anchors.mqttCa });
  /** The running device of each index (an update's restart replaces it). */
  const devices = new Map<number, SimDevice>();
  const result: ShardResult = { online: 0, times: [], failuresByCause: {}, retriesByCause: {}, flashWritesTotal: 0, flashWritesMax: 0, ...(options.firmwareVersion !== undefined ? { onlineNames: [] } : {}) };
  let closing = false;
  const end = options.first + options.count;
  let next = options.first;
  let done = 0;
  // Parsed once per shard: workers get the text, which crosses threads as is.
  const template = options.templateText !== undefined ? parseTemplateText(options.templateText) : undefined;

  /** Powers device `index` on: the first boot, or a reboot in place with the flash, key and slots it had. */
  const powerOn = (index: number, board?: { flash: SimDevice["flash"]; storageKey?: Uint8Array; slots?: ConfirmedSlots }): SimDevice => {
    const name = deviceName(options.prefix, index);
    const factoryInfo: DeviceInfo = { productId: options.productId, productSecret: options.productSecret, deviceName: name, authMode: "psk" };
    const storageKey = board?.storageKey ?? (options.flashDir !== undefined ? undefined : nodeCrypto.randomBytes(32));
    const slots = board?.slots ?? (options.firmwareVersion !== undefined ? new ConfirmedSlots(options.firmwareVersion, () => ota.confirmedAt.push(Date.now())) : undefined);
    slots?.boot();
    const device: SimDevice = startSimDevice({
      ...(board ? { flash: board.flash } : { flashFile: options.flashDir !== undefined ? join(options.flashDir, `${name}.flash`) : undefined }),
      registerUrl: options.registerUrl,
      mqttUrl: options.mqttUrl,
      factoryInfo,
      ...(storageKey ? { storageKey } : {}),
      http,
      socket,
      logger: { log: () => undefined },
      ...(slots ? { slots } : {}),
      boot: {
        backoff: { baseMs: 200, capMs: 5000, maxAttempts: options.maxAttempts ?? 8 },
        initialReport: template ? plausibleReport(template, name) : { index },
        // An update restarts the board: the same device boots again into the new slot.
        ...(slots ? { ota: { restart: () => {
          ota.restarts++;
          void device.close().then(() => { if (!closing) devices.set(index, powerOn(index, { flash: device.flash, storageKey, slots })); });
        } } } : {}),
      },
    });
    devices.set(index, device);
    return device;
  };

  const bootOne = async (index: number) => {
    const bootStarted = performance.now();
    const device = powerOn(index);
    device.task.onState((event) => {
      if (event.state !== "backoff") return;
      const cause = event.detail?.split(":")[0] ?? "unknown";
      result.retriesByCause[cause] = (result.retriesByCause[cause] ?? 0) + 1;
    });
    try {
      await device.task.online;
      result.times.push(performance.now() - bootStarted);
      result.online++;
      result.onlineNames?.push(deviceName(options.prefix, index));
    } catch (error) {
      const code = (error as ExplorerError).code ?? "internal";
      result.failuresByCause[code] = (result.failuresByCause[code] ?? 0) + 1;
    }
    result.flashWritesTotal += device.counters.flashWrites;
    result.flashWritesMax = Math.max(result.flashWritesMax, device.counters.flashWrites);
    onProgress?.(++done, result.online);
  };

  const worker = async () => {
    while (next < end) await bootOne(next++);
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, options.count) }, worker));
  return {
    result,
    ota: () => ({ ...ota, confirmedAt: [...ota.confirmedAt] }),
    close: async () => {
      closing = true;
      await Promise.all([...devices.values()].map((device) => device.close()));
    },
  };
}

/** Application slots that say when the firmware confirms a new image (the moment a device counts as updated). */
class ConfirmedSlots extends NodeApplicationSlots {
  constructor(factoryVersion: string, private readonly onConfirmed: () => void) {
    super({ factoryVersion });
  }

  override confirm(): void {
    const trial = this.onTrial();
    super.confirm();
    if (trial) this.onConfirmed();
  }
}

/** Messages between the fleet and a shard's worker thread (simulator/fleet-worker.ts). */
export type ToShardWorker = { type: "close" } | { type: "ota" };
export type FromShardWorker =
  | { type: "progress"; done: number; online: number }
  | { type: "booted"; result: ShardResult }
  | { type: "ota"; result: ShardOtaResult }
  | { type: "closed" };

/** Splits `count` devices and `concurrency` slots over `shards` as evenly as whole numbers allow. */
export function splitShards(count: number, concurrency: number, shards: number): Array<{ first: number; count: number; concurrency: number }> {
  const used = Math.max(1, Math.min(shards, count));
  const split = [];
  let first = 0;
  for (let shard = 0; shard < used; shard++) {
    const size = Math.floor(count / used) + (shard < count % used ? 1 : 0);
    const slots = Math.max(1, Math.floor(concurrency / used) + (shard < concurrency % used ? 1 : 0));
    split.push({ first, count: size, concurrency: slots });
    first += size;
  }
  return split;
}

interface ShardHandle {
  booted: Promise<ShardResult>;
  ota(): Promise<ShardOtaResult>;
  close(): Promise<void>;
}

/** Runs one shard on a worker thread; a crashed worker fails its devices that had not finished. */
function startShardWorker(shard: ShardOptions, onProgress: (done: number, online: number) => void): ShardHandle {
  const worker = new Worker(compiledEntry("fleet-worker"), { workerData: shard });
  let closed: () => void = () => undefined;
  const closedPromise = new Promise<void>((resolve) => (closed = resolve));
  let progress = { done: 0, online: 0 };
  let finished = false;
  const otaWaiters: Array<(result: ShardOtaResult) => void> = [];
  const booted = new Promise<ShardResult>((resolve) => {
    const crashed = (why: string) => {
      closed();
      if (finished) return;
      finished = true;
      onProgress(shard.count, progress.online);
      resolve({ online: progress.online, times: [], failuresByCause: { [`worker-crashed: ${why}`]: shard.count - progress.online }, retriesByCause: {}, flashWritesTotal: 0, flashWritesMax: 0 });
    };
    worker.on("message", (message: FromShardWorker) => {
      if (message.type === "progress") {
        progress = message;
        onProgress(message.done, message.online);
      } else if (message.type === "booted") {
        finished = true;
        resolve(message.result);
      } else if (message.type === "ota") otaWaiters.shift()?.(message.result);
      else if (message.type === "closed") closed();
    });
    worker.once("error", (error) => crashed(error.message));
    worker.once("exit", (code) => crashed(`exit code ${code}`));
  });
  return {
    booted,
    // A crashed worker's devices are gone: nothing more to add up from it.
    ota: () => new Promise<ShardOtaResult>((resolve) => {
      if (worker.threadId === -1) return resolve({ confirmedAt: [], bytesDownloaded: 0, restarts: 0 });
      otaWaiters.push(resolve);
      worker.postMessage({ type: "ota" } satisfies ToShardWorker);
    }),
    close: async () => {
      worker.postMessage({ type: "close" } satisfies ToShardWorker);
      await closedPromise;
      await worker.terminate();
    },
  };
}

/** Peak RSS (VmHWM) of another process in MB, from /proc (Linux); undefined elsewhere. */
export function peakRssMbOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb === undefined ? undefined : Math.round(Number(kb) / 1024);
  } catch {
    return undefined;
  }
}

export async function runFleet(options: FleetOptions): Promise<FleetSummary> {
  const workers = Math.max(0, Math.min(options.workers ?? 0, options.count));
  const { onProgress, workers: _workers, platformPid: _pid, whileOnline, ...common } = options;
  const shards = splitShards(options.count, options.concurrency, Math.max(1, workers));
  const started = performance.now();
  let results: ShardResult[];
  let closeAll: () => Promise<void>;
  let otaResults: () => Promise<ShardOtaResult[]>;

  if (workers === 0) {
    const booted = await bootShard({ ...common, first: 0, count: options.count }, onProgress);
    results = [booted.result];
    closeAll = booted.close;
    otaResults = async () => [booted.ota()];
  } else {
    const progress = shards.map(() => ({ done: 0, online: 0 }));
    const handles = shards.map((shard, index) => startShardWorker({ ...common, ...shard }, (done, online) => {
      progress[index] = { done, online };
      onProgress?.(progress.reduce((sum, p) => sum + p.done, 0), progress.reduce((sum, p) => sum + p.online, 0));
    }));
    results = await Promise.all(handles.map((handle) => handle.booted));
    closeAll = async () => { await Promise.all(handles.map((handle) => handle.close())); };
    otaResults = () => Promise.all(handles.map((handle) => handle.ota()));
  }
  const wallMs = performance.now() - started;
  const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  const platformPeakRssMb = peakRssMbOf(options.platformPid);
  let ota: FleetOtaSummary | undefined;
  try {
    if (whileOnline) {
      ota = await whileOnline({
        onlineNames: results.flatMap((result) => result.onlineNames ?? []),
        otaResults: async () => {
          const parts = await otaResults();
          return { confirmedAt: parts.flatMap((part) => part.confirmedAt), bytesDownloaded: parts.reduce((sum, part) => sum + part.bytesDownloaded, 0), restarts: parts.reduce((sum, part) => sum + part.restarts, 0) };
        },
      });
    }
  } finally {
    await closeAll();
  }
  return { ...summarise(options.count, results, wallMs, workers, peakRssMb, platformPeakRssMb), ...(ota ? { ota } : {}) };
}

function summarise(count: number, results: ShardResult[], wallMs: number, workers: number, peakRssMb: number, platformPeakRssMb: number | undefined): FleetSummary {
  const times = results.flatMap((result) => result.times).sort((a, b) => a - b);
  const online = results.reduce((sum, result) => sum + result.online, 0);
  const addUp = (pick: (result: ShardResult) => Record<string, number>) => {
    const total: Record<string, number> = {};
    for (const result of results) for (const [cause, n] of Object.entries(pick(result))) total[cause] = (total[cause] ?? 0) + n;
    return total;
  };
  const flashWritesTotal = results.reduce((sum, result) => sum + result.flashWritesTotal, 0);
  const round = (value: number) => Math.round(value * 10) / 10;
  return {
    count,
    online,
    failed: count - online,
    failuresByCause: addUp((result) => result.failuresByCause),
    retriesByCause: addUp((result) => result.retriesByCause),
    timeToOnlineMs: { p50: round(percentile(times, 50)), p95: round(percentile(times, 95)), p99: round(percentile(times, 99)), max: round(times[times.length - 1] ?? 0) },
    flashWritesPerDevice: { mean: round(flashWritesTotal / Math.max(1, count)), max: Math.max(0, ...results.map((result) => result.flashWritesMax)) },
    wallMs: Math.round(wallMs),
    devicesPerSecond: round((online / wallMs) * 1000),
    workers,
    peakRssMb,
    ...(platformPeakRssMb !== undefined ? { platformPeakRssMb } : {}),
  };
}
