/**
 * The device-info record store: this project's HAL_GetDevInfo / HAL_SetDevInfo, on top of the
 * key-value flash HAL.
 *
 * Each NVS set commits on its own, so one key write is the atomic unit. The record lives in two
 * slots, A and B; each slot's "head" key holds the record sealed (secretbox) with a sequence
 * number. Reads pick the valid slot with the highest sequence number; a write goes to the
 * other slot. Whatever instant the power is cut, the slot holding the current record is
 * untouched, so the next boot reads the old record or the new one, never garbage.
 *
 * A record too large for one value (cert mode: PEM certificate and key) is sealed once and split
 * into chunk keys of the target slot; the head, written LAST, seals the chunk count and the
 * chunks' SHA-256, so the head's commit is the atomic switch, and stale or torn chunks of an
 * earlier write never pass for the new record.
 *
 * Flash layout (namespace "exs"):
 *   rec.a, rec.b          slot heads (ArrayBuffer: nonce || secretbox(JSON))
 *   rec.a.0 .. rec.a.7    slot A chunks (only for records that do not fit in the head)
 */
import { FlashError, nameErrorClass, NVS_MAX_BLOB_BYTES, type FlashValue, type Hal } from "./contracts";
import { validateDeviceInfo, type DeviceInfo } from "./device-info";
import { constantTimeEqual, hexEncode, maskSecret, utf8Decode, utf8Encode } from "./encoding";
import { ExplorerError } from "./errors";
import { openSealed, seal } from "./seal";

export const RECORD_NAMESPACE = "exs";
/** Chunks per slot: 8 x 4000 bytes holds a cert-mode record with room to spare. */
export const MAX_RECORD_CHUNKS = 8;
const FORMAT_VERSION = 1;

export type SlotName = "A" | "B";
const SLOT_NAMES: readonly SlotName[] = ["A", "B"];

export type StoreHal = Pick<Hal, "flash" | "crypto" | "storageKey">;

/** A flash failure below the record store (limit, I/O, power cut), kept as `cause`. */
export class RecordStoreError extends ExplorerError {
  static {
    nameErrorClass(this, "RecordStoreError");
  }
  readonly flashCode?: FlashError["code"];
  constructor(message: string, cause?: unknown) {
    super("storage", message);
    if (cause instanceof FlashError) this.flashCode = cause.code;
  }
}

function headKey(slot: SlotName): string {
  return `rec.${slot.toLowerCase()}`;
}

function chunkKey(slot: SlotName, index: number): string {
  return `rec.${slot.toLowerCase()}.${index}`;
}

function otherSlot(slot: SlotName): SlotName {
  return slot === "A" ? "B" : "A";
}

/** Runs a flash operation, turning a FlashError into a storage error that says what was done. */
function onFlash<T>(doing: string, operation: () => T): T {
  try {
    return operation();
  } catch (error) {
    if (error instanceof FlashError) throw new RecordStoreError(`flash failed while ${doing}: ${error.message}`, error);
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Record payloads: canonical JSON, so equal records serialize to equal bytes.
// ---------------------------------------------------------------------------------------------

const INFO_FIELDS = ["productId", "deviceName", "productSecret", "authMode", "deviceSecret", "clientCert", "clientKey", "region"] as const;

/** The record's known fields in a fixed order, absent ones left out. */
function canonicalInfo(info: DeviceInfo): DeviceInfo {
  const out: Record<string, unknown> = {};
  for (const field of INFO_FIELDS) if (info[field] !== undefined) out[field] = info[field];
  return out as unknown as DeviceInfo;
}

interface RecordPayload {
  v: number;
  slot: SlotName;
  seq: number;
  info: DeviceInfo;
}

interface ChunkedHead {
  v: number;
  slot: SlotName;
  seq: number;
  chunks: number;
  bytes: number;
  sha256: string;
}

function encodeJson(value: unknown): Uint8Array {
  return utf8Encode(JSON.stringify(value));
}

class SlotProblem extends Error {}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function decodeJson(bytes: Uint8Array, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8Decode(bytes));
  } catch {
    throw new SlotProblem(`${what} opened but is not valid JSON`);
  }
  if (!isObject(parsed)) throw new SlotProblem(`${what} opened but is not a JSON object`);
  return parsed;
}

