/*
 * Preference for the Moddable lane's ESP32-budget image on lin: the values live outside the XS
 * heap, one file each, as the ESP32's live in NVS flash. Moddable's own lin Preference
 * ($MODDABLE/modules/files/preference/lin/preference.js) keeps every value in the heap for the
 * life of the program, an ArrayBuffer as its bytes in decimal text ("12,255,3,..."), and turns
 * that text back with split(",") and Uint8Array.from at each get: a certificate device's two
 * record slots alone held tens of KB of the heap the budget image measures, which no board spends.
 *
 * What the ESP32's does (modules/files/preference/esp32/modPreference.c), kept here: a boolean, an
 * integer (a number with a fraction refused: "float unsupported"), a string or an ArrayBuffer per
 * key; get answers a fresh ArrayBuffer of the blob's size, or undefined for a key never set;
 * delete of a missing key is no error; keys(domain) lists a domain's keys. Not kept: NVS's page
 * layout and wear, and its 15-character limit on names (nvs_open and nvs_set_* refuse longer ones;
 * the firmware's names are checked against it in hal/esp32/nvs-limits.ts).
 *
 * Each value is the file `<root>nvs/<domain>.<key>`: one type byte (b, i, s or a) and the value
 * (a byte; 4 bytes little-endian; UTF-8; the bytes). tools/moddable/lane.ts writes a boot's
 * seeded preferences in the same layout. Used only by the budget image (lane.ts
 * writeLaneManifest with a creation); the other lane images run Moddable's own lin Preference.
 */
import { Directory, File, Iterator } from "file";
import config from "mc/config";

const folder = config.file.root + "nvs/";

function pathOf(domain, key) {
	return folder + domain + "." + key;
}

function write(domain, key, tag, bytes) {
	Directory.create(folder);
	const next = pathOf(domain, key) + "~";
	// File opens an existing file without truncating it: a leftover of a cut write goes first.
	if (File.exists(next)) File.delete(next);
	const file = new File(next, true);
	const record = new Uint8Array(1 + bytes.byteLength);
	record[0] = tag.charCodeAt(0);
	record.set(new Uint8Array(bytes), 1);
	file.write(record.buffer);
	file.close();
	// rename(2) replaces the old value whole, as an NVS commit does.
	if (!File.rename(next, domain + "." + key)) throw new Error("nvs set fail");
}

export default class Preference {
	static set(domain, key, value) {
		switch (typeof value) {
			case "boolean":
				write(domain, key, "b", Uint8Array.of(value ? 1 : 0).buffer);
				return;
			case "number": {
				if (value !== Math.trunc(value)) throw new Error("float unsupported");
				const bytes = new DataView(new ArrayBuffer(4));
				bytes.setInt32(0, value, true);
				write(domain, key, "i", bytes.buffer);
				return;
			}
			case "string":
				write(domain, key, "s", ArrayBuffer.fromString(value));
				return;
		}
		if (value instanceof ArrayBuffer) {
			write(domain, key, "a", value);
			return;
		}
		throw new Error("unsupported type");
	}

	static get(domain, key) {
		const path = pathOf(domain, key);
		if (!File.exists(path)) return undefined;
		const file = new File(path, false);
		const length = file.length - 1;
		const tag = String.fromCharCode(new Uint8Array(file.read(ArrayBuffer, 1))[0]);
		const value = length > 0 ? file.read(ArrayBuffer, length) : new ArrayBuffer(0);
		file.close();
		switch (tag) {
			case "b": return new Uint8Array(value)[0] !== 0;
			case "i": return new DataView(value).getInt32(0, true);
			case "s": return String.fromArrayBuffer(value);
			case "a": return value;
		}
		throw new Error("nvs get fail");
	}

	static delete(domain, key) {
		const path = pathOf(domain, key);
		if (File.exists(path)) File.delete(path);
	}

	static keys(domain) {
		const keys = [];
		if (!File.exists(folder)) return keys;
		const prefix = domain + ".";
		for (const entry of new Iterator(folder)) {
			if (entry.length !== undefined && entry.name.startsWith(prefix) && !entry.name.endsWith("~")) keys.push(entry.name.slice(prefix.length));
		}
		return keys;
	}
}
