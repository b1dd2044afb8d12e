/**
 * XS section of the benchmarks: what the firmware core costs on Moddable's XS engine (xsnap),
 * from xsnap's own meters. Prints JSON to stdout:
 *
 * - engine: xsnap and XS versions;
 * - programs: per XS program (bridge alone as the baseline, smoke, store, core), bundle bytes,
 *   the load crank's meters and the size of a snapshot of the machine right after loading (the
 *   image holding the program), and each one's increment over the baseline;
 * - store: compute to seal and write a record, and to read it back (what a warm boot reads);
 * - boot: cold (registers, stores, comes online) and warm (reads, comes online) boot meters
 *   against the mock platform, live heap slots after load and online (after a full GC), and
 *   a snapshot of the machine while online.
 *
 * Meters: `compute` is XS's metered steps summed over the cranks of an operation (xsnap's
 * crank meter; a machine-independent work count, not time); `heapSlots` is XS's slot count at
 * the end of a crank, garbage included (XS slots are 32 bytes on this 64-bit host, 16 on the
 * 32-bit ESP32). xsnap's `allocate` is left out: it reports the 32 MiB initial chunk xsnap
 * reserves, not what the program uses.
 *
 * Run: node --import tsx bench/xs.ts
 */
import { execFileSync } from "node:child_process";
import { pathToFileURL } from "node:url";
import type { FlashValue } from "../hal/types";
import { createMemoryFlash, type NodeFlash } from "../hal/node/flash";
import { createNodeHal } from "../hal/node/index";
import { createMemoryLogger } from "../hal/node/logger";
import type { DeviceInfo } from "../firmware/device-info";
import { startPlatform } from "../simulator/platform/index";
import { bundleForXs, ENTRIES } from "../xs/bundle";
import { startXsLane, xsLaneUnavailableReason, xsnapBinaryPath, type LaneMeters, type XsLane } from "../xs/host";

const KEY = new Uint8Array(32).fill(7);
const REGISTERED: DeviceInfo = {
  productId: "ABCDEFGHIJ",
  deviceName: "dev_001",
  productSecret: "productsecret0123456789ab",
  authMode: "psk",
  deviceSecret: "c2VjcmV0UFNLMTIzNDU2Nzg5MA==",
};

export interface OperationMeters {
  cranks: number;
  compute: number;
  heapSlotsAfter: number;
  peakHeapSlots: number;
  hostRequests: number;
}

