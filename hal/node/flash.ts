/**
 * NVS emulation for the simulator: the `KeyValueFlash` contract with ESP-IDF NVS's limits
 * (names at most 15 characters, strings and blobs at most 4000 bytes, typed values), where
 * every set or delete commits on its own.
 *
 * Two backings: one flash file (replaced atomically on every commit: temp file, fsync, rename,
 * fsync of the directory, so a crash of the simulator leaves the old or the new image, never a
 * torn one) or memory (fast tests). Both count writes per key (wear), can cut the power before
 * or after the Nth write, and can corrupt a stored byte, so the record store's old-or-new
 * guarantee can be tested against the failures a board meets.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import {
  FlashError,
  NVS_MAX_BLOB_BYTES,
  NVS_MAX_NAME_LENGTH,
  NVS_MAX_STRING_BYTES,
  type FlashValue,
  type KeyValueFlash,
} from "../../firmware/contracts";

export type PowerCutWhen = "before" | "after";

export interface FlashFileOptions {
  /**
   * Cut the power at this write (1-based, counting the sets and deletes that commit since this
   * open). "before": that write is lost; "after": it commits, then the board dies. Either way
   * the write throws FlashError("power-cut"), and so does every later call.
   */
  powerCutAtWrite?: number;
  powerCutWhen?: PowerCutWhen;
  /** What to do with a flash file that does not parse: throw FlashError("io") (default) or start erased. */
  ifUnreadable?: "throw" | "erase";
  /** fsync the file and its directory on each commit (default true; tests may trade it for speed). */
  durable?: boolean;
}

export interface FlashStats {
  /** Commits over the flash's whole life (persisted in the file). */
  totalWrites: number;
  /** Commits since this open (what powerCutAtWrite counts). */
  writesSinceOpen: number;
  /** Commits per "namespace/key" over the flash's whole life, deletes included. */
  wear: Record<string, number>;
  /** Set once the injected power cut has happened. */
  poweredOff: boolean;
  /** Why the file was treated as erased on open (ifUnreadable: "erase"), if it was. */
  erasedOnOpen?: string;
}

export interface NodeFlash extends KeyValueFlash {
  /** The flash file, or undefined for a memory flash. */
  readonly path: string | undefined;
  stats(): FlashStats;
  namespaces(): string[];
  /**
   * Test helper: XORs one byte of a stored value in place (blob byte, string character code,
   * integer bits, or a boolean flip), persisted at once and not counted as a write.
   */
  corruptByte(namespace: string, key: string, offset: number, xorMask?: number): void;
  /** The next boot: a fresh flash over what was committed, with new options (no power cut by default). */
  reboot(options?: FlashFileOptions): NodeFlash;
  /**
   * The application-slot region (app-slots.ts keeps its state there, as JSON), stored in the same
   * file beside the NVS partition, as a board's flash holds its app partitions; undefined until
   * first saved. Saving replaces the file atomically and is not an NVS write.
   */
  appRegion(): string | undefined;
  saveAppRegion(state: string): void;
}

// ---------------------------------------------------------------------------------------------
// Image: typed values kept distinct, as NVS keeps them.
// ---------------------------------------------------------------------------------------------

type StoredValue =
  | { type: "bool"; value: boolean }
  | { type: "int"; value: number }
  | { type: "string"; value: string }
  | { type: "blob"; value: Uint8Array };

interface FlashImage {
  namespaces: Map<string, Map<string, StoredValue>>;
  wear: Map<string, number>;
  totalWrites: number;
  /** The application slots' state (issue 22); files from before it have none. */
  app?: string;
}

const FILE_FORMAT = "explorer-xs-nvs";
const FILE_VERSION = 1;
const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

function emptyImage(): FlashImage {
  return { namespaces: new Map(), wear: new Map(), totalWrites: 0 };
}

function checkName(kind: "namespace" | "key", name: unknown): string {
  if (typeof name !== "string" || name.length === 0) {
    throw new FlashError("limit", `${kind} name must be a non-empty string`);
  }
  const bytes = Buffer.byteLength(name, "utf8");
  if (bytes > NVS_MAX_NAME_LENGTH) {
    throw new FlashError("limit", `${kind} name "${name}" is ${bytes} bytes; NVS allows at most ${NVS_MAX_NAME_LENGTH}`);
  }
  return name;
}

