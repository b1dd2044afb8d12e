/**
 * Entry of the Moddable lane's test image (never of a production image): runs the production
 * firmware (hal/esp32/main.ts) unchanged and traces what the lane test reads, one line each:
 *   lane.heap phase=<boot|online> slots=<n> slotBytes=<n> chunkBytes=<n> stackBytes=<n> keys=<n>
 *   lane.flash op=<set|delete> namespace=<ns> key=<key>
 *   lane.online | lane.failed message=<text> | lane.halt
 * A "lane" namespace in the Preference store the test writes before the boot may name a power
 * cut: haltAfterRecordWrites=N stops the program dead after the Nth write into the record
 * namespace, so the test can kill the process between the two slot writes.
 */
import Debug from "debug";
import Instrumentation from "instrumentation";
import Preference from "preference";
import { TraceLogger } from "hal/esp32/log";
import { startFirmware } from "hal/esp32/main";
import { RECORD_NAMESPACE } from "firmware/record-store";

/** Moddable's instrumentation after a full collection: what stays live, not garbage. */
function traceHeap(phase: string): void {
  Debug.gc();
  const read = (name: Parameters<typeof Instrumentation.map>[0]) => Instrumentation.get(Instrumentation.map(name)) ?? -1;
  const slotBytes = read("XS Slot Heap Used");
  trace(`lane.heap phase=${phase} slotBytes=${slotBytes} chunkBytes=${read("XS Chunk Heap Used")} stackBytes=${read("XS Stack Used")} keys=${read("XS Keys Used")} gcs=${read("XS Garbage Collection Count")}\n`);
}

function haltAfterRecordWrites(): number {
  const value = Preference.get("lane", "haltAfterWrites");
  return typeof value === "number" ? value : 0;
}

export default function main(): void {
  traceHeap("boot");
  const haltAfter = haltAfterRecordWrites();
  let recordWrites = 0;
  startFirmware(new TraceLogger("debug"), {
    onFlashWrite(operation, namespace, key) {
      trace(`lane.flash op=${operation} namespace=${namespace} key=${key}\n`);
      if (operation === "set" && namespace === RECORD_NAMESPACE && ++recordWrites === haltAfter) {
        trace("lane.halt\n");
        for (;;); // a power cut: nothing after this write happens; the test kills the process
      }
    },
  }).then(
    () => {
      traceHeap("online");
      trace("lane.online\n");
    },
    (error: unknown) => trace(`lane.failed message=${error instanceof Error ? error.message : String(error)}\n`),
  );
}
