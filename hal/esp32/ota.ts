/**
 * The board's application slots: hal/esp32/app-slots.ts on Moddable's OTA object (the writer)
 * and this project's native calls for what Moddable's module leaves out (running image, trial
 * state, rollback, reading the slot back, restart: hal/esp32/native/ota-state.c). On lin the
 * manifest swaps both for hal/lin/ota.{js,c}, files standing in for the partitions.
 */
import OTA from "ota";
import { lastInvalidLabel, markValid, nextLabel, nextSize, readNext, restart, rollbackEnabled, runningLabel, runningState, runningVersion } from "hal/esp32/ota-state";
import type { ApplicationSlots, KeyValueFlash, Logger } from "../../firmware/contracts";
import { openPartitionSlots, type AppState, type OtaPartitions } from "./app-slots";

const STATES: readonly string[] = ["new", "pending-verify", "valid", "invalid", "aborted", "undefined"];

const partitions: OtaPartitions = {
  running() {
    const state = runningState();
    return { label: runningLabel() ?? "", version: runningVersion() ?? "", state: state !== undefined && STATES.includes(state) ? state as AppState : undefined };
  },
  next() {
    const label = nextLabel();
    return label === undefined ? undefined : { label, size: nextSize() };
  },
  lastInvalid: () => lastInvalidLabel(),
  rollbackEnabled: () => rollbackEnabled(),
  markValid: () => markValid(),
  read: (offset, buffer) => readNext(offset, buffer),
  restart: () => restart(),
};

/** The slots, or undefined (OTA off) when the partition table has no OTA app partitions. */
export function openBoardSlots(flash: KeyValueFlash, log: Logger): ApplicationSlots | undefined {
  return openPartitionSlots(flash, partitions, () => new OTA(), log);
}
