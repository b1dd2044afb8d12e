/**
 * The ESP32 entry (manifest.json creation.main). Order matters:
 * 1. status LED and configuration (mcconfig overrides parsed and checked);
 * 2. Wi-Fi, with retries, before anything draws randomness (RF on = true hardware entropy);
 * 3. factory device info (NVS "factory" wins over config), seeded into the core's record store
 *    on the first boot only;
 * 4. the core's boot task, its states mapped to the LED and the console.
 */
import config from "mc/config";
import Net from "net";
import { bootDevice, type BootOptions } from "../../firmware/boot";
import { DEFAULT_BACKOFF } from "../../firmware/backoff";
import { createCoreLog, type CoreLog } from "../../firmware/log";
import { parseFirmwareConfig, type FirmwareConfig } from "./config-parse";
import { openDevInfoStore } from "./core-store";
import { resolveFactoryDeviceInfo, resolveFactoryEndpoints } from "./factory";
import { PreferenceFlash, type FlashWriteObserver } from "./flash";
import { createEsp32Hal } from "./hal";
import { TraceLogger } from "./log";
import { seedFactoryRecord } from "./record-seed";
import { StatusLed } from "./status-led";
import { WifiLink } from "./wifi";

function bootOptions(settings: FirmwareConfig, endpoints: { registerUrl?: string; mqttUrl?: string }): BootOptions {
  const options: BootOptions = {};
  if (endpoints.registerUrl) options.registerUrl = endpoints.registerUrl;
  if (endpoints.mqttUrl) options.mqttUrl = endpoints.mqttUrl;
  if (settings.signAlgorithm) options.signAlgorithm = settings.signAlgorithm;
  if (settings.keepAliveSeconds) options.keepAliveSeconds = settings.keepAliveSeconds;
  return options;
}

/** What a test image (test/moddable) may watch; production passes nothing. */
export interface FirmwareHooks {
  onFlashWrite?: FlashWriteObserver;
  /** Called once the first-online sync of this boot is done (report_info, get_status, clock check). */
  onSynced?: () => void;
}

/** Boots the device; resolves once it is online, rejects with the reason it cannot be. */
export async function startFirmware(log: CoreLog, hooks: FirmwareHooks = {}): Promise<void> {
  const settings = parseFirmwareConfig(config);
  // The console never shows what the build was configured with in secret.
  log.protect(settings.productSecret, settings.password);
  const led = new StatusLed(settings.ledPin, settings.ledActiveLow);
  led.show("wifi");

  await new WifiLink(
    { ssid: settings.ssid, password: settings.password, attemptTimeoutMs: settings.wifiAttemptMs, backoff: DEFAULT_BACKOFF },
    log,
  ).up();

  const flash = new PreferenceFlash(hooks.onFlashWrite);
  const hal = createEsp32Hal(flash, log, settings);

  const factory = resolveFactoryDeviceInfo(flash, settings, () => Net.get("MAC"));
  const seeded = seedFactoryRecord(openDevInfoStore(hal), factory.info);
  log.log(seeded === "kept-different" ? "warn" : "info", "factory.record", {
    outcome: seeded,
    productId: factory.info.productId,
    deviceName: factory.info.deviceName,
    deviceNameFrom: factory.sources.deviceName ?? "none",
  });

  const task = bootDevice(hal, bootOptions(settings, resolveFactoryEndpoints(flash, settings)));
  task.onState((event) => {
    led.show(event.state);
    log.log(event.state.startsWith("failed:") ? "error" : "info", "boot.state", {
      state: event.state,
      elapsedMs: event.elapsedMs,
      ...(event.detail ? { detail: event.detail } : {}),
    });
  });
  await task.online;
  log.log("info", "boot.online", {});
  if (hooks.onSynced) task.synced.then(hooks.onSynced, () => undefined);
}

export default function main(): void {
  // Even the port's own lines (Wi-Fi, factory data, a fatal error's message) go through the core's masking.
  const log = createCoreLog(new TraceLogger());
  startFirmware(log).catch((error: unknown) => {
    log.log("error", "boot.fatal", { message: error instanceof Error ? error.message : String(error) });
  });
}
