/**
 * XS section of the benchmarks: what the firmware core costs on Moddable's XS engine (xsnap),
 * from xsnap's own meters. Prints JSON to stdout:
 *
 * - engine: xsnap and XS versions;
 * - programs: per XS program (bridge alone as the baseline, smoke, store, core), bundle bytes,
 *   the load crank's meters and the size of a snapshot of the machine right after loading (the
 *   image holding the program), and each one's increment over the baseline;
 * - store: compute to seal and write a record, and to read it back (what a warm boot reads);
 * - boot: cold (registers, stores, comes online) and warm (reads, comes online) boot meters,
 *   when the boot task and the mock platform are available.
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
import { createMemoryFlash } from "../hal/node/flash";
import { createNodeHal } from "../hal/node/index";
import { createMemoryLogger } from "../hal/node/logger";
import type { DeviceInfo } from "../firmware/device-info";
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
}

export function summarize(meters: LaneMeters): OperationMeters {
  return {
    cranks: meters.cranks,
    compute: meters.compute,
    heapSlotsAfter: meters.currentHeapCount,
    peakHeapSlots: meters.peakHeapCount,
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

/** Cold and warm boot on XS against the mock platform (wired once the platform lands). */
async function runXsBootBench(): Promise<Record<string, unknown>> {
  return { skipped: "the mock platform's startPlatform is not available yet" };
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
