/**
 * One simulated ESP32: a flash file (or an in-memory partition), the Node HAL, optional
 * injected faults, and the very same boot task the firmware runs. Used by `device`, `demo` and
 * the fleet runner.
 */
import type { ApplicationSlots, Hal, HttpClient, Logger, SocketTransport } from "../firmware/contracts";
import { createNodeHal } from "../hal/node/index";
import { createMemoryFlash, openFlashFile, type NodeFlash } from "../hal/node/flash";
import { createNodeClock, type NodeClock } from "../hal/node/clock";
import { NodeApplicationSlots } from "../hal/node/app-slots";
import { bootDevice, type BootOptions, type BootTask } from "../firmware/boot";
import type { DeviceInfo } from "../firmware/device-info";
import { instrumentHal, type HalCounters, type HalTraceEvent } from "./instrumented-hal";
import { withNetworkDrop } from "./network-faults";
import { trustAnchorsFor } from "./trust-anchors";

export interface SimDeviceOptions {
  /** The flash file; without it the device's NVS partition lives in memory (same emulation, lost at exit). */
  flashFile?: string;
  /** A flash the caller keeps across reboots of an in-memory device (the fleet's, restarted by an update); instead of flashFile. */
  flash?: NodeFlash;
  /** Registration endpoint, e.g. http://127.0.0.1:8080/device/register */
  registerUrl: string;
  mqttUrl: string;
  /** The factory identity, used while flash holds no record (ProductId, ProductSecret, DeviceName). */
  factoryInfo?: DeviceInfo;
  /** fsync each flash commit (default true). Off only for throwaway flash files. */
  flashDurable?: boolean;
  /** The device's storage key (simulated eFuse); default: the `<flashFile>.efuse` sidecar. A fleet of throwaway devices keeps it in memory. */
  storageKey?: Uint8Array;
  /** Power is cut at this flash write (1-based); the device halts there. */
  powerCutAtWrite?: number;
  clockSkewSeconds?: number;
  /** Whether the simulated SNTP server answers (default true); without it only the HTTP Date header can fix a skewed clock. */
  sntp?: boolean;
  dropNetworkAfterMs?: number;
  dropNetworkForMs?: number;
  logger?: Logger;
  onEvent?: (event: HalTraceEvent) => void;
  /** Trusted CA (PEM) for https:// and mqtts://, e.g. a local platform's TLS certificate. */
  ca?: string;
  /**
   * Trusted CA (PEM) for registration / for MQTT, ahead of `ca`; without either, Tencent's
   * pinned root when the URL is Tencent's (simulator/trust-anchors.ts), else Node's bundled roots.
   */
  registerCa?: string;
  mqttCa?: string;
  /** Shared transports (the fleet shares one HTTP agent and CA across devices). */
  http?: HttpClient;
  socket?: SocketTransport;
  boot?: Partial<BootOptions>;
  /** The board's application slots (hal/node/app-slots.ts), kept across reboots by the caller; without them no OTA. */
  slots?: ApplicationSlots;
  /**
   * OTA with the slots kept in the flash file's app region: the factory image's version (used
   * when the file has no slots yet). The board powers on (the bootloader picks the slot) first.
   */
  firmwareVersion?: string;
  /** What a restart the firmware asks for does (OTA); the caller reboots the device. */
  onRestart?: () => void;
}

export interface SimDevice {
  task: BootTask;
  /** The HAL the task runs on, as instrumented (reads through it are not counted as writes). */
  hal: Hal;
  counters: HalCounters;
  flash: NodeFlash;
  clock: NodeClock;
  /** The slots made from the flash file (firmwareVersion), if any. */
  slots?: NodeApplicationSlots;
  /** Stops the task and releases the flash file and timers. */
  close(): Promise<void>;
}

export function startSimDevice(options: SimDeviceOptions): SimDevice {
  const flashOptions = {
    durable: options.flashDurable ?? true,
    ...(options.powerCutAtWrite ? { powerCutAtWrite: options.powerCutAtWrite } : {}),
  };
  const flash = options.flash ?? (options.flashFile !== undefined ? openFlashFile(options.flashFile, flashOptions) : createMemoryFlash(flashOptions));
  let fileSlots: NodeApplicationSlots | undefined;
  if (options.firmwareVersion !== undefined) {
    fileSlots = NodeApplicationSlots.open(flash, { factoryVersion: options.firmwareVersion, onRestart: options.onRestart });
    fileSlots.boot();
  }
  const clock = createNodeClock({ skewMs: (options.clockSkewSeconds ?? 0) * 1000, sntpReachable: options.sntp ?? true });
  const anchors = trustAnchorsFor(options.registerUrl, options.mqttUrl, { registerCa: options.registerCa ?? options.ca, mqttCa: options.mqttCa ?? options.ca });
  const base = createNodeHal({
    flashFile: options.flashFile, flash, clock, storageKey: options.storageKey, logger: options.logger, http: options.http, socket: options.socket,
    registerCa: anchors.registerCa, mqttCa: anchors.mqttCa, slots: options.slots ?? fileSlots,
  });
  let transports = { http: base.http, socket: base.socket };
  let cancelFaults = () => undefined as void;
  if (options.dropNetworkAfterMs !== undefined) {
    const faulty = withNetworkDrop(transports, { dropAfterMs: options.dropNetworkAfterMs, durationMs: options.dropNetworkForMs ?? 3000 }, clock);
    transports = faulty;
    cancelFaults = faulty.cancel;
  }
  const { hal, counters } = instrumentHal({ ...base, ...transports }, options.onEvent);
  const task = bootDevice(hal, {
    registerUrl: options.registerUrl,
    mqttUrl: options.mqttUrl,
    factoryInfo: options.factoryInfo,
    // report_info's module fields for a simulated board (the firmware adds fw_ver).
    deviceInfo: { module_hardinfo: "explorer-xs simulator", module_softinfo: `node ${process.version}` },
    ...options.boot,
  });
  return {
    task,
    hal,
    counters,
    flash,
    clock,
    ...(fileSlots ? { slots: fileSlots } : {}),
    async close() {
      cancelFaults();
      await task.stop();
      // No backoff or reply timer may outlive the device.
      clock.cancelAll();
    },
  };
}
