/** Exposes the device-info record store (firmware/record-store) over the bridge Hal. */
import type { DeviceInfo } from "../firmware/device-info";
import { eraseDevInfo, getDevInfo, loadDevInfo, setDevInfo } from "../firmware/record-store";
import { bridgeHal } from "./bridge-hal";
import { expose } from "./runtime";

export function exposeRecordStore(): void {
  expose({
    getDevInfo: () => getDevInfo(bridgeHal) ?? null,
    loadDevInfo: () => loadDevInfo(bridgeHal),
    setDevInfo: (info: DeviceInfo) => setDevInfo(bridgeHal, info),
    eraseDevInfo: () => eraseDevInfo(bridgeHal),
  });
}
