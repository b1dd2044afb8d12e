/**
 * The Node HAL: what the simulator hands the engine-neutral core in place of an ESP32.
 * Each piece can be injected (tests, the fleet runner sharing one socket transport); the rest is
 * built from the options.
 */
import { randomBytes } from "node:crypto";
import type { ApplicationSlots, Clock, Hal, HttpClient, KeyValueFlash, Logger, LogLevel, SocketTransport } from "../../firmware/contracts";
import { createNodeClock, type NodeClockOptions } from "./clock";
import { nodeCrypto } from "./crypto";
import { loadOrCreateStorageKey, STORAGE_KEY_BYTES } from "./efuse";
import { createMemoryFlash, openFlashFile, type FlashFileOptions } from "./flash";
import { createNodeHttpClient } from "./http";
import { createNodeLogger } from "./logger";
import { createNodeSocketTransport } from "./socket";

export interface NodeHalOptions {
  /** NVS image on disk; also locates the storage key's sidecar `<flashFile>.efuse`. */
  flashFile?: string;
  flashOptions?: FlashFileOptions;
  /** A ready flash; wins over flashFile. Without either, flash lives in memory. */
  flash?: KeyValueFlash;
  /** 32 bytes. Default: the flash file's sidecar key, or random per HAL without a flash file. */
  storageKey?: Uint8Array;
  clock?: Clock;
  clockOptions?: NodeClockOptions;
  logger?: Logger;
  deviceName?: string;
  logLevel?: LogLevel;
  http?: HttpClient;
  /** The byte socket the core's MQTT engine runs on. */
  socket?: SocketTransport;
  /** Trusted CA (PEM, replacing the bundled roots) for https:// and mqtts:// when http or socket is not injected. */
  ca?: string | Buffer;
  /** Trusted CA for https:// only (registration), in place of `ca`: the ESP32 port's registerCa. */
  registerCa?: string | Buffer;
  /** Trusted CA for mqtts:// only, in place of `ca`: the ESP32 port's mqttCa. */
  mqttCa?: string | Buffer;
  /** Verify servers' certificates (default true) when http or socket is not injected. */
  rejectUnauthorized?: boolean;
  /** Application slots (app-slots.ts) for firmware update; without them the device has no OTA. */
  slots?: ApplicationSlots;
}

export function createNodeHal(options: NodeHalOptions = {}): Hal {
  const { flashFile, ca, rejectUnauthorized } = options;
  const flash = options.flash ?? (flashFile !== undefined ? openFlashFile(flashFile, options.flashOptions) : createMemoryFlash(options.flashOptions));
  const key = options.storageKey ?? (flashFile !== undefined ? loadOrCreateStorageKey(flashFile) : new Uint8Array(randomBytes(STORAGE_KEY_BYTES)));
  if (key.length !== STORAGE_KEY_BYTES) throw new RangeError(`storageKey must be ${STORAGE_KEY_BYTES} bytes, got ${key.length}`);
  const storageKey = Uint8Array.from(key); // our own copy: a caller's later edit cannot change it
  return {
    flash,
    crypto: nodeCrypto,
    http: options.http ?? createNodeHttpClient({ ca: options.registerCa ?? ca, rejectUnauthorized }),
    socket: options.socket ?? createNodeSocketTransport({ ca: options.mqttCa ?? ca, rejectUnauthorized }),
    clock: options.clock ?? createNodeClock(options.clockOptions),
    log: options.logger ?? createNodeLogger({ deviceName: options.deviceName, level: options.logLevel }),
    // A fresh copy per call, so the core cannot alter the device's key by accident.
    storageKey: () => Uint8Array.from(storageKey),
    ...(options.slots ? { slots: options.slots } : {}),
  };
}
