/**
 * Randomness from the ESP32 hardware RNG, reached through this project's native module
 * (hal/esp32/native/hwrng.c: ESP-IDF's esp_fill_random). Not Math.random, and not `crypt`'s RNG
 * module, which is an RC4 stream seeded with 16 bytes of esp_random() once per boot.
 * esp_fill_random is true random only while Wi-Fi or Bluetooth RF is on; main.ts brings Wi-Fi up
 * before anything draws secrets-grade randomness.
 */
import { fillRandom } from "hal/esp32/hwrng";
import type { Bytes } from "../../firmware/contracts";

/** One call's cap, so a bad length cannot exhaust the heap. */
export const MAX_RANDOM_BYTES = 4096;

export function hardwareRandomBytes(length: number): Bytes {
  if (!Number.isInteger(length) || length < 0 || length > MAX_RANDOM_BYTES) {
    throw new RangeError(`randomBytes length must be an integer from 0 to ${MAX_RANDOM_BYTES}, not ${length}`);
  }
  const buffer = new ArrayBuffer(length);
  if (length > 0) fillRandom(buffer);
  return new Uint8Array(buffer);
}

/** A uniform number in [0, 1) from 32 hardware-random bits (for backoff jitter). */
export function hardwareRandomFraction(): number {
  const bytes = hardwareRandomBytes(4);
  return (((bytes[0] << 24) >>> 0) + (bytes[1] << 16) + (bytes[2] << 8) + bytes[3]) / 4294967296;
}
