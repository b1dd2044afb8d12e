/**
 * JSON objects as the platform takes them from devices and callers: one test of "a plain object",
 * and the bounded parse of a device's message that the data plane (thing.ts) and firmware update
 * (ota/ota-service.ts) both use.
 */
export type Json = Record<string, unknown>;

/** A JSON object: not null, not an array. */
export function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A device message as a JSON object; undefined when it has more than `maxBytes`, is not JSON or is not an object. */
export function parseJsonObject(payload: Buffer, maxBytes: number): Json | undefined {
  if (payload.length > maxBytes) return undefined;
  try {
    const value: unknown = JSON.parse(payload.toString("utf8"));
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
