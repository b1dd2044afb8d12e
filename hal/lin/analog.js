/*
 * The lin (desktop) stand-in for Moddable's pins/analog, which has no lin port: every pin reads
 * mid-scale of the ESP32 port's 10-bit range, so an app's sampling code runs unchanged.
 * Built only into `mcconfig -p lin` images (examples/sensor/manifest.json platforms.lin).
 */
export default class Analog {
	static read(pin) {
		if (typeof pin !== "number")
			throw new RangeError("pin required");
		return 512;
	}
}
