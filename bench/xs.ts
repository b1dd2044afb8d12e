/**
 * XS section of the benchmarks: what the firmware core costs on Moddable's XS engine (xsnap
 * 0.15, the XS the ESP32 runs, here on a 64-bit host with nothing preloaded), from xsnap's own
 * meters. Prints one line of JSON (bench/lib/row.ts SectionOutput) on stdout; `details` holds
 * every figure:
 *
 * - programs: per XS program (bridge alone = the baseline, smoke, store, core), bundle bytes,
 *   the load crank's compute, live heap slots after load (after a full GC) and the size of a
 *   snapshot of the machine holding the loaded program, each also as an increment over the
 *   baseline;
 * - store: compute to seal and write a record, to read it back (what a warm boot reads), and to
 *   store it unchanged;
 * - boot (RUNS fresh lanes): cold boot (empty flash: register over HTTP, store the record,
 *   connect, first report acknowledged) and warm boot (record in flash) against the mock
 *   platform on 127.0.0.1, from `boot` to online; a report round trip; live heap and a
 *   snapshot while online.
 *
 * Meters: `compute` is XS's metered steps summed over the cranks of an operation (a work count
 * independent of the machine, not time); it includes the bridge's JSON encoding, whose share
 * grows with `hostRequests`. Heap slots are XS's 32-byte (64-bit host) / 16-byte (ESP32) slots;
 * chunks (strings, byte arrays, bytecode) are not slots and show only in the snapshot size.
 * xsnap's `allocate` is left out: it reports the 32 MiB chunk xsnap reserves up front.
 *
 * Run: node --import tsx bench/xs.ts
 */
import { execFileSync } from "node:child_process";
import type { FlashValue } from "../firmware/contracts";
import { createMemoryFlash, type NodeFlash } from "../hal/node/flash";
import { createNodeHal } from "../hal/node/index";
import { createMemoryLogger } from "../hal/node/logger";
import type { DeviceInfo } from "../firmware/device-info";
import { startPlatform } from "../simulator/platform/index";
import { bundleForXs, ENTRIES } from "../xs/bundle";
import { startXsLane, xsLaneUnavailableReason, xsnapBinaryPath, type LaneMeters, type XsLane } from "../xs/host";
import { printWhenRunAsScript, type BenchRow, type SectionOutput } from "./lib/row";
import { spread } from "./lib/stats";

const RUNS = 3;
/** Bytes per XS slot on the ESP32 (32-bit XS), to read slot counts as RAM. */
const ESP32_SLOT_BYTES = 16;
const KEY = new Uint8Array(32).fill(7);
const PRODUCT_SECRET = "hzvf5LF9S0isvBhDSauWMaIk";
const FACTORY: DeviceInfo = { productId: "ABCDEFGHIJ", deviceName: "dev001", productSecret: PRODUCT_SECRET, authMode: "psk" };
const REGISTERED: DeviceInfo = { ...FACTORY, deviceSecret: "c2VjcmV0UFNLMTIzNDU2Nzg5MA==" };

export interface OperationMeters {
  cranks: number;
  compute: number;
  /** Slots at the end of the last crank, garbage included. */
  heapSlotsAfter: number;
  peakHeapSlots: number;
  /** Round trips XS made to the host (HAL calls, results, events). */
  hostRequests: number;
}

function summarize(meters: LaneMeters): OperationMeters {
  return {
    cranks: meters.cranks,
    compute: meters.compute,
    heapSlotsAfter: meters.currentHeapCount,
    peakHeapSlots: meters.peakHeapCount,
    hostRequests: meters.hostRequests,
  };
}

/** Runs `operation` and returns the meters of the cranks it caused. */
export async function metered(lane: XsLane, operation: () => Promise<unknown>): Promise<OperationMeters> {
  await lane.idle();
  lane.resetMeters();
  await operation();
  await lane.idle();
  return summarize(lane.meters());
}

