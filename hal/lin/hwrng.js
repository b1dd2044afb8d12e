/*
 * The lin (desktop) stand-in for hal/esp32/native/hwrng.js: the same fillRandom(buffer), filled
 * by the host's CSPRNG (getrandom(2)) in hwrng.c beside it. Built only into `mcconfig -p lin`
 * images (manifest.json platforms.lin), never into an ESP32 image.
 */
export function fillRandom(buffer) @ "xs_hwrng_fill";
