/**
 * KeyValueFlash on Moddable's `Preference`, which ESP32 builds back with ESP-IDF NVS.
 *
 * Two facts of that port shape this adapter (modules/files/preference/esp32/modPreference.c):
 * - Preference.set erases the key before writing the new value (an IDF type-change
 *   workaround), so a power cut inside one set can lose that key's old value too. The core's
 *   A/B record slots are what make a torn write harmless; a single key alone is not atomic.
 * - Preference.keys returns an empty array on ESP32, so keys() answers from the names this
 *   adapter was told about or has written this boot, each checked against NVS.
 */
import Preference from "preference";
import { FlashError, type FlashValue, type KeyValueFlash } from "../types";
import { checkNvsName, checkNvsValue } from "./nvs-limits";

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Called after each committed write or delete (the Moddable lane traces writes through it). */
export type FlashWriteObserver = (operation: "set" | "delete", namespace: string, key: string) => void;

export class PreferenceFlash implements KeyValueFlash {
  readonly #knownKeys = new Map<string, Set<string>>();
  readonly #observe: FlashWriteObserver | undefined;

  /** `knownKeys`: per namespace, the key names the firmware may have written on earlier boots. */
  constructor(knownKeys: Record<string, readonly string[]> = {}, observe?: FlashWriteObserver) {
    for (const namespace of Object.keys(knownKeys)) {
      for (const key of knownKeys[namespace]) this.#remember(namespace, key);
    }
    this.#observe = observe;
  }

  get(namespace: string, key: string): FlashValue | undefined {
    checkNvsName("namespace", namespace);
    checkNvsName("key", key);
    try {
      return Preference.get(namespace, key);
    } catch (error) {
      throw new FlashError("io", `reading ${namespace}/${key} failed: ${describe(error)}`);
    }
  }

  set(namespace: string, key: string, value: FlashValue): void {
    checkNvsName("namespace", namespace);
    checkNvsName("key", key);
    checkNvsValue(namespace, key, value);
    this.#remember(namespace, key);
    try {
      Preference.set(namespace, key, value);
    } catch (error) {
      throw new FlashError("io", `writing ${namespace}/${key} failed: ${describe(error)}`);
    }
    this.#observe?.("set", namespace, key);
  }

  delete(namespace: string, key: string): void {
    checkNvsName("namespace", namespace);
    checkNvsName("key", key);
    try {
      Preference.delete(namespace, key);
    } catch (error) {
      throw new FlashError("io", `deleting ${namespace}/${key} failed: ${describe(error)}`);
    }
    this.#observe?.("delete", namespace, key);
  }

  keys(namespace: string): string[] {
    checkNvsName("namespace", namespace);
    const candidates = new Set<string>(this.#knownKeys.get(namespace) ?? []);
    try {
      for (const key of Preference.keys(namespace)) candidates.add(key);
    } catch (error) {
      throw new FlashError("io", `listing ${namespace} failed: ${describe(error)}`);
    }
    return [...candidates].filter((key) => this.get(namespace, key) !== undefined).sort();
  }

  #remember(namespace: string, key: string): void {
    let keys = this.#knownKeys.get(namespace);
    if (!keys) this.#knownKeys.set(namespace, (keys = new Set()));
    keys.add(key);
  }
}
