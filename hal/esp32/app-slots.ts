/**
 * ApplicationSlots on ESP-IDF's OTA partitions: the logic of the ESP32 port (staging record,
 * trial, confirm, rollback), kept apart from the calls that touch the partitions so the same
 * code runs on the board (Moddable's `esp32/ota` and hal/esp32/native/ota-state.c) and on
 * Moddable's lin runtime (hal/lin/ota.c, files standing in for the partitions). Engine-neutral:
 * it imports the core's contracts only.
 *
 * What ESP-IDF gives and what this adds:
 * - Writing: Moddable's OTA object is esp_ota_begin (OTA_WITH_SEQUENTIAL_WRITES: each sector is
 *   erased as the write reaches it), esp_ota_write, and esp_ota_end + esp_ota_set_boot_partition.
 *   An esp_ota handle lives in RAM only, and esp_ota_begin always starts at byte 0: an image cut
 *   by a power loss or a reset cannot be continued on the board, only begun again. So staged()
 *   names an image only while this boot's writer is open (a dropped download resumes from the
 *   bytes written; the core rebuilds its MD5 with read()), and after a restart the download
 *   starts again from byte 0 (the core's `begin`). The record below says which image was cut,
 *   for the log.
 * - Trial and rollback: with CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE the bootloader runs a new
 *   image in ESP_OTA_IMG_PENDING_VERIFY and, if it restarts unconfirmed, marks it ABORTED and
 *   boots the previous one; esp_ota_mark_app_valid_cancel_rollback confirms. ESP-IDF tells a
 *   rolled-back boot nothing but esp_ota_get_last_invalid_partition, which stays set for good,
 *   so the small record in NVS (namespace "exs-ota") is what makes takeRollback() say it once,
 *   and what lets a build without rollback (a target whose own sdkconfig leaves it off) still
 *   report the new image `done`: the record's partition running is the trial.
 */
import { FlashError, type ApplicationSlots, type Bytes, type ImageDescriptor, type KeyValueFlash, type Logger } from "../../firmware/contracts";

/** esp_ota_img_states_t by name; undefined where otadata holds no state (a factory app, or never set). */
export type AppState = "new" | "pending-verify" | "valid" | "invalid" | "aborted" | "undefined";

/** The partition calls: ESP-IDF's on the board, the files of hal/lin/ota.c on lin. */
export interface OtaPartitions {
  /** The running app partition: its label, its image's version (esp_app_desc_t), its otadata state. */
  running(): { label: string; version: string; state: AppState | undefined };
  /** esp_ota_get_next_update_partition: where the next image goes, or undefined when the table has no OTA slots. */
  next(): { label: string; size: number } | undefined;
  /** esp_ota_get_last_invalid_partition's label. */
  lastInvalid(): string | undefined;
  /** Whether the bootloader was built with CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE. */
  rollbackEnabled(): boolean;
  /** esp_ota_mark_app_valid_cancel_rollback. */
  markValid(): void;
  /** esp_partition_read of the next update partition into `buffer`. */
  read(offset: number, buffer: ArrayBuffer): void;
  /** esp_restart. */
  restart(): void;
}

/** Moddable's OTA object (build/devices/esp32/modules/ota): new OTA() is esp_ota_begin on the next partition. */
export interface OtaWriter {
  write(bytes: ArrayBuffer): void;
  cancel(): void;
  /** esp_ota_end (the image is verified) then esp_ota_set_boot_partition. */
  complete(): void;
}

export const OTA_NAMESPACE = "exs-ota";
export const STAGE_KEY = "stage";
/** Bytes read back per call, so rebuilding the digest never asks for a large buffer. */
const MAX_READ_BYTES = 16 * 1024;

/** The NVS record: which image goes into which partition, and how far it got. */
interface StageRecord {
  image: ImageDescriptor;
  partition: string;
  state: "writing" | "finished";
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function parseRecord(value: unknown): StageRecord | undefined {
  if (typeof value !== "string") return undefined;
  try {
    const record = JSON.parse(value) as StageRecord;
    const image = record?.image;
    if ((record.state === "writing" || record.state === "finished") && typeof record.partition === "string" &&
        typeof image?.version === "string" && typeof image.size === "number" && typeof image.md5 === "string") return record;
  } catch {
    // an unreadable record is no record
  }
  return undefined;
}

export class PartitionSlots implements ApplicationSlots {
  readonly #flash: KeyValueFlash;
  readonly #partitions: OtaPartitions;
  readonly #openWriter: () => OtaWriter;
  readonly #log: Logger;
  readonly #running: { label: string; version: string };
  #record: StageRecord | undefined;
  #writer: OtaWriter | undefined;
  #written = 0;
  #trial: boolean;
  #rollback: { version: string; reason: string } | undefined;

  /**
   * Reads what this boot is (running partition, its state, the record) once, at power-on.
   * Callers check first that the image has OTA partitions (openPartitionSlots).
   */
  constructor(flash: KeyValueFlash, partitions: OtaPartitions, openWriter: () => OtaWriter, log: Logger) {
    this.#flash = flash;
    this.#partitions = partitions;
    this.#openWriter = openWriter;
    this.#log = log;
    const running = partitions.running();
    this.#running = { label: running.label, version: running.version };
    const record = parseRecord(flash.get(OTA_NAMESPACE, STAGE_KEY));
    this.#trial = running.state === "pending-verify";
    if (record?.state === "writing") {
      // The writer died with the last boot and esp_ota_begin cannot continue it.
      this.#log.log("warn", "ota.stage-lost", { version: record.image.version, reason: "restarted while writing; the download starts again from byte 0" });
      this.#dropRecord();
    } else if (record?.state === "finished") {
      this.#record = record;
      if (record.partition === running.label) {
        // The new image runs. Without rollback in the bootloader its state never says so: the record does.
        this.#trial = true;
      } else {
        const reason = partitions.lastInvalid() === record.partition ? "restarted before the new image came online" : "the bootloader did not boot the new image";
        this.#rollback = { version: record.image.version, reason };
      }
    }
    if (!partitions.rollbackEnabled()) this.#log.log("warn", "ota.no-rollback", { reason: "the bootloader was built without CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE: a new image that never comes online is not undone" });
  }

