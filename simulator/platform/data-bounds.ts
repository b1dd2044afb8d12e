/**
 * How much one device may keep on the platform and be sent back (issue 25 item 8): a logged-in
 * device could otherwise report any number of property names of any size, grow the registry
 * without end, and get back a get_status_reply larger than it can receive.
 *
 * Tencent documents no limits for reported values of a device (its product's data template is
 * the real bound, where one is defined): these are the mock's own (docs/PROTOCOL.md §8).
 */

/** A device receives down messages into 16 KiB (the firmware's and the C SDK's buffers). */
export const MAX_DEVICE_MESSAGE_BYTES = 16 * 1024;

export const REPORTED_BOUNDS = {
  /** Characters of a property name (Tencent's identifiers are far shorter). */
  maxNameLength: 64,
  /** UTF-8 bytes of one value as JSON text. */
  maxValueBytes: 2048,
  /** Distinct property names kept per device. */
  maxPropertiesPerDevice: 128,
  /** UTF-8 bytes of all names and values (JSON) kept per device: a full get_status_reply still fits 16 KiB. */
  maxBytesPerDevice: 8 * 1024,
} as const;

/** What a device keeps now: distinct names and the bytes of names and values. */
export interface ReportedUsage {
  properties: number;
  bytes: number;
}

/** A report's properties as kept: each name with its value's JSON text. */
export type ReportedEntries = Array<[name: string, json: string]>;

/**
 * The report's properties with each value as the JSON text the registry keeps (serialized once,
 * here, where its size is checked), or why they cannot be kept (a string), each on its own.
 */
export function reportedEntries(params: Record<string, unknown>): ReportedEntries | string {
  const entries: ReportedEntries = [];
  for (const [name, value] of Object.entries(params)) {
    if (name.length === 0 || name.length > REPORTED_BOUNDS.maxNameLength) {
      return `property names must be 1-${REPORTED_BOUNDS.maxNameLength} characters`;
    }
    const json = JSON.stringify(value ?? null);
    if (Buffer.byteLength(json) > REPORTED_BOUNDS.maxValueBytes) {
      return `property ${name.slice(0, REPORTED_BOUNDS.maxNameLength)}: a value may have at most ${REPORTED_BOUNDS.maxValueBytes} bytes as JSON`;
    }
    entries.push([name, json]);
  }
  return entries;
}

/** Why a device's reported values, after a report, would be too many or too large; undefined when they fit. */
export function checkDeviceUsage(usage: ReportedUsage): string | undefined {
  if (usage.properties > REPORTED_BOUNDS.maxPropertiesPerDevice) return `a device may keep at most ${REPORTED_BOUNDS.maxPropertiesPerDevice} properties`;
  if (usage.bytes > REPORTED_BOUNDS.maxBytesPerDevice) return `a device may keep at most ${REPORTED_BOUNDS.maxBytesPerDevice} bytes of reported properties`;
  return undefined;
}

/** Whether a message to a device fits what it can receive. */
export function fitsDevice(text: string): boolean {
  return Buffer.byteLength(text) <= MAX_DEVICE_MESSAGE_BYTES;
}
