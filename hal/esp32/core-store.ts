/**
 * The core's device-info record store (firmware/record-store.ts) as main.ts and the flash
 * adapter need it: the seeding interface, and the key names the store may write, which
 * PreferenceFlash.keys() must know because Moddable's Preference.keys() is empty on ESP32.
 */
import type { Hal } from "../types";
import { loadDevInfo, MAX_RECORD_CHUNKS, RECORD_NAMESPACE, setDevInfo } from "../../firmware/record-store";
import type { DevInfoStore } from "./record-seed";

export function openDevInfoStore(hal: Hal): DevInfoStore {
  return {
    load: () => loadDevInfo(hal),
    set: (info) => setDevInfo(hal, info),
  };
}

/** rec.a, rec.b and their chunk keys rec.a.0 .. rec.b.<MAX_RECORD_CHUNKS - 1>. */
export function recordKeyNames(): { namespace: string; keys: string[] } {
  const keys: string[] = [];
  for (const slot of ["a", "b"]) {
    keys.push(`rec.${slot}`);
    for (let index = 0; index < MAX_RECORD_CHUNKS; index++) keys.push(`rec.${slot}.${index}`);
  }
  return { namespace: RECORD_NAMESPACE, keys };
}
