/*
 * The lin (desktop) stand-in for Moddable's pins/digital, which has no lin port: the status
 * LED's pin keeps the level last written so the rest of hal/esp32 runs unchanged. Built only
 * into `mcconfig -p lin` images (manifest.json platforms.lin).
 */
export default class Digital {
	#value = 0;
	constructor(dictionary, mode) {
		if ((typeof dictionary !== "number") && (typeof dictionary?.pin !== "number"))
			throw new RangeError("pin required");
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
	static Output = 8;
}
