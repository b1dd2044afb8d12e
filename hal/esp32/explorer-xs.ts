/**
 * explorer-xs for a Moddable app: the one entry point a developer imports (as "explorer-xs",
 * once the app's manifest includes hal/esp32/manifest.json; docs/ESP32.md, "Add explorer-xs to
 * your Moddable app").
 *
 *   import { startExplorer } from "explorer-xs";
 *   const device = await startExplorer({ onControl(params) { ... } });
 *   await device.report({ brightness: 40 });
 *
 * It does, in order: the status LED and the manifest's config (mcconfig overrides parsed and
 * checked); Wi-Fi, with retries, before anything draws randomness (RF on = true hardware
 * entropy); the factory device info (NVS "factory" wins over config), seeded into the core's
 * record store on the first boot only; then the core's boot task (dynamic registration when
 * the record holds no secret, MQTT login, first report), its states on the LED and the console.
 *
 * Stability: `startExplorer`, `ExplorerOptions` and `ExplorerDevice` as written here are the
 * public API and change only with a new major version (see FIRMWARE_VERSION); the fields
 * marked "test images only" and every other module of hal/esp32 and firmware are internal and
 * may change in any release.
 */
import config from "mc/config";
import Net from "net";
import { bootDevice, type BootEvent, type BootOptions, type BootState, type BootTask, type FirstOnlineSync } from "../../firmware/boot";
import { DEFAULT_BACKOFF } from "../../firmware/backoff";
import type { EventType } from "../../firmware/data-template";
import { createCoreLog, type CoreLog } from "../../firmware/log";
import type { ActionHandler } from "../../firmware/template-session";
import { parseFirmwareConfig, type FirmwareConfig } from "./config-parse";
import { openDevInfoStore } from "./core-store";
import { resolveFactoryDeviceInfo, resolveFactoryEndpoints } from "./factory";
import { PreferenceFlash, type FlashWriteObserver } from "./flash";
import { createEsp32Hal } from "./hal";
import { TraceLogger } from "./log";
import { seedFactoryRecord, type DevInfoStore } from "./record-seed";
import { StatusLed } from "./status-led";
import { WifiLink } from "./wifi";

export type { ActionHandler, BootEvent, BootState, DevInfoStore, EventType, FirstOnlineSync };

export interface ExplorerOptions {
  /**
   * Control from the platform (the data template's writable properties), live and, at each
   * boot's first online, what the platform kept while the device was away. Throw to refuse it;
   * accepted control is answered with code 0 and reported back.
   */
  onControl?: (params: Record<string, unknown>) => void;
  /** Actions: the return value is the action_reply's `response`; a throw answers code 1. */
  onAction?: ActionHandler;
  /** Properties of the first report (the device's state at boot). */
  initialReport?: Record<string, unknown>;
  /** report_info after `fw_ver`: module_hardinfo, module_softinfo, mac, imei... */
  deviceInfo?: Record<string, string | number>;
  /** report_info's fw_ver; default explorer-xs's own version. */
  firmwareVersion?: string;
  /** Every boot state as it is entered (the status LED and the console already show them). */
  onState?: (event: BootEvent) => void;
  /** Where lines go; default the XS console (trace) with the core's masking of secrets. */
  log?: CoreLog;
  /** Test images only: each Preference write, as it happens. */
  onFlashWrite?: FlashWriteObserver;
}

/** The online device: the core's boot task (firmware/boot.ts BootTask) with the store and the log. */
export interface ExplorerDevice extends BootTask {
  /** The core's device-info record (ProductId, DeviceName, the sealed secret): read or replace. */
  readonly devInfo: DevInfoStore;
  /** The masking log the library writes to: the app's own lines belong here too. */
  readonly log: CoreLog;
}

function bootOptions(options: ExplorerOptions, settings: FirmwareConfig, endpoints: { registerUrl?: string; mqttUrl?: string }): BootOptions {
  const boot: BootOptions = {};
  if (endpoints.registerUrl) boot.registerUrl = endpoints.registerUrl;
  if (endpoints.mqttUrl) boot.mqttUrl = endpoints.mqttUrl;
  if (settings.signAlgorithm) boot.signAlgorithm = settings.signAlgorithm;
  if (settings.keepAliveSeconds) boot.keepAliveSeconds = settings.keepAliveSeconds;
  if (options.onControl) boot.onControl = options.onControl;
  if (options.onAction) boot.onAction = options.onAction;
  if (options.initialReport) boot.initialReport = options.initialReport;
  if (options.deviceInfo) boot.deviceInfo = options.deviceInfo;
  if (options.firmwareVersion) boot.firmwareVersion = options.firmwareVersion;
  return boot;
}

/** Boots the device; resolves once it is online (first report acknowledged), rejects with the reason it cannot be. */
export async function startExplorer(options: ExplorerOptions = {}): Promise<ExplorerDevice> {
  // Even the port's own lines (Wi-Fi, factory data, a fatal error's message) go through the core's masking.
  const log = options.log ?? createCoreLog(new TraceLogger());
  const settings = parseFirmwareConfig(config);
  // The console never shows what the build was configured with in secret.
  log.protect(settings.productSecret, settings.password);
  const led = new StatusLed(settings.ledPin, settings.ledActiveLow);
  led.show("wifi");

  await new WifiLink(
    { ssid: settings.ssid, password: settings.password, attemptTimeoutMs: settings.wifiAttemptMs, backoff: DEFAULT_BACKOFF },
    log,
  ).up();

  const flash = new PreferenceFlash(options.onFlashWrite);
  const hal = createEsp32Hal(flash, log, settings);

  const factory = resolveFactoryDeviceInfo(flash, settings, () => Net.get("MAC"));
  const devInfo = openDevInfoStore(hal);
  const seeded = seedFactoryRecord(devInfo, factory.info);
  log.log(seeded === "kept-different" ? "warn" : "info", "factory.record", {
    outcome: seeded,
    productId: factory.info.productId,
    deviceName: factory.info.deviceName,
    deviceNameFrom: factory.sources.deviceName ?? "none",
  });

  const task = bootDevice(hal, bootOptions(options, settings, resolveFactoryEndpoints(flash, settings)));
  task.onState((event) => {
    led.show(event.state);
    log.log(event.state.startsWith("failed:") ? "error" : "info", "boot.state", {
      state: event.state,
      elapsedMs: event.elapsedMs,
      ...(event.detail ? { detail: event.detail } : {}),
    });
    options.onState?.(event);
  });
  await task.online;
  log.log("info", "boot.online", {});
  // The boot task itself, with the store and the log beside it: no wrapper functions to hold.
  return Object.assign(task, { devInfo, log });
}
