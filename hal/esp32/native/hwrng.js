/*
 * The ESP32 hardware random number generator, reached through ESP-IDF's esp_fill_random().
 * A host function (XS `@` syntax), so this module stays JavaScript; hal/esp32/random.ts wraps it.
 */
export function fillRandom(buffer) @ "xs_hwrng_fill";