function toStoredValue(key: string, value: FlashValue): StoredValue {
  if (typeof value === "boolean") return { type: "bool", value };
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
      throw new FlashError("limit", `value of "${key}" is ${value}; NVS numbers are 32-bit integers`);
    }
    return { type: "int", value };
  }
  if (typeof value === "string") {
    if (value.includes("\0")) throw new FlashError("limit", `string value of "${key}" contains NUL, which NVS strings cannot hold`);
    const bytes = Buffer.byteLength(value, "utf8");
    if (bytes > NVS_MAX_STRING_BYTES) {
      throw new FlashError("limit", `string value of "${key}" is ${bytes} bytes; NVS allows at most ${NVS_MAX_STRING_BYTES}`);
    }
    return { type: "string", value };
  }
  if (value instanceof ArrayBuffer) {
    if (value.byteLength > NVS_MAX_BLOB_BYTES) {
      throw new FlashError("limit", `blob value of "${key}" is ${value.byteLength} bytes; NVS allows at most ${NVS_MAX_BLOB_BYTES}`);
    }
    return { type: "blob", value: new Uint8Array(value.slice(0)) };
  }
  const kind = value === null ? "null" : typeof value === "object" ? (value as object).constructor?.name ?? "object" : typeof value;
  throw new FlashError("limit", `value of "${key}" is ${kind}; NVS holds a boolean, a 32-bit integer, a string or an ArrayBuffer`);
}

function fromStoredValue(stored: StoredValue): FlashValue {
  if (stored.type === "blob") return stored.value.slice().buffer;
  return stored.value;
}

/** A copy of the image with one key set (value) or removed (undefined), and the write counted. */
function withWrite(image: FlashImage, namespace: string, key: string, value: StoredValue | undefined): FlashImage {
  const namespaces = new Map(image.namespaces);
  const entries = new Map(namespaces.get(namespace) ?? []);
  if (value === undefined) entries.delete(key);
  else entries.set(key, value);
  if (entries.size === 0) namespaces.delete(namespace);
  else namespaces.set(namespace, entries);
  const wear = new Map(image.wear);
  const wearKey = `${namespace}/${key}`;
  wear.set(wearKey, (wear.get(wearKey) ?? 0) + 1);
  return { ...image, namespaces, wear, totalWrites: image.totalWrites + 1 };
}

// ---------------------------------------------------------------------------------------------
// File format: JSON, values tagged with their NVS type, blobs in Base64.
// ---------------------------------------------------------------------------------------------

interface FileValue {
  type: StoredValue["type"];
  value: boolean | number | string;
}

function serializeImage(image: FlashImage): string {
  const namespaces: Record<string, Record<string, FileValue>> = {};
  for (const [namespace, entries] of image.namespaces) {
    const out: Record<string, FileValue> = {};
    for (const [key, stored] of entries) {
      out[key] = stored.type === "blob"
        ? { type: "blob", value: Buffer.from(stored.value).toString("base64") }
        : { type: stored.type, value: stored.value };
    }
    namespaces[namespace] = out;
  }
  return JSON.stringify({
    format: FILE_FORMAT,
    version: FILE_VERSION,
    totalWrites: image.totalWrites,
    wear: Object.fromEntries(image.wear),
    namespaces,
    ...(image.app !== undefined ? { app: image.app } : {}),
  }, null, 1) + "\n";
}

class UnreadableImage extends Error {}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseFileValue(where: string, raw: unknown): StoredValue {
  if (!isPlainObject(raw)) throw new UnreadableImage(`${where} is not a typed value`);
  const { type, value } = raw;
  if (type === "bool" && typeof value === "boolean") return { type, value };
  if (type === "int" && typeof value === "number" && Number.isInteger(value)) return { type, value };
  if (type === "string" && typeof value === "string") return { type, value };
  if (type === "blob" && typeof value === "string" && /^[A-Za-z0-9+/]*={0,2}$/.test(value) && value.length % 4 === 0) {
    return { type, value: new Uint8Array(Buffer.from(value, "base64")) };
  }
  throw new UnreadableImage(`${where} has an invalid ${String(type)} value`);
}

