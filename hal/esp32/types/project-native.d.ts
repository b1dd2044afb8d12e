/**
 * Declarations for this project's own native and shimmed Moddable modules (see manifest.json).
 */

/** hal/esp32/native/hwrng.js + hwrng.c: fills a buffer from ESP-IDF's esp_fill_random(). */
declare module "hal/esp32/hwrng" {
  export function fillRandom(buffer: ArrayBuffer): void;
}

/**
 * hal/esp32/native/ota-state.js + ota-state.c: ESP-IDF's partition queries and app rollback
 * (hal/lin/ota-state.js + ota.c on lin). A label or version is undefined where ESP-IDF has none.
 */
declare module "hal/esp32/ota-state" {
  export function runningLabel(): string | undefined;
  export function runningVersion(): string | undefined;
  /** esp_ota_img_states_t by name ("new", "pending-verify", "valid", "invalid", "aborted", "undefined"). */
  export function runningState(): string | undefined;
  export function nextLabel(): string | undefined;
  export function nextSize(): number;
  export function lastInvalidLabel(): string | undefined;
  export function rollbackEnabled(): boolean;
  export function markValid(): void;
  export function readNext(offset: number, buffer: ArrayBuffer): void;
  export function restart(): void;
}