/** Checks the fields every sealed payload carries; they bind it to its slot and generation. */
function checkEnvelope(doc: Record<string, unknown>, slot: SlotName, what: string): number {
  if (doc.v !== FORMAT_VERSION) throw new SlotProblem(`${what} has format version ${String(doc.v)}; this firmware reads ${FORMAT_VERSION}`);
  if (doc.slot !== slot) throw new SlotProblem(`${what} was sealed for slot ${String(doc.slot)}, found in slot ${slot}`);
  const seq = doc.seq;
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 1) throw new SlotProblem(`${what} has an invalid sequence number`);
  return seq;
}

function checkInfo(raw: unknown, what: string): DeviceInfo {
  if (!isObject(raw)) throw new SlotProblem(`${what} holds no device info`);
  try {
    return canonicalInfo(validateDeviceInfo(raw as unknown as DeviceInfo));
  } catch (error) {
    throw new SlotProblem(`${what} holds device info that fails validation: ${(error as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Reading a slot.
// ---------------------------------------------------------------------------------------------

interface SlotRead {
  slot: SlotName;
  state: "empty" | "valid" | "invalid";
  /** Known once the head opened (also for an invalid slot whose chunks failed). */
  seq?: number;
  info?: DeviceInfo;
  layout?: "inline" | "chunked";
  headBytes?: number;
  chunkCount?: number;
  chunkBytes?: number;
  reason?: string;
}

function asBytes(value: FlashValue | undefined, what: string): Uint8Array {
  if (!(value instanceof ArrayBuffer)) {
    throw new SlotProblem(`${what} is ${value === undefined ? "missing" : `a ${typeof value}, not a blob`}`);
  }
  return new Uint8Array(value);
}

function readSlot(hal: StoreHal, slot: SlotName): SlotRead {
  const head = onFlash(`reading slot ${slot}`, () => hal.flash.get(RECORD_NAMESPACE, headKey(slot)));
  if (head === undefined) return { slot, state: "empty" };
  const read: SlotRead = { slot, state: "invalid" };
  try {
    const sealedHead = asBytes(head, `slot ${slot} head`);
    read.headBytes = sealedHead.length;
    const opened = openSealed(hal, sealedHead);
    if (opened === null) {
      throw new SlotProblem(`slot ${slot} head does not open under the storage key (corrupted, torn, or sealed under another key)`);
    }
    const doc = decodeJson(opened, `slot ${slot} head`);
    read.seq = checkEnvelope(doc, slot, `slot ${slot} head`);
    if (doc.info !== undefined) {
      read.layout = "inline";
      read.info = checkInfo(doc.info, `slot ${slot} head`);
    } else {
      read.layout = "chunked";
      read.info = readChunks(hal, slot, doc, read);
    }
    read.state = "valid";
  } catch (error) {
    if (!(error instanceof SlotProblem)) throw error;
    read.info = undefined;
    read.reason = error.message;
  }
  return read;
}

function readChunks(hal: StoreHal, slot: SlotName, head: Record<string, unknown>, read: SlotRead): DeviceInfo {
  const { chunks, bytes, sha256 } = head;
  if (typeof chunks !== "number" || !Number.isInteger(chunks) || chunks < 1 || chunks > MAX_RECORD_CHUNKS) {
    throw new SlotProblem(`slot ${slot} head names an invalid chunk count`);
  }
  if (typeof bytes !== "number" || !Number.isInteger(bytes) || bytes < 1 || bytes > chunks * NVS_MAX_BLOB_BYTES) {
    throw new SlotProblem(`slot ${slot} head names an invalid record size`);
  }
  if (typeof sha256 !== "string" || !/^[0-9a-f]{64}$/.test(sha256)) throw new SlotProblem(`slot ${slot} head has no valid SHA-256`);
  read.chunkCount = chunks;
  const body = new Uint8Array(bytes);
  let offset = 0;
  for (let index = 0; index < chunks; index++) {
    const value = onFlash(`reading slot ${slot}`, () => hal.flash.get(RECORD_NAMESPACE, chunkKey(slot, index)));
    const chunk = asBytes(value, `slot ${slot} chunk ${index}`);
    if (offset + chunk.length > bytes) throw new SlotProblem(`slot ${slot} chunks hold more than the ${bytes} bytes the head names`);
    body.set(chunk, offset);
    offset += chunk.length;
  }
  read.chunkBytes = offset;
  if (offset !== bytes) throw new SlotProblem(`slot ${slot} chunks hold ${offset} bytes; the head names ${bytes} (torn write)`);
  const digest = hexEncode(hal.crypto.digest("sha256", body));
  if (!constantTimeEqual(utf8Encode(digest), utf8Encode(sha256))) {
    throw new SlotProblem(`slot ${slot} chunks do not match the head's SHA-256 (torn, stale or corrupted chunks)`);
  }
  const opened = openSealed(hal, body);
  if (opened === null) throw new SlotProblem(`slot ${slot} record body does not open under the storage key`);
  const doc = decodeJson(opened, `slot ${slot} record body`);
  if (checkEnvelope(doc, slot, `slot ${slot} record body`) !== read.seq) {
    throw new SlotProblem(`slot ${slot} record body belongs to another generation than its head`);
  }
  return checkInfo(doc.info, `slot ${slot} record body`);
}

function readBoth(hal: StoreHal): SlotRead[] {
  return SLOT_NAMES.map((slot) => readSlot(hal, slot));
}

/** The valid slot with the highest sequence number. */
function newestValid(slots: SlotRead[]): SlotRead | undefined {
  let best: SlotRead | undefined;
  for (const slot of slots) {
    if (slot.state === "valid" && (best === undefined || (slot.seq as number) > (best.seq as number))) best = slot;
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Public API.
// ---------------------------------------------------------------------------------------------

export type DevInfoLoad =
  /** `mirrored`: the other slot holds the very same record, so losing either slot loses nothing. */
  | { status: "ok"; info: DeviceInfo; slot: SlotName; seq: number; mirrored: boolean }
  | { status: "empty" }
  /** Something is stored but no slot is valid: `reason` says why for each slot. */
  | { status: "unreadable"; reason: string };

function describeUnreadable(slots: SlotRead[]): string {
  return slots.map((slot) => (slot.state === "empty" ? `slot ${slot.slot} is empty` : slot.reason)).join("; ");
}

/**
 * Loads the current record and says where it came from, or why there is none. Distinguishes an
 * erased store from one whose content no longer opens. Throws RecordStoreError only when the
 * flash itself fails.
 */
export function loadDevInfo(hal: StoreHal): DevInfoLoad {
  return loadFromSlots(readBoth(hal));
}

function loadFromSlots(slots: SlotRead[]): DevInfoLoad {
  const current = newestValid(slots);
  if (current) {
    const info = current.info as DeviceInfo;
    const other = slots.find((slot) => slot.slot !== current.slot);
    const mirrored = other !== undefined && other.state === "valid" && constantTimeEqual(encodeJson(other.info), encodeJson(info));
    return { status: "ok", info, slot: current.slot, seq: current.seq as number, mirrored };
  }
  if (slots.every((slot) => slot.state === "empty")) return { status: "empty" };
  return { status: "unreadable", reason: describeUnreadable(slots) };
}

/** HAL_GetDevInfo: the current record, or undefined when none is stored or none is readable. */
export function getDevInfo(hal: StoreHal): DeviceInfo | undefined {
  const load = loadDevInfo(hal);
  return load.status === "ok" ? load.info : undefined;
}

export interface SetDevInfoOptions {
  /**
   * Also copy the record into the other slot (one more write), so that a later corruption of
   * either slot cannot fall back to an older record. The boot task mirrors a freshly registered
   * secret: once activated, losing it would brick the device until it is deleted in the console.
   */
  mirror?: boolean;
}

/**
 * HAL_SetDevInfo: validates and stores `info` in the slot not holding the current record.
 * Storing the record already current writes nothing, so a normal boot costs no flash wear.
 */
export function setDevInfo(hal: StoreHal, info: DeviceInfo, options: SetDevInfoOptions = {}): void {
  storeDevInfo(hal, info, options);
}

/**
 * setDevInfo, answering what getDevInfo would read right after it: each slot it wrote as read
 * back from flash after the write, the other as read before (no write touched it). A caller that
 * checks its record landed needs no second read of both slots.
 */
export function storeDevInfo(hal: StoreHal, info: DeviceInfo, options: SetDevInfoOptions = {}): DevInfoLoad {
  const record = canonicalInfo(validateDeviceInfo(info));
  const wanted = encodeJson(record);
  const holds = (slot: SlotRead | undefined) => slot !== undefined && slot.state === "valid" && constantTimeEqual(encodeJson(slot.info), wanted);
  let slots = readBoth(hal);
  if (!holds(newestValid(slots))) slots = withSlot(slots, writeRecord(hal, record, slots));
  if (options.mirror) {
    const current = newestValid(slots) as SlotRead;
    const other = slots.find((slot) => slot.slot !== current.slot);
    if (!holds(other)) slots = withSlot(slots, writeRecord(hal, record, slots));
  }
  return loadFromSlots(slots);
}

/** `slots` with one slot's read replaced. */
function withSlot(slots: SlotRead[], read: SlotRead): SlotRead[] {
  return slots.map((slot) => (slot.slot === read.slot ? read : slot));
}

/**
 * Writes `record` into the slot not holding the newest valid record, with the next sequence
 * number; answers that slot as read back from flash after the write.
 */
function writeRecord(hal: StoreHal, record: DeviceInfo, slots: SlotRead[]): SlotRead {
  const current = newestValid(slots);
  const target = current ? otherSlot(current.slot) : "A";
  const seq = Math.max(0, ...slots.map((slot) => slot.seq ?? 0)) + 1;
  const payload = encodeJson({ v: FORMAT_VERSION, slot: target, seq, info: record } satisfies RecordPayload);
  const sealedRecord = seal(hal, payload);

  let chunkCount = 0;
  let head = sealedRecord;
  if (sealedRecord.length > NVS_MAX_BLOB_BYTES) {
    chunkCount = Math.ceil(sealedRecord.length / NVS_MAX_BLOB_BYTES);
    if (chunkCount > MAX_RECORD_CHUNKS) {
      throw new RecordStoreError(
        `the sealed record is ${sealedRecord.length} bytes; the store holds at most ${MAX_RECORD_CHUNKS * NVS_MAX_BLOB_BYTES} (shorten clientCert or clientKey)`,
      );
    }
    // Chunks first, into the slot not holding the current record; the head below switches.
    for (let index = 0; index < chunkCount; index++) {
      const chunk = sealedRecord.slice(index * NVS_MAX_BLOB_BYTES, (index + 1) * NVS_MAX_BLOB_BYTES);
      onFlash(`writing slot ${target} chunk ${index}`, () => hal.flash.set(RECORD_NAMESPACE, chunkKey(target, index), chunk.buffer));
    }
    const chunkedHead: ChunkedHead = {
      v: FORMAT_VERSION,
      slot: target,
      seq,
      chunks: chunkCount,
      bytes: sealedRecord.length,
      sha256: hexEncode(hal.crypto.digest("sha256", sealedRecord)),
    };
    head = seal(hal, encodeJson(chunkedHead));
  }
  // The atomic switch: once this commits, the new record is the newest valid slot.
  onFlash(`writing slot ${target} head`, () => hal.flash.set(RECORD_NAMESPACE, headKey(target), head.slice().buffer));

  // Chunks the new head does not name are garbage now; removing them is safe at any instant.
  for (const key of strayChunkKeys(hal, target, chunkCount)) {
    onFlash(`removing stale chunk ${key}`, () => hal.flash.delete(RECORD_NAMESPACE, key));
  }

  // Read back, so a flash that accepts writes but keeps garbage fails here and not at next boot.
  const written = readSlot(hal, target);
  if (written.state !== "valid" || written.seq !== seq) {
    throw new RecordStoreError(`slot ${target} did not read back after writing: ${written.reason ?? "another generation is stored"}`);
  }
  return written;
}

/** Chunk keys of `slot` at or beyond `keep`. */
function strayChunkKeys(hal: StoreHal, slot: SlotName, keep: number): string[] {
  const prefix = `rec.${slot.toLowerCase()}.`;
  const keys = onFlash("listing the record keys", () => hal.flash.keys(RECORD_NAMESPACE));
  return keys.filter((key) => key.startsWith(prefix) && !isChunkBelow(key.slice(prefix.length), keep));
}

function isChunkBelow(suffix: string, keep: number): boolean {
  return /^(0|[1-9][0-9]*)$/.test(suffix) && Number(suffix) < keep;
}

/**
 * Factory reset of the record: removes the older slot first and the current one last, so a
 * power cut midway leaves the current record or nothing, never an older one.
 */
export function eraseDevInfo(hal: StoreHal): void {
  const slots = readBoth(hal);
  const current = newestValid(slots);
  const order: SlotName[] = current ? [otherSlot(current.slot), current.slot] : ["A", "B"];
  for (const slot of order) {
    onFlash(`erasing slot ${slot}`, () => hal.flash.delete(RECORD_NAMESPACE, headKey(slot)));
    for (const key of strayChunkKeys(hal, slot, 0)) onFlash(`erasing ${key}`, () => hal.flash.delete(RECORD_NAMESPACE, key));
  }
}

// ---------------------------------------------------------------------------------------------
// Inspection, for `flash show`.
// ---------------------------------------------------------------------------------------------

export interface FlashSlotReport {
  slot: SlotName;
  state: "empty" | "valid" | "invalid";
  /** The slot getDevInfo() reads. */
  current: boolean;
  seq?: number;
  layout?: "inline" | "chunked";
  headBytes?: number;
  chunkCount?: number;
  chunkBytes?: number;
  /** Why an invalid slot was rejected. */
  reason?: string;
  /** The slot's record; secrets masked unless revealSecrets was asked for. */
  record?: DeviceInfo;
}

export interface FlashReport {
  namespace: string;
  status: DevInfoLoad["status"];
  current?: SlotName;
  /** Why no slot is readable (status "unreadable"). */
  reason?: string;
  slots: FlashSlotReport[];
  /** Keys in the namespace that belong to no slot's current layout (left by an interrupted cleanup). */
  strayKeys: string[];
  secretsRevealed: boolean;
}

function maskRecord(info: DeviceInfo): DeviceInfo {
  const masked: DeviceInfo = { ...info };
  if (masked.productSecret !== undefined) masked.productSecret = maskSecret(masked.productSecret);
  if (masked.deviceSecret !== undefined) masked.deviceSecret = maskSecret(masked.deviceSecret);
  if (masked.clientKey !== undefined) masked.clientKey = `(private key, ${masked.clientKey.length} characters)`;
  if (masked.clientCert !== undefined) masked.clientCert = `(certificate, ${masked.clientCert.length} characters)`;
  return masked;
}

/** What the store holds, slot by slot; secrets come back in clear only with revealSecrets. */
export function inspectFlash(hal: StoreHal, options: { revealSecrets?: boolean } = {}): FlashReport {
  const reveal = options.revealSecrets === true;
  const slots = readBoth(hal);
  const current = newestValid(slots);
  const load = loadFromSlots(slots);

  const expected = new Set<string>();
  for (const slot of slots) {
    if (slot.state === "empty") continue;
    expected.add(headKey(slot.slot));
    for (let index = 0; index < (slot.chunkCount ?? 0); index++) expected.add(chunkKey(slot.slot, index));
  }
  const keys = onFlash("listing the record keys", () => hal.flash.keys(RECORD_NAMESPACE));

  return {
    namespace: RECORD_NAMESPACE,
    status: load.status,
    ...(current ? { current: current.slot } : {}),
    ...(load.status === "unreadable" ? { reason: load.reason } : {}),
    slots: slots.map((slot) => {
      const report: FlashSlotReport = { slot: slot.slot, state: slot.state, current: slot === current };
      if (slot.seq !== undefined) report.seq = slot.seq;
      if (slot.layout !== undefined) report.layout = slot.layout;
      if (slot.headBytes !== undefined) report.headBytes = slot.headBytes;
      if (slot.chunkCount !== undefined) report.chunkCount = slot.chunkCount;
      if (slot.chunkBytes !== undefined) report.chunkBytes = slot.chunkBytes;
      if (slot.reason !== undefined) report.reason = slot.reason;
      if (slot.info !== undefined) report.record = reveal ? { ...slot.info } : maskRecord(slot.info);
      return report;
    }),
    strayKeys: keys.filter((key) => !expected.has(key)).sort(),
    secretsRevealed: reveal,
  };
}