function parseImage(text: string): FlashImage {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new UnreadableImage(`not valid JSON (${(error as Error).message}); truncated or garbled`);
  }
  if (!isPlainObject(doc) || doc.format !== FILE_FORMAT) throw new UnreadableImage(`not an ${FILE_FORMAT} image`);
  if (doc.version !== FILE_VERSION) throw new UnreadableImage(`format version ${String(doc.version)} is not ${FILE_VERSION}`);
  if (typeof doc.totalWrites !== "number" || !Number.isInteger(doc.totalWrites) || doc.totalWrites < 0) {
    throw new UnreadableImage("totalWrites is not a non-negative integer");
  }
  if (!isPlainObject(doc.wear) || !isPlainObject(doc.namespaces)) throw new UnreadableImage("wear or namespaces missing");
  const image = emptyImage();
  image.totalWrites = doc.totalWrites;
  if (doc.app !== undefined) {
    if (typeof doc.app !== "string") throw new UnreadableImage("app is not a string");
    image.app = doc.app;
  }
  for (const [key, count] of Object.entries(doc.wear)) {
    if (typeof count !== "number" || !Number.isInteger(count) || count < 0) throw new UnreadableImage(`wear of ${key} is invalid`);
    image.wear.set(key, count);
  }
  for (const [namespace, entries] of Object.entries(doc.namespaces)) {
    if (!isPlainObject(entries)) throw new UnreadableImage(`namespace ${namespace} is not an object`);
    const map = new Map<string, StoredValue>();
    for (const [key, raw] of Object.entries(entries)) map.set(key, parseFileValue(`${namespace}/${key}`, raw));
    if (map.size > 0) image.namespaces.set(namespace, map);
  }
  return image;
}

let tempCounter = 0;

