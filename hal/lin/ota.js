/*
 * The lin stand-in for Moddable's esp32/ota module (build/devices/esp32/modules/ota/ota.js): the
 * same class, whose host functions in ota.c write the image into a file standing in for the
 * next OTA partition. Built only into `mcconfig -p lin` images (hal/esp32/manifest.json
 * platforms.lin), never into an ESP32 image.
 */
class OTA @ "xs_ota_destructor" {
	constructor() @ "xs_ota"
	write(data) @ "xs_ota_write"
	cancel() @ "xs_ota_cancel"
	complete() @ "xs_ota_complete"
}
Object.freeze(OTA.prototype);

export default OTA;
