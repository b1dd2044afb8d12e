/**
 * KeyValueFlash on Moddable's `Preference`, which ESP32 builds back with ESP-IDF NVS.
 *
 * Two facts of that port shape this adapter (modules/files/preference/esp32/modPreference.c):
 * - Preference.set erases the key before writing the new value (an IDF type-change
 *   workaround), so a power cut inside one set can lose that key's old value too. The core's
 *   A/B record slots are what make a torn write harmless; a single key alone is not atomic.
 * - Preference.keys lists a namespace with ESP-IDF's nvs_entry_find (modPreference.c,
 *   xs_preference_keys), an empty array for a namespace that does not exist, so keys() is that
 *   list, sorted.
 */
import Preference from "preference";
import { FlashError, type FlashValue, type KeyValueFlash } from "../../firmware/contracts";
import { checkNvsName, checkNvsValue } from "./nvs-limits";

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Called after each committed write or delete (the Moddable lane traces writes through it). */
export type FlashWriteObserver = (operation: "set" | "delete", namespace: string, key: string) => void;

export class PreferenceFlash implements KeyValueFlash {
  readonly #observe: FlashWriteObserver | undefined;

  constructor(observe?: FlashWriteObserver) {
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
    try {
      return [...Preference.keys(namespace)].sort();
    } catch (error) {
      throw new FlashError("io", `listing ${namespace} failed: ${describe(error)}`);
    }
  }
}
