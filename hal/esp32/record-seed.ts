/**
 * First-boot hand-off from factory data to the core's device-info record store.
 *
 * The boot task reads device info through getDevInfo(). On a factory-fresh ESP32 the store is
 * empty and the factory data lives in NVS "factory" and the manifest config, so main.ts seeds
 * the store once. A stored record is never overwritten (it may hold the registered secret, and
 * a normal boot writes nothing), and a store that holds something unreadable is not papered
 * over with factory data: that needs a person (see docs/ESP32.md).
 */
import { nameErrorClass } from "../../firmware/contracts";
import type { DeviceInfo } from "../../firmware/device-info";

/** What the core's record store (firmware/record-store.ts) offers, as main.ts needs it. */
export interface DevInfoStore {
  load():
    | { status: "ok"; info: DeviceInfo }
    | { status: "empty" }
    | { status: "unreadable"; reason: string };
  set(info: DeviceInfo): void;
}

export type SeedOutcome = "seeded" | "kept" | "kept-different";

export class UnreadableRecordError extends Error {
  static {
    nameErrorClass(this, "UnreadableRecordError");
  }
  constructor(reason: string) {
    super(`the stored device-info record cannot be read (${reason}); not replacing it with factory data`);
  }
}

export function seedFactoryRecord(store: DevInfoStore, factory: DeviceInfo): SeedOutcome {
  const current = store.load();
  if (current.status === "empty") {
    store.set(factory);
    return "seeded";
  }
  if (current.status === "unreadable") throw new UnreadableRecordError(current.reason);
  const same = current.info.productId === factory.productId && current.info.deviceName === factory.deviceName;
  return same ? "kept" : "kept-different";
}