/** Live heap slots: the heap count of a crank that only runs a full garbage collection. */
async function liveHeapSlots(lane: XsLane): Promise<number> {
  return (await metered(lane, () => lane.invoke("lane.gc"))).heapSlotsAfter;
}

function laneHal() {
  return createNodeHal({ flash: createMemoryFlash(), storageKey: KEY, logger: createMemoryLogger() });
}

// ---- Programs ------------------------------------------------------------------------------

interface ProgramFigures {
  bundleBytes: number;
  loadCompute: number;
  liveHeapSlotsAfterLoad: number;
  snapshotBytesAfterLoad: number;
  overBaseline?: { liveHeapSlots: number; snapshotBytes: number };
}

async function programFigures(entry: keyof typeof ENTRIES): Promise<ProgramFigures> {
  const lane = await startXsLane({ hal: laneHal(), entry });
  try {
    return {
      bundleBytes: lane.bundleBytes,
      loadCompute: lane.loadMeter.compute,
      liveHeapSlotsAfterLoad: await liveHeapSlots(lane),
      snapshotBytesAfterLoad: await lane.snapshotBytes(),
    };
  } finally {
    await lane.close();
  }
}

async function allPrograms(): Promise<Record<string, ProgramFigures>> {
  const programs: Record<string, ProgramFigures> = {};
  for (const entry of ["bridge", "smoke", "store", "core"] as const) programs[entry] = await programFigures(entry);
  const base = programs.bridge;
  for (const [name, figures] of Object.entries(programs)) {
    if (name === "bridge") continue;
    figures.overBaseline = {
      liveHeapSlots: figures.liveHeapSlotsAfterLoad - base.liveHeapSlotsAfterLoad,
      snapshotBytes: figures.snapshotBytesAfterLoad - base.snapshotBytesAfterLoad,
    };
  }
  return programs;
}

// ---- Record store --------------------------------------------------------------------------

async function storeFigures() {
  const lane = await startXsLane({ hal: laneHal(), entry: "store" });
  try {
    return {
      setDevInfo: await metered(lane, () => lane.invoke("setDevInfo", REGISTERED)),
      getDevInfo: await metered(lane, () => lane.invoke("getDevInfo")),
      setDevInfoUnchanged: await metered(lane, () => lane.invoke("setDevInfo", REGISTERED)),
    };
  } finally {
    await lane.close();
  }
}

// ---- Boot ----------------------------------------------------------------------------------

interface BootFigures {
  cold: OperationMeters & { flashWrites: number };
  warm: OperationMeters & { flashWrites: number };
  reportRoundTrip: OperationMeters;
  liveHeapSlots: { afterLoad: number; online: number };
  snapshotBytesOnline: number;
}

/** One fresh lane and platform: cold boot, a report, stop; then a warm boot on the same flash. */
async function bootRun(): Promise<BootFigures> {
  const platform = await startPlatform({
    memory: true,
    config: { products: [{ productId: FACTORY.productId, productSecret: PRODUCT_SECRET, dynamicRegistration: true, authType: "psk", devices: [FACTORY.deviceName] }] },
  });
  const flash = createMemoryFlash();
  let current: NodeFlash = flash;
  const rebootable = {
    get: (namespace: string, key: string) => current.get(namespace, key),
    set: (namespace: string, key: string, value: FlashValue) => current.set(namespace, key, value),
    delete: (namespace: string, key: string) => current.delete(namespace, key),
    keys: (namespace: string) => current.keys(namespace),
  };
  const lane = await startXsLane({ hal: createNodeHal({ flash: rebootable, storageKey: KEY, logger: createMemoryLogger() }), entry: "core" });
  const options = {
    registerUrl: `${platform.httpUrl}/device/register`,
    mqttUrl: platform.mqttUrl,
    factoryInfo: FACTORY,
    initialReport: { power: 1 },
    keepAliveSeconds: 60,
  };
  try {
    const afterLoad = await liveHeapSlots(lane);
    const cold = await metered(lane, () => lane.invoke("boot", options));
    const coldWrites = current.stats().writesSinceOpen;
    const online = await liveHeapSlots(lane);
    const snapshotBytesOnline = await lane.snapshotBytes();
    const reportRoundTrip = await metered(lane, () => lane.invoke("report", { power: 2 }));
    await lane.invoke("stop");

    current = flash.reboot();
    const warm = await metered(lane, () => lane.invoke("boot", options));
    const warmWrites = current.stats().writesSinceOpen;
    await lane.invoke("stop");
    return {
      cold: { ...cold, flashWrites: coldWrites },
      warm: { ...warm, flashWrites: warmWrites },
      reportRoundTrip,
      liveHeapSlots: { afterLoad, online },
      snapshotBytesOnline,
    };
  } finally {
    await lane.close();
    await platform.close();
  }
}

