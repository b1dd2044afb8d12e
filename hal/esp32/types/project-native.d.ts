/**
 * Declarations for this project's own native and shimmed Moddable modules (see manifest.json).
 */

/** hal/esp32/native/hwrng.js + hwrng.c: fills a buffer from ESP-IDF's esp_fill_random(). */
declare module "hal/esp32/hwrng" {
  export function fillRandom(buffer: ArrayBuffer): void;
}
