/** The ESP32 Hal: each contract of firmware/contracts.ts on its Moddable module. */
import type { Bytes, Hal, Logger } from "../../firmware/contracts";
import { SntpClock } from "./clock";
import type { FirmwareConfig } from "./config-parse";
import { CryptHal } from "./crypto";
import { PreferenceFlash } from "./flash";
import { ModdableHttpClient } from "./http";
import { openBoardSlots } from "./ota";
import { ModdableSocketTransport } from "./socket";
import { loadStorageKey } from "./storage-key";
import { RECORD_NAMESPACE } from "../../firmware/record-store";

export function createEsp32Hal(flash: PreferenceFlash, log: Logger, config: FirmwareConfig): Hal {
  const crypto = new CryptHal();
  let storageKey: Bytes | undefined;
  return {
    flash,
    crypto,
    http: new ModdableHttpClient(config.registerCa),
    // The socket carries MQTT only: its TLS trusts the broker's anchor.
    socket: new ModdableSocketTransport(config.mqttCa),
    clock: new SntpClock(config.sntpServers),
    log,
    // Read (or created) on first use, after Wi-Fi is up so the RNG has RF entropy.
    storageKey: () => (storageKey ??= loadStorageKey(flash, {
      randomBytes: (length) => crypto.randomBytes(length),
      sealedRecordsExist: () => flash.keys(RECORD_NAMESPACE).length > 0,
    })).slice(),
    // The OTA partitions (Moddable's OTA and ESP-IDF's app rollback); without them OTA is off.
    slots: openBoardSlots(flash, log),
  };
}
