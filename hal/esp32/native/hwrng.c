/*
 * xs_hwrng_fill(buffer): fills an ArrayBuffer (or any writable buffer) with bytes from the
 * ESP32 hardware RNG via esp_fill_random(). ESP-IDF documents that the output is true random
 * only while the RF subsystem (Wi-Fi or Bluetooth) is on, or after bootloader_random_enable();
 * otherwise it is a pseudo-random stream. hal/esp32 brings Wi-Fi up before it asks for
 * secrets-grade randomness (storage key, nonces), and the docs say so.
 */
#include "xsmc.h"
#include "xsHost.h"
#include "esp_random.h"

void xs_hwrng_fill(xsMachine *the)
{
	void *data;
	xsUnsignedValue length;

	xsmcGetBufferWritable(xsArg(0), &data, &length);
	esp_fill_random(data, length);
}
