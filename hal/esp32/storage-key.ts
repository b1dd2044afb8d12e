/**
 * The key that seals the device-info record (Hal.storageKey): a single point of failure unless
 * it is kept where one lost NVS entry cannot take it, and never replaced while a record sealed
 * with it exists. In order of preference (docs/ESP32.md, "The stored secret"):
 *
 * 1. The factory key, `factory/sealKey`: 32 bytes written at provisioning into the factory
 *    namespace, which the firmware only ever reads.
 * 2. The device key, drawn once from the hardware RNG on the first boot that needs one and kept
 *    twice, in `xs-key/sealkey` and `xs-key/sealkey.b`. One copy lost or damaged: the other is
 *    used and the missing one written back. Copies that disagree are not guessed between.
 * 3. Neither, while a sealed record exists: StorageKeyLostError, a named fatal state with its
 *    way out, instead of a new key that would leave the record unreadable and the device,
 *    already activated on the platform, unable to register again.
 *
 * Never derived from anything readable off the chip (such as the eFuse MAC, printed on the box
 * and sent over the air). Secrecy at rest is NVS encryption's job (docs/ESP32.md); this module
 * makes the key survive. Engine-neutral: it sees only the KeyValueFlash contract and a random
 * source.
 */
import { FlashError, nameErrorClass, type Bytes, type KeyValueFlash } from "../../firmware/contracts";
import { constantTimeEqual } from "../../firmware/encoding";
import { FACTORY_NAMESPACE } from "./factory";

export const STORAGE_KEY_NAMESPACE = "xs-key";
/** The two copies of the device key; the first is where earlier firmware kept its only copy. */
export const STORAGE_KEY_NAMES = ["sealkey", "sealkey.b"] as const;
/** The factory-provisioned key, in the factory namespace (hal/esp32/factory.ts). */
export const FACTORY_SEAL_KEY = "sealKey";
export const STORAGE_KEY_BYTES = 32;

/** The key that sealed the stored record is gone: nothing may replace it silently. */
export class StorageKeyLostError extends FlashError {
  static {
    nameErrorClass(this, "StorageKeyLostError");
  }
  constructor(message: string) {
    super("io", message);
  }
}

export interface StorageKeySource {
  /** Fresh random bytes (the hardware RNG). */
  randomBytes(length: number): Bytes;
  /** Whether a sealed record exists (any key in the record store's namespace). */
  sealedRecordsExist(): boolean;
}

function asKey(value: unknown): Bytes | undefined {
  if (value instanceof ArrayBuffer && value.byteLength === STORAGE_KEY_BYTES) return new Uint8Array(value.slice(0));
  return undefined;
}

function writeCopy(flash: KeyValueFlash, name: string, key: Bytes): void {
  flash.set(STORAGE_KEY_NAMESPACE, name, new Uint8Array(key).buffer);
  const readBack = asKey(flash.get(STORAGE_KEY_NAMESPACE, name));
  if (!readBack || !constantTimeEqual(readBack, key)) throw new FlashError("io", `${STORAGE_KEY_NAMESPACE}/${name}: the storage key did not read back as written`);
}

/**
 * The storage key (see the module comment for where it comes from). Writes only on the first
 * boot (two copies) or to restore one lost copy.
 */
export function loadStorageKey(flash: KeyValueFlash, source: StorageKeySource): Bytes {
  const factory = flash.get(FACTORY_NAMESPACE, FACTORY_SEAL_KEY);
  if (factory !== undefined) {
    const key = asKey(factory);
    if (!key) throw new FlashError("io", `${FACTORY_NAMESPACE}/${FACTORY_SEAL_KEY} is not a ${STORAGE_KEY_BYTES}-byte blob`);
    return key;
  }

  const stored = STORAGE_KEY_NAMES.map((name) => ({ name, raw: flash.get(STORAGE_KEY_NAMESPACE, name) }));
  const copies = stored.map((copy) => ({ ...copy, key: asKey(copy.raw) }));
  const valid = copies.filter((copy) => copy.key !== undefined);
  if (valid.length === 2) {
    if (!constantTimeEqual(valid[0].key!, valid[1].key!)) {
      throw new StorageKeyLostError(`the two copies of the storage key (${STORAGE_KEY_NAMESPACE}/${STORAGE_KEY_NAMES.join(", ")}) differ; not guessing which sealed the record`);
    }
    return valid[0].key!;
  }
  if (valid.length === 1) {
    const key = valid[0].key!;
    for (const copy of copies) if (copy.key === undefined) writeCopy(flash, copy.name, key);
    return key;
  }

  const damaged = copies.filter((copy) => copy.raw !== undefined).map((copy) => copy.name);
  if (source.sealedRecordsExist() || damaged.length > 0) {
    throw new StorageKeyLostError(
      `the storage key is gone (${damaged.length > 0 ? `${damaged.join(" and ")} damaged` : "both copies missing"}) while a sealed record exists; ` +
      "refusing to create a new one: restore the NVS partition from a backup, or erase it and delete the device in the console before it registers again",
    );
  }
  const fresh = source.randomBytes(STORAGE_KEY_BYTES);
  if (fresh.length !== STORAGE_KEY_BYTES) throw new FlashError("io", "the random source returned a short storage key");
  for (const name of STORAGE_KEY_NAMES) writeCopy(flash, name, fresh);
  return fresh;
}