export function summarize(meters: LaneMeters): OperationMeters {
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

function laneHal() {
  return createNodeHal({ flash: createMemoryFlash(), storageKey: KEY, logger: createMemoryLogger() });
}

interface LoadedProgram {
  bundleBytes: number;
  load: { compute: number; heapSlotsAfter: number };
  snapshotBytesAfterLoad: number;
}
type ProgramFigures = LoadedProgram | { skipped: string };

async function programFigures(entry: keyof typeof ENTRIES): Promise<ProgramFigures> {
  try {
    await bundleForXs(ENTRIES[entry]);
  } catch (error) {
    return { skipped: `does not bundle yet: ${(error as Error).message.split("\n")[0]}` };
  }
  const lane = await startXsLane({ hal: laneHal(), entry });
  try {
    return {
      bundleBytes: lane.bundleBytes,
      load: { compute: lane.loadMeter.compute, heapSlotsAfter: lane.loadMeter.currentHeapCount },
      snapshotBytesAfterLoad: await lane.snapshotBytes(),
    };
  } finally {
    await lane.close();
  }
}

async function storeFigures() {
  const lane = await startXsLane({ hal: laneHal(), entry: "store" });
  try {
    const firstWrite = await metered(lane, () => lane.invoke("setDevInfo", REGISTERED));
    const read = await metered(lane, () => lane.invoke("getDevInfo"));
    const unchangedWrite = await metered(lane, () => lane.invoke("setDevInfo", REGISTERED));
    return { setDevInfo: firstWrite, getDevInfo: read, setDevInfoUnchanged: unchangedWrite, snapshotBytesAfterWrite: await lane.snapshotBytes() };
  } finally {
    await lane.close();
  }
}


/** Adds each program's snapshot and heap increment over the bridge-only baseline. */
function withIncrements(programs: Record<string, ProgramFigures>): Record<string, unknown> {
  const base = programs.bridge;
  if (!("snapshotBytesAfterLoad" in base)) return programs;
  return Object.fromEntries(
    Object.entries(programs).map(([name, figures]) => [
      name,
      "snapshotBytesAfterLoad" in figures && name !== "bridge"
        ? {
            ...figures,
            overBaseline: {
              snapshotBytes: figures.snapshotBytesAfterLoad - base.snapshotBytesAfterLoad,
              heapSlots: figures.load.heapSlotsAfter - base.load.heapSlotsAfter,
            },
          }
        : figures,
    ]),
  );
}

const PRODUCT_SECRET = "hzvf5LF9S0isvBhDSauWMaIk";
const FACTORY: DeviceInfo = { productId: "ABCDEFGHIJ", deviceName: "dev001", productSecret: PRODUCT_SECRET, authMode: "psk" };

/** Live heap slots: the heap count of a crank that only runs a full garbage collection. */
async function liveHeapSlots(lane: XsLane): Promise<number> {
  const meters = await metered(lane, () => lane.invoke("lane.gc"));
  return meters.heapSlotsAfter;
}

/**
 * Cold boot (empty flash: register over HTTP, store the record, connect, first report
 * acknowledged) and warm boot (record in flash: connect, report) on XS against the mock
 * platform on 127.0.0.1. Each is measured from `boot` to online, host I/O excluded by nature:
 * the meters count only XS work, bridge encoding included (see hostRequests).
 */
async function runXsBootBench(): Promise<Record<string, unknown>> {
  const platform = await startPlatform({
    memory: true,
    config: { products: [{ productId: FACTORY.productId, productSecret: PRODUCT_SECRET, dynamicRegistration: true, authType: "psk", devices: [FACTORY.deviceName] }] },
  });
  const flash = createMemoryFlash();
  let current: NodeFlash = flash;
  const swappable = {
    get: (namespace: string, key: string) => current.get(namespace, key),
    set: (namespace: string, key: string, value: FlashValue) => current.set(namespace, key, value),
    delete: (namespace: string, key: string) => current.delete(namespace, key),
    keys: (namespace: string) => current.keys(namespace),
  };
  const lane = await startXsLane({ hal: createNodeHal({ flash: swappable, storageKey: KEY, logger: createMemoryLogger() }), entry: "core" });
  const options = {
    registerUrl: `${platform.httpUrl}/device/register`,
    mqttUrl: platform.mqttUrl,
    factoryInfo: FACTORY,
    initialReport: { power: 1 },
    keepAliveSeconds: 60,
  };
  try {
    const liveAfterLoad = await liveHeapSlots(lane);
    const cold = await metered(lane, () => lane.invoke("boot", options));
    const coldWrites = current.stats().writesSinceOpen;
    const liveOnline = await liveHeapSlots(lane);
    const snapshotBytesOnline = await lane.snapshotBytes();
    const report = await metered(lane, () => lane.invoke("report", { power: 2 }));
    await lane.invoke("stop");

    current = flash.reboot();
    const warm = await metered(lane, () => lane.invoke("boot", options));
    const warmWrites = current.stats().writesSinceOpen;
    await lane.invoke("stop");
    return {
      cold: { ...cold, flashWrites: coldWrites },
      warm: { ...warm, flashWrites: warmWrites },
      reportRoundTrip: report,
      liveHeapSlots: { afterLoad: liveAfterLoad, online: liveOnline },
      snapshotBytesOnline,
    };
  } finally {
    await lane.close();
    await platform.close();
  }
}

export async function runXsBench(): Promise<Record<string, unknown>> {
  const unavailable = xsLaneUnavailableReason();
  if (unavailable !== undefined) return { skipped: unavailable };
  const version = execFileSync(xsnapBinaryPath(), ["-v"], { encoding: "utf8" }).trim();
  return {
    engine: version,
    programs: withIncrements({
      bridge: await programFigures("bridge"),
      smoke: await programFigures("smoke"),
      store: await programFigures("store"),
      core: await programFigures("core"),
    }),
    store: await storeFigures(),
    boot: await runXsBootBench(),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const figures = await runXsBench();
  if ("skipped" in figures) console.error(`!!! XS bench skipped: ${String(figures.skipped)}`);
  process.stdout.write(`${JSON.stringify({ xs: figures }, null, 2)}\n`);
}
