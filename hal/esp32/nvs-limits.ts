/**
 * ESP-IDF NVS limits (docs/PROTOCOL.md §12), checked before a value reaches Moddable's `Preference`,
 * so a violation is a clear FlashError("limit") instead of a silent truncation or an opaque
 * "nvs set fail". Engine-neutral: the Node tests run it as is.
 */
import { FlashError, NVS_MAX_BLOB_BYTES, NVS_MAX_NAME_LENGTH, NVS_MAX_STRING_BYTES, type FlashValue } from "../../firmware/contracts";
import { utf8Encode } from "../../firmware/encoding";

/** Preference stores numbers with nvs_set_i32 and rejects fractions ("float unsupported"). */
export const NVS_INT_MIN = -2147483648;
export const NVS_INT_MAX = 2147483647;

/** NVS names are C strings: printable ASCII without NUL, 1 to 15 characters. */
export function checkNvsName(kind: "namespace" | "key", name: string): void {
  if (typeof name !== "string" || name.length === 0) throw new FlashError("limit", `NVS ${kind} name must be a non-empty string`);
  if (name.length > NVS_MAX_NAME_LENGTH) {
    throw new FlashError("limit", `NVS ${kind} "${name}" is ${name.length} characters; the limit is ${NVS_MAX_NAME_LENGTH}`);
  }
  if (!/^[\x21-\x7e]+$/.test(name)) throw new FlashError("limit", `NVS ${kind} "${name}" must be printable ASCII without spaces`);
}

/**
 * nvs_set_str counts the terminating NUL in its 4000-byte limit, and a NUL inside the text
 * would silently cut it short (Preference passes a C string), so both are refused here.
 */
export function checkNvsValue(namespace: string, key: string, value: FlashValue): void {
  const where = `${namespace}/${key}`;
  if (typeof value === "boolean") return;
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value < NVS_INT_MIN || value > NVS_INT_MAX) {
      throw new FlashError("limit", `${where}: NVS integers are 32-bit signed; ${value} does not fit`);
    }
    return;
  }
  if (typeof value === "string") {
    if (value.indexOf("\u0000") >= 0) throw new FlashError("limit", `${where}: an NVS string cannot hold a NUL character`);
    const bytes = utf8Encode(value).length + 1;
    if (bytes > NVS_MAX_STRING_BYTES) {
      throw new FlashError("limit", `${where}: string needs ${bytes} bytes with its terminator; NVS allows ${NVS_MAX_STRING_BYTES}`);
    }
    return;
  }
  if (value instanceof ArrayBuffer) {
    if (value.byteLength > NVS_MAX_BLOB_BYTES) {
      throw new FlashError("limit", `${where}: blob is ${value.byteLength} bytes; the limit is ${NVS_MAX_BLOB_BYTES}`);
    }
    return;
  }
  throw new FlashError("limit", `${where}: NVS holds booleans, integers, strings or ArrayBuffers only`);
}
