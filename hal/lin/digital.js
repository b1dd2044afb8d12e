/*
 * The lin (desktop) stand-in for Moddable's pins/digital, which has no lin port: the status
 * LED's pin keeps the level last written so the rest of hal/esp32 runs unchanged, and an input
 * with a pull-up reads 1 (a button never pressed). Built only into `mcconfig -p lin` images
 * (hal/esp32/manifest.json platforms.lin).
 */
export default class Digital {
	#value = 0;
	constructor(dictionary, mode) {
		if ((typeof dictionary !== "number") && (typeof dictionary?.pin !== "number"))
			throw new RangeError("pin required");
		if ((mode ?? dictionary?.mode) === Digital.InputPullUp)
			this.#value = 1;
	}
	read() {
		return this.#value;
	}
	write(value) {
		this.#value = value ? 1 : 0;
	}
	close() {
	}
	static Input = 0;
	static InputPullUp = 1;
	static InputPullDown = 2;
	static Output = 8;
}
