/**
 * The simulated device-unique storage key (what Hal.storageKey() returns on Node).
 *
 * On an ESP32 the key that seals the device-info record comes from hardware that is not NVS
 * (an eFuse block, or a key derived from one), so reading a flash dump does not yield it.
 * The simulator models that with a sidecar file `<flashFile>.efuse`, next to the flash file
 * but never inside it: 32 random bytes, created once (mode 0600) and read thereafter.
 * Deleting the flash file keeps the key, as erasing NVS keeps the eFuses.
 */
import fs from "node:fs";
import { randomBytes } from "node:crypto";
import { FlashError } from "../../firmware/contracts";

export const STORAGE_KEY_BYTES = 32;

export function efusePathFor(flashFile: string): string {
  return `${flashFile}.efuse`;
}

/** Reads the device's storage key, creating it on first use. Throws FlashError("io") when unreadable. */
export function loadOrCreateStorageKey(flashFile: string): Uint8Array {
  const path = efusePathFor(flashFile);
  const existing = readKey(path);
  if (existing) return existing;
  // Write a temporary file, then hard-link it into place: link fails if another process won
  // the race, and a crash never leaves a half-written key under the final name.
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    fs.writeFileSync(temporary, randomBytes(STORAGE_KEY_BYTES), { mode: 0o600, flag: "wx" });
    try {
      fs.linkSync(temporary, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  } catch (error) {
    throw new FlashError("io", `cannot create the storage key ${path}: ${(error as Error).message}`);
  } finally {
    fs.rmSync(temporary, { force: true });
  }
  const created = readKey(path);
  if (!created) throw new FlashError("io", `the storage key ${path} vanished after creation`);
  return created;
}

function readKey(path: string): Uint8Array | undefined {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new FlashError("io", `cannot read the storage key ${path}: ${(error as Error).message}`);
  }
  if (bytes.length !== STORAGE_KEY_BYTES) {
    throw new FlashError("io", `the storage key ${path} holds ${bytes.length} bytes, expected ${STORAGE_KEY_BYTES}`);
  }
  return new Uint8Array(bytes);
}
