/** The core's device-info record store (firmware/record-store.ts) as main.ts seeds it. */
import type { Hal } from "../../firmware/contracts";
import { loadDevInfo, setDevInfo } from "../../firmware/record-store";
import type { DevInfoStore } from "./record-seed";

export function openDevInfoStore(hal: Hal): DevInfoStore {
  return {
    load: () => loadDevInfo(hal),
    set: (info) => setDevInfo(hal, info),
  };
}
