/*
 * The lin (desktop) stand-in for Moddable's pins/pwm, which has no lin port: keeps the duty
 * last written (0-1023, the ESP32 port's 10-bit range) so an app's PWM code runs unchanged.
 * Built only into `mcconfig -p lin` images (examples/lamp/manifest.json platforms.lin).
 */
export default class PWM {
	#duty = 0;
	constructor(dictionary) {
		if (typeof dictionary?.pin !== "number")
			throw new RangeError("pin required");
	}
	write(value) {
		if ((typeof value !== "number") || (value < 0) || (value > 1023))
			throw new RangeError("bad value");
		this.#duty = value;
	}
	close() {
	}
}
