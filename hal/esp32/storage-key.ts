/**
 * The 32-byte key that seals the device-info record (Hal.storageKey). It is random, drawn once
 * from the hardware RNG on the first boot that needs it, and kept in its own NVS namespace, so
 * it is never stored in the record it protects and never derived from anything readable off
 * the chip (such as the eFuse MAC, which is printed on the box and sent over the air).
 *
 * Strength, honestly: 256 bits of key against someone who copies one sealed record, but the key
 * sits in the same flash chip. Without ESP-IDF flash encryption or NVS encryption (which this
 * build does not enable) anyone who dumps the whole flash reads both. See docs/ESP32.md.
 * Engine-neutral: it sees only the KeyValueFlash contract and a random source.
 */
import { FlashError, type Bytes, type KeyValueFlash } from "../types";
import { constantTimeEqual } from "../../firmware/encoding";

export const STORAGE_KEY_NAMESPACE = "xs-key";
export const STORAGE_KEY_NAME = "sealkey";
export const STORAGE_KEY_BYTES = 32;

function asKey(value: unknown): Bytes | undefined {
  if (value instanceof ArrayBuffer && value.byteLength === STORAGE_KEY_BYTES) return new Uint8Array(value.slice(0));
  return undefined;
}

/**
 * Returns the stored key, or creates, writes and reads back a new one (one flash write, on the
 * first boot only). A stored value of the wrong shape is refused, not replaced: a new key would
 * silently orphan the sealed record and with it the registered secret.
 */
export function loadOrCreateStorageKey(flash: KeyValueFlash, randomBytes: (length: number) => Bytes): Bytes {
  const stored = flash.get(STORAGE_KEY_NAMESPACE, STORAGE_KEY_NAME);
  if (stored !== undefined) {
    const key = asKey(stored);
    if (!key) throw new FlashError("io", `${STORAGE_KEY_NAMESPACE}/${STORAGE_KEY_NAME} is not a ${STORAGE_KEY_BYTES}-byte blob; refusing to replace the storage key`);
    return key;
  }
  const fresh = randomBytes(STORAGE_KEY_BYTES);
  if (fresh.length !== STORAGE_KEY_BYTES) throw new FlashError("io", "the random source returned a short storage key");
  const blob = new Uint8Array(fresh).buffer;
  flash.set(STORAGE_KEY_NAMESPACE, STORAGE_KEY_NAME, blob);
  const readBack = asKey(flash.get(STORAGE_KEY_NAMESPACE, STORAGE_KEY_NAME));
  if (!readBack || !constantTimeEqual(readBack, fresh)) throw new FlashError("io", "the storage key did not read back as written");
  return fresh;
}