// ---- Section -------------------------------------------------------------------------------

function row(name: string, unit: string, values: number[], extra: Partial<BenchRow> = {}): BenchRow {
  const figures = spread(values, 0);
  return { section: "xs", name, unit, figure: figures.median, spread: figures, ...extra };
}

const kib = (slots: number) => `${Math.round((slots * ESP32_SLOT_BYTES) / 1024)} KiB at ${ESP32_SLOT_BYTES} B/slot on the ESP32, before preload`;

export async function runXsBench(): Promise<SectionOutput> {
  const unavailable = xsLaneUnavailableReason();
  if (unavailable !== undefined) {
    console.error(`!!! XS bench skipped: ${unavailable}`);
    return { section: "xs", rows: [], details: { skipped: unavailable } };
  }
  const engine = execFileSync(xsnapBinaryPath(), ["-v"], { encoding: "utf8" }).trim();
  const programs = await allPrograms();
  const store = await storeFigures();
  const boots: BootFigures[] = [];
  for (let run = 0; run < RUNS; run++) boots.push(await bootRun());

  const core = programs.core;
  const baseline = programs.bridge.liveHeapSlotsAfterLoad;
  const onlineOverBaseline = boots.map((boot) => boot.liveHeapSlots.online - baseline);
  const rows: BenchRow[] = [
    row("core bundle (esbuild, unminified)", "bytes", [core.bundleBytes]),
    row("core live heap over the engine baseline, after load", "slots", [core.overBaseline!.liveHeapSlots], { note: kib(core.overBaseline!.liveHeapSlots) }),
    row("core live heap over the engine baseline, online", "slots", onlineOverBaseline, { note: kib(Math.max(...onlineOverBaseline)) }),
    row("snapshot holding the loaded core", "bytes", [core.snapshotBytesAfterLoad], { note: `engine baseline ${programs.bridge.snapshotBytesAfterLoad} bytes` }),
    row("snapshot while online", "bytes", boots.map((boot) => boot.snapshotBytesOnline)),
    row("cold boot compute (register, store, connect, report acked)", "XS meter steps", boots.map((boot) => boot.cold.compute)),
    row("warm boot compute (read record, connect, report acked)", "XS meter steps", boots.map((boot) => boot.warm.compute)),
    row("report round trip compute", "XS meter steps", boots.map((boot) => boot.reportRoundTrip.compute)),
    row("cold boot flash writes", "writes", boots.map((boot) => boot.cold.flashWrites), { note: "the registered record, mirrored into both slots" }),
    row("warm boot flash writes", "writes", boots.map((boot) => boot.warm.flashWrites), {
      goal: "0: a normal boot costs no flash wear",
      pass: boots.every((boot) => boot.warm.flashWrites === 0),
    }),
  ];
  return { section: "xs", rows, details: { engine, runs: RUNS, programs, store, boot: boots } };
}

await printWhenRunAsScript(import.meta.url, runXsBench);
