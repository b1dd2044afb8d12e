/**
 * Authenticated encryption at rest for the device-info record: tweetnacl secretbox
 * (XSalsa20-Poly1305) under the HAL's 32-byte storage key. A sealed value is
 * nonce (24 bytes) || box; `openSealed` returns null on any flipped byte, truncation or wrong
 * key, so a torn or corrupted slot is detected rather than trusted.
 *
 * The nonce comes from the HAL's random source, never nacl.randomBytes: on XS tweetnacl has no
 * PRNG of its own.
 *
 * Copies are made with `new Uint8Array(bytes)` and `slice`, never `Uint8Array.from(bytes)`: XS
 * (8.2.3, xsDataView.c fx_TypedArray_from_object) copies through the iterator into a list of one
 * heap slot per byte, so sealing a certificate device's 5 KB record held over 5,000 slots at once
 * and ran the ESP32 budget's slot heap out (docs/ESP32.md "Within the static block").
 */
import nacl from "tweetnacl";
import type { Bytes, Hal } from "./contracts";
import { ExplorerError } from "./errors";

export const SEAL_KEY_BYTES = nacl.secretbox.keyLength;
export const SEAL_NONCE_BYTES = nacl.secretbox.nonceLength;
/** Bytes a sealed value adds to its plaintext: the nonce and the Poly1305 tag. */
export const SEAL_OVERHEAD_BYTES = SEAL_NONCE_BYTES + nacl.secretbox.overheadLength;

export type SealHal = Pick<Hal, "crypto" | "storageKey">;

function storageKey(hal: SealHal): Uint8Array {
  const key = hal.storageKey();
  if (!(key instanceof Uint8Array) || key.length !== SEAL_KEY_BYTES) {
    const length = key instanceof Uint8Array ? `${key.length} bytes` : typeof key;
    throw new ExplorerError("storage", `the storage key is ${length}; secretbox needs exactly ${SEAL_KEY_BYTES} bytes`);
  }
  return new Uint8Array(key);
}

/** Encrypts and authenticates `plaintext` under the storage key with a fresh random nonce. */
export function seal(hal: SealHal, plaintext: Bytes): Uint8Array {
  const key = storageKey(hal);
  const nonce = hal.crypto.randomBytes(SEAL_NONCE_BYTES);
  if (!(nonce instanceof Uint8Array) || nonce.length !== SEAL_NONCE_BYTES) {
    throw new ExplorerError("storage", `the random source did not return ${SEAL_NONCE_BYTES} bytes for a nonce`);
  }
  const box = nacl.secretbox(new Uint8Array(plaintext), new Uint8Array(nonce), key);
  const sealed = new Uint8Array(SEAL_NONCE_BYTES + box.length);
  sealed.set(nonce, 0);
  sealed.set(box, SEAL_NONCE_BYTES);
  return sealed;
}

/** The plaintext, or null when the value was altered, cut short, or sealed under another key. */
export function openSealed(hal: SealHal, sealed: Bytes): Uint8Array | null {
  const key = storageKey(hal);
  if (sealed.length < SEAL_OVERHEAD_BYTES) return null;
  const nonce = sealed.slice(0, SEAL_NONCE_BYTES);
  const box = sealed.slice(SEAL_NONCE_BYTES);
  return nacl.secretbox.open(box, nonce, key);
}