/** Replaces the file so a reader sees the old or the new content whatever instant the process dies. */
function writeFileAtomic(path: string, data: string, durable: boolean): void {
  const temp = `${path}.${process.pid}.${++tempCounter}.tmp`;
  try {
    const fd = openSync(temp, "w", 0o600);
    try {
      writeFileSync(fd, data);
      if (durable) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    try { unlinkSync(temp); } catch { /* already renamed or never created */ }
    throw new FlashError("io", `cannot commit flash file ${path}: ${(error as Error).message}`);
  }
  if (durable) {
    // The rename itself is durable only once the directory entry is flushed.
    let dirFd: number | undefined;
    try {
      dirFd = openSync(dirname(path), "r");
      fsyncSync(dirFd);
    } catch {
      // Some platforms cannot fsync a directory; the rename is still atomic there.
    } finally {
      if (dirFd !== undefined) closeSync(dirFd);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Backings and the emulator.
// ---------------------------------------------------------------------------------------------

interface Backing {
  readonly path: string | undefined;
  /** The committed image, or the reason it cannot be read. */
  load(): FlashImage;
  save(image: FlashImage): void;
}

class MemoryBacking implements Backing {
  readonly path = undefined;
  private image = emptyImage();
  load(): FlashImage {
    return this.image;
  }
  save(image: FlashImage): void {
    this.image = image;
  }
}

class FileBacking implements Backing {
  constructor(readonly path: string, private readonly durable: boolean) {}
  load(): FlashImage {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return emptyImage(); // a new, erased flash
      throw new FlashError("io", `cannot read flash file ${this.path}: ${(error as Error).message}`);
    }
    return parseImage(text);
  }
  save(image: FlashImage): void {
    writeFileAtomic(this.path, serializeImage(image), this.durable);
  }
}

class EmulatedFlash implements NodeFlash {
  private image: FlashImage;
  private writesSinceOpen = 0;
  private poweredOff = false;
  private readonly erasedOnOpen: string | undefined;

  constructor(private readonly backing: Backing, private readonly options: FlashFileOptions) {
    const cut = options.powerCutAtWrite;
    if (cut !== undefined && (!Number.isInteger(cut) || cut < 1)) {
      throw new RangeError(`powerCutAtWrite must be an integer of at least 1, not ${cut}`);
    }
    try {
      this.image = backing.load();
    } catch (error) {
      if (!(error instanceof UnreadableImage)) throw error;
      const reason = `flash file ${backing.path} is unreadable: ${error.message}`;
      if (options.ifUnreadable !== "erase") {
        throw new FlashError("io", `${reason}; delete it, or open it with ifUnreadable: "erase" to start from an erased flash`);
      }
      this.image = emptyImage();
      this.erasedOnOpen = reason;
    }
  }

  get path(): string | undefined {
    return this.backing.path;
  }

  get(namespace: string, key: string): FlashValue | undefined {
    this.checkPower();
    const stored = this.image.namespaces.get(checkName("namespace", namespace))?.get(checkName("key", key));
    return stored === undefined ? undefined : fromStoredValue(stored);
  }

  set(namespace: string, key: string, value: FlashValue): void {
    this.checkPower();
    const stored = toStoredValue(checkName("key", key), value);
    this.commit(checkName("namespace", namespace), key, stored);
  }

  delete(namespace: string, key: string): void {
    this.checkPower();
    checkName("namespace", namespace);
    checkName("key", key);
    if (!this.image.namespaces.get(namespace)?.has(key)) return; // nothing to commit
    this.commit(namespace, key, undefined);
  }

  keys(namespace: string): string[] {
    this.checkPower();
    return [...(this.image.namespaces.get(checkName("namespace", namespace))?.keys() ?? [])];
  }

  namespaces(): string[] {
    this.checkPower();
    return [...this.image.namespaces.keys()];
  }

  stats(): FlashStats {
    return {
      totalWrites: this.image.totalWrites,
      writesSinceOpen: this.writesSinceOpen,
      wear: Object.fromEntries(this.image.wear),
      poweredOff: this.poweredOff,
      ...(this.erasedOnOpen !== undefined ? { erasedOnOpen: this.erasedOnOpen } : {}),
    };
  }

  corruptByte(namespace: string, key: string, offset: number, xorMask = 0xff): void {
    const stored = this.image.namespaces.get(namespace)?.get(key);
    if (stored === undefined) throw new RangeError(`no value at ${namespace}/${key} to corrupt`);
    if (!Number.isInteger(xorMask) || xorMask < 1 || xorMask > 0xff) throw new RangeError("xorMask must be 1..255");
    let corrupted: StoredValue;
    if (stored.type === "blob") {
      if (!Number.isInteger(offset) || offset < 0 || offset >= stored.value.length) {
        throw new RangeError(`offset ${offset} is outside the ${stored.value.length}-byte blob ${namespace}/${key}`);
      }
      const bytes = stored.value.slice();
      bytes[offset] ^= xorMask;
      corrupted = { type: "blob", value: bytes };
    } else if (stored.type === "string") {
      if (!Number.isInteger(offset) || offset < 0 || offset >= stored.value.length) {
        throw new RangeError(`offset ${offset} is outside the ${stored.value.length}-character string ${namespace}/${key}`);
      }
      const code = stored.value.charCodeAt(offset) ^ xorMask;
      corrupted = { type: "string", value: stored.value.slice(0, offset) + String.fromCharCode(code) + stored.value.slice(offset + 1) };
    } else if (stored.type === "int") {
      corrupted = { type: "int", value: (stored.value ^ (xorMask << (8 * (offset & 3)))) | 0 };
    } else {
      corrupted = { type: "bool", value: !stored.value };
    }
    const namespaces = new Map(this.image.namespaces);
    namespaces.set(namespace, new Map(namespaces.get(namespace)).set(key, corrupted));
    const next = { ...this.image, namespaces };
    this.backing.save(next);
    this.image = next;
  }

  appRegion(): string | undefined {
    this.checkPower();
    return this.image.app;
  }

  saveAppRegion(state: string): void {
    this.checkPower();
    const next = { ...this.image, app: state };
    this.backing.save(next);
    this.image = next;
  }

  reboot(options: FlashFileOptions = {}): NodeFlash {
    return new EmulatedFlash(this.backing, { durable: this.options.durable, ...options });
  }

  private checkPower(): void {
    if (this.poweredOff) {
      throw new FlashError("power-cut", `the board lost power at write ${this.options.powerCutAtWrite}; reboot the flash to go on`);
    }
  }

  private commit(namespace: string, key: string, value: StoredValue | undefined): void {
    const index = this.writesSinceOpen + 1;
    const cutHere = this.options.powerCutAtWrite === index;
    const when = this.options.powerCutWhen ?? "before";
    if (cutHere && when === "before") {
      this.poweredOff = true;
      throw new FlashError("power-cut", `power cut before write ${index} (${namespace}/${key}): it was not committed`);
    }
    const next = withWrite(this.image, namespace, key, value);
    this.backing.save(next); // throws FlashError("io") and leaves the image unchanged on failure
    this.image = next;
    this.writesSinceOpen = index;
    if (cutHere) {
      this.poweredOff = true;
      throw new FlashError("power-cut", `power cut after write ${index} (${namespace}/${key}): it was committed`);
    }
  }
}

/** Opens (or, when absent, starts) an emulated NVS partition persisted to one file. */
export function openFlashFile(path: string, options: FlashFileOptions = {}): NodeFlash {
  return new EmulatedFlash(new FileBacking(path, options.durable ?? true), options);
}

/** An emulated NVS partition in memory; `reboot()` keeps what was committed. */
export function createMemoryFlash(options: FlashFileOptions = {}): NodeFlash {
  return new EmulatedFlash(new MemoryBacking(), options);
}

/** Test helper: cuts a flash file short, as a torn copy or a full disk would. */
export function truncateFlashFile(path: string, length: number): void {
  try {
    truncateSync(path, length);
  } catch (error) {
    throw new FlashError("io", `cannot truncate flash file ${path}: ${(error as Error).message}`);
  }
}