  runningVersion(): string {
    return this.#running.version;
  }

  capacity(): number {
    return this.#partitions.next()?.size ?? 0;
  }

  staged(): { image: ImageDescriptor; written: number } | undefined {
    const record = this.#record;
    return this.#writer && record?.state === "writing" ? { image: { ...record.image }, written: this.#written } : undefined;
  }

  begin(image: ImageDescriptor): void {
    const next = this.#partitions.next();
    if (!next) throw new FlashError("io", "this image's partition table has no OTA slot");
    if (image.size > next.size) throw new FlashError("limit", `image of ${image.size} bytes exceeds the ${next.size}-byte slot`);
    this.#closeWriter();
    try {
      this.#writer = this.#openWriter();
    } catch (error) {
      throw new FlashError("io", `esp_ota_begin on ${next.label} failed: ${describe(error)}`);
    }
    this.#written = 0;
    this.#saveRecord({ image: { version: image.version, size: image.size, md5: image.md5 }, partition: next.label, state: "writing" });
  }

  write(bytes: Bytes): void {
    const record = this.#record;
    if (!this.#writer || record?.state !== "writing") throw new FlashError("io", "no image begun");
    if (this.#written + bytes.length > record.image.size) throw new FlashError("limit", "write past the image's size");
    // Moddable's write takes a buffer: a view of part of one is copied out, a whole one is passed as it is.
    const buffer = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer as ArrayBuffer : bytes.slice().buffer;
    try {
      this.#writer.write(buffer);
    } catch (error) {
      throw new FlashError("io", `esp_ota_write failed: ${describe(error)}`);
    }
    this.#written += bytes.length;
  }

  /**
   * Bytes already written, read back from the partition. (With flash encryption on, esp_ota_write
   * holds back up to 15 bytes of a write that is not a multiple of 16 until the next one; the
   * core writes whole chunks, and encryption is off in this build.)
   */
  read(offset: number, length: number): Bytes {
    if (!this.staged()) throw new FlashError("io", "no image being written");
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || length > MAX_READ_BYTES || offset + length > this.#written) {
      throw new FlashError("io", "read outside the written image");
    }
    const buffer = new ArrayBuffer(length);
    try {
      if (length > 0) this.#partitions.read(offset, buffer);
    } catch (error) {
      throw new FlashError("io", `esp_partition_read failed: ${describe(error)}`);
    }
    return new Uint8Array(buffer);
  }

  finish(): void {
    const record = this.#record;
    const writer = this.#writer;
    if (!writer || record?.state !== "writing" || this.#written !== record.image.size) throw new FlashError("io", "the staged image is not whole");
    this.#writer = undefined;
    try {
      writer.complete();
    } catch (error) {
      this.#dropRecord();
      throw new FlashError("io", `the image was not accepted as bootable: ${describe(error)}`);
    }
    this.#saveRecord({ ...record, state: "finished" });
  }

  abort(): void {
    this.#closeWriter();
    if (this.#record?.state === "writing") this.#dropRecord();
  }

  onTrial(): boolean {
    return this.#trial;
  }

  confirm(): void {
    if (this.#partitions.rollbackEnabled()) {
      try {
        this.#partitions.markValid();
      } catch (error) {
        throw new FlashError("io", `esp_ota_mark_app_valid_cancel_rollback failed: ${describe(error)}`);
      }
    }
    this.#trial = false;
    if (this.#record?.state === "finished" && this.#record.partition === this.#running.label) this.#dropRecord();
  }

  takeRollback(): { version: string; reason: string } | undefined {
    const rollback = this.#rollback;
    if (!rollback) return undefined;
    this.#rollback = undefined;
    this.#dropRecord();
    return rollback;
  }

  restart(): void {
    this.#closeWriter();
    this.#partitions.restart();
  }

  #closeWriter(): void {
    const writer = this.#writer;
    this.#writer = undefined;
    if (!writer) return;
    try {
      writer.cancel();
    } catch {
      // esp_ota_end on an unfinished image reports it invalid: that is the point
    }
  }

  #saveRecord(record: StageRecord): void {
    this.#flash.set(OTA_NAMESPACE, STAGE_KEY, JSON.stringify(record));
    this.#record = record;
  }

  #dropRecord(): void {
    this.#record = undefined;
    this.#flash.delete(OTA_NAMESPACE, STAGE_KEY);
  }
}

/** The slots when the image has OTA partitions; undefined (OTA off) when its table has none. */
export function openPartitionSlots(flash: KeyValueFlash, partitions: OtaPartitions, openWriter: () => OtaWriter, log: Logger): ApplicationSlots | undefined {
  if (!partitions.next()) {
    log.log("info", "ota.off", { reason: "no OTA app partitions in this image's partition table" });
    return undefined;
  }
  return new PartitionSlots(flash, partitions, openWriter, log);
}
