/**
 * Entry of the Moddable lane's test image (never of a production image): runs the library's
 * public entry point (hal/esp32/explorer-xs.ts, as hal/esp32/main.ts does) and traces what the
 * lane test reads, one line each:
 *   lane.heap phase=<boot|online|synced> slots=<n> slotBytes=<n> chunkBytes=<n> stackBytes=<n> keys=<n>
 *   lane.flash op=<set|delete> namespace=<ns> key=<key>
 *   lane.online | lane.synced (after the first-online sync, which is in flight at lane.online) | lane.failed message=<text> | lane.halt
 *   lane.contract name=<scenario> outcomes=<JSON> ... lane.contract-done
 * A "lane" namespace in the Preference store the test writes before the boot may ask for
 * - a power cut: haltAfterWrites=N stops the program dead after the Nth write into the record
 *   namespace, so the test can kill the process between the two slot writes;
 * - the MQTT contract instead of the firmware: contract=<JSON [{name, url}]> runs each scenario of
 *   test/mqtt-contract against its scripted broker on hal/esp32/socket.ts and the SNTP clock's
 *   timers (the suite the Node port and the XS lane run).
 */
import Debug from "debug";
import Instrumentation from "instrumentation";
import Preference from "preference";
import Timer from "timer";
import { SntpClock } from "hal/esp32/clock";
import { createCoreLog } from "firmware/log";
import { TraceLogger } from "hal/esp32/log";
import { startExplorer } from "hal/esp32/explorer-xs";
import { ModdableSocketTransport } from "hal/esp32/socket";
import { RECORD_NAMESPACE } from "firmware/record-store";

type Instrument = Parameters<typeof Instrumentation.map>[0];
const read = (name: Instrument) => Instrumentation.get(Instrumentation.map(name)) ?? -1;

/**
 * The most the heaps held at any sampled moment, garbage included (no collection is forced
 * here): an upper bound of what the boot needed, next to the live figures after a full GC.
 */
const peak = { slotBytes: 0, chunkBytes: 0, stackBytes: 0 };
function sample(): void {
  peak.slotBytes = Math.max(peak.slotBytes, read("XS Slot Heap Used"));
  peak.chunkBytes = Math.max(peak.chunkBytes, read("XS Chunk Heap Used"));
  peak.stackBytes = Math.max(peak.stackBytes, read("XS Stack Used"));
}

/** Moddable's instrumentation after a full collection: what stays live, not garbage. */
function traceHeap(phase: string): void {
  sample();
  Debug.gc();
  trace(`lane.heap phase=${phase} slotBytes=${read("XS Slot Heap Used")} chunkBytes=${read("XS Chunk Heap Used")} stackBytes=${read("XS Stack Used")} keys=${read("XS Keys Used")} peakSlotBytes=${peak.slotBytes} peakChunkBytes=${peak.chunkBytes} peakStackBytes=${peak.stackBytes}\n`);
}

function haltAfterRecordWrites(): number {
  const value = Preference.get("lane", "haltAfterWrites");
  return typeof value === "number" ? value : 0;
}

async function runContract(runs: Array<{ name: string; url: string }>): Promise<void> {
  // Loaded only in this mode, so the contract's modules and scenario tables never sit in the
  // heap of the boots whose figures the lane reports.
  const { runScenarioNamed } = await import("test/mqtt-contract/device");
  const hal = { socket: new ModdableSocketTransport("unused-for-plain-tcp.der"), clock: new SntpClock(["unused.invalid"]) };
  for (const { name, url } of runs) {
    let outcomes: unknown;
    try {
      outcomes = await runScenarioNamed(hal, name, url);
    } catch (error) {
      outcomes = { runnerFailed: error instanceof Error ? error.message : String(error) };
    }
    trace(`lane.contract name=${name} outcomes=${JSON.stringify(outcomes)}\n`);
  }
  trace("lane.contract-done\n");
}

export default function main(): void {
  const contract = Preference.get("lane", "contract");
  if (typeof contract === "string") {
    runContract(JSON.parse(contract) as Array<{ name: string; url: string }>);
    return;
  }
  traceHeap("boot");
  const sampler = Timer.repeat(sample, 1);
  const haltAfter = haltAfterRecordWrites();
  let recordWrites = 0;
  startExplorer({
    log: createCoreLog(new TraceLogger("debug")),
    onFlashWrite(operation, namespace, key) {
      trace(`lane.flash op=${operation} namespace=${namespace} key=${key}\n`);
      if (operation === "set" && namespace === RECORD_NAMESPACE && ++recordWrites === haltAfter) {
        trace("lane.halt\n");
        for (;;); // a power cut: nothing after this write happens; the test kills the process
      }
    },
  }).then(
    (device) => {
      Timer.clear(sampler);
      traceHeap("online");
      trace("lane.online\n");
      device.synced.then(() => {
        traceHeap("synced");
        trace("lane.synced\n");
      }, () => undefined);
    },
    (error: unknown) => trace(`lane.failed message=${error instanceof Error ? error.message : String(error)}\n`),
  );
}
