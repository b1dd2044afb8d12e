/**
 * Two emulated application slots for the simulator, behaving as ESP-IDF's OTA partitions with
 * app rollback do on a board: an image is written into the inactive slot, `finish` makes the
 * next boot run it in PENDING_VERIFY, the firmware confirms it once online, and a board that
 * restarts before that boots the previous image again (the bootloader marks the trial image
 * ABORTED). `boot()` is the power-on: the simulator calls it before each boot of the core.
 *
 * The slots live in memory (the board's flash for the life of the simulated device); a write
 * can be made to fail as a power cut would, before anything of it is stored.
 */
import type { ApplicationSlots, Bytes, ImageDescriptor } from "../../firmware/contracts";
import { FlashError } from "../../firmware/contracts";
import type { NodeFlash } from "./flash";

/** An ESP32 app partition of the default two-OTA table is 1,600 KiB (ESP-IDF partitions_two_ota). */
export const DEFAULT_SLOT_CAPACITY = 1600 * 1024;

export interface NodeSlotsOptions {
  /** The version of the factory image in slot 0. */
  factoryVersion: string;
  capacity?: number;
  /** Throws FlashError("power-cut") at this write (1-based, counted over the life of the slots), storing nothing of it. */
  powerCutAtWrite?: number;
  /** What restart() does: the simulator reboots the device. */
  onRestart?: () => void;
}

/** Where the slots keep their state across power cycles (the flash file's app region). */
export interface SlotsStore {
  load(): string | undefined;
  save(state: string): void;
}

interface SavedSlots {
  format: "explorer-xs-app-slots";
  active: 0 | 1;
  nextBoot?: 0 | 1;
  trial: boolean;
  rollback?: { version: string; reason: string };
  writes: number;
  images: Array<{ image: ImageDescriptor; written: number; complete: boolean; aborted?: boolean; bytes: string } | null>;
}

interface SlotImage {
  image: ImageDescriptor;
  bytes: Uint8Array;
  written: number;
  complete: boolean;
  /** A trial image the bootloader gave up: never booted or resumed again. */
  aborted?: boolean;
}

export interface SlotsView {
  active: 0 | 1;
  slots: Array<{ version: string; size: number; written: number; complete: boolean; state: "running" | "trial" | "staged" | "writing" | "previous" | "aborted" | "empty" }>;
  writes: number;
}

export class NodeApplicationSlots implements ApplicationSlots {
  private readonly capacityBytes: number;
  private readonly images: [SlotImage | undefined, SlotImage | undefined];
  private active: 0 | 1 = 0;
  /** Set by finish(): the slot the next boot runs on trial. */
  private nextBoot: 0 | 1 | undefined;
  private trial = false;
  private rollback: { version: string; reason: string } | undefined;
  private writes = 0;

  constructor(private readonly options: NodeSlotsOptions, private readonly store?: SlotsStore) {
    this.capacityBytes = options.capacity ?? DEFAULT_SLOT_CAPACITY;
    const factory = { version: options.factoryVersion, size: 0, md5: "" };
    this.images = [{ image: factory, bytes: new Uint8Array(0), written: 0, complete: true }, undefined];
    const saved = store?.load();
    if (saved !== undefined) this.restore(saved);
  }

  /**
   * Slots kept in a flash file's app region: a file from before OTA (no region) starts with the
   * factory image of `factoryVersion` in slot 0. Give it the flash the device itself uses, so
   * NVS commits and slot writes go through one view of the file.
   */
  static open(flash: NodeFlash, options: NodeSlotsOptions): NodeApplicationSlots {
    return new NodeApplicationSlots(options, { load: () => flash.appRegion(), save: (state) => flash.saveAppRegion(state) });
  }

  private restore(text: string): void {
    let saved: SavedSlots;
    try {
      saved = JSON.parse(text) as SavedSlots;
    } catch {
      throw new FlashError("io", "the app region is not JSON");
    }
    if (saved?.format !== "explorer-xs-app-slots" || !Array.isArray(saved.images) || saved.images.length !== 2 || !saved.images[saved.active]) {
      throw new FlashError("io", "the app region is not explorer-xs app slots");
    }
    this.active = saved.active;
    this.nextBoot = saved.nextBoot;
    this.trial = saved.trial;
    this.rollback = saved.rollback;
    this.writes = saved.writes;
    saved.images.forEach((entry, index) => {
      if (!entry) return void (this.images[index] = undefined);
      const bytes = new Uint8Array(entry.image.size);
      bytes.set(Buffer.from(entry.bytes, "base64").subarray(0, entry.written));
      this.images[index] = { image: entry.image, bytes, written: entry.written, complete: entry.complete, ...(entry.aborted ? { aborted: true } : {}) };
    });
  }

  /** Stores the whole state (the emulation's stand-in for the partition writes and otadata). */
  private persist(): void {
    if (!this.store) return;
    const saved: SavedSlots = {
      format: "explorer-xs-app-slots", active: this.active, trial: this.trial, writes: this.writes,
      ...(this.nextBoot !== undefined ? { nextBoot: this.nextBoot } : {}), ...(this.rollback ? { rollback: this.rollback } : {}),
      images: this.images.map((slot) => slot ? {
        image: slot.image, written: slot.written, complete: slot.complete, ...(slot.aborted ? { aborted: true } : {}),
        bytes: Buffer.from(slot.bytes.subarray(0, slot.written)).toString("base64"),
      } : null),
    };
    this.store.save(JSON.stringify(saved));
  }

  /** Power-on, as the bootloader decides: a finished image boots on trial; a trial that restarted unconfirmed is given up. */
  boot(): void {
    if (this.nextBoot !== undefined) {
      this.active = this.nextBoot;
      this.nextBoot = undefined;
      this.trial = true;
      this.persist();
      return;
    }
    if (this.trial) {
      const abandoned = this.images[this.active]!;
      abandoned.complete = false;
      abandoned.aborted = true;
      this.active = this.inactive;
      this.trial = false;
      this.rollback = { version: abandoned.image.version, reason: "restarted before the new image came online" };
      this.persist();
    }
  }

  private get inactive(): 0 | 1 {
    return this.active === 0 ? 1 : 0;
  }

  runningVersion(): string {
    return this.images[this.active]!.image.version;
  }

  capacity(): number {
    return this.capacityBytes;
  }

  staged(): { image: ImageDescriptor; written: number } | undefined {
    const slot = this.images[this.inactive];
    return slot && !slot.complete && !slot.aborted ? { image: { ...slot.image }, written: slot.written } : undefined;
  }

  begin(image: ImageDescriptor): void {
    if (image.size > this.capacityBytes) throw new FlashError("limit", `image of ${image.size} bytes exceeds the ${this.capacityBytes}-byte slot`);
    this.nextBoot = undefined;
    this.images[this.inactive] = { image: { ...image }, bytes: new Uint8Array(image.size), written: 0, complete: false };
    this.persist();
  }

  write(bytes: Bytes): void {
    const slot = this.images[this.inactive];
    if (!slot || slot.complete || slot.aborted) throw new FlashError("io", "no image begun");
    if (slot.written + bytes.length > slot.image.size) throw new FlashError("limit", "write past the image's size");
    this.writes++;
    if (this.writes === this.options.powerCutAtWrite) throw new FlashError("power-cut", `power cut at slot write ${this.writes}`);
    slot.bytes.set(bytes, slot.written);
    slot.written += bytes.length;
    this.persist();
  }

  read(offset: number, length: number): Bytes {
    const slot = this.images[this.inactive];
    if (!slot || offset < 0 || offset + length > slot.written) throw new FlashError("io", "read outside the written image");
    return slot.bytes.slice(offset, offset + length);
  }

  finish(): void {
    const slot = this.images[this.inactive];
    if (!slot || slot.complete || slot.written !== slot.image.size) throw new FlashError("io", "the staged image is not whole");
    slot.complete = true;
    this.nextBoot = this.inactive;
    this.persist();
  }

  abort(): void {
    if (this.images[this.inactive] && !this.images[this.inactive]!.complete) this.images[this.inactive] = undefined;
    this.nextBoot = undefined;
    this.persist();
  }

  onTrial(): boolean {
    return this.trial;
  }

  confirm(): void {
    this.trial = false;
    this.persist();
  }

  takeRollback(): { version: string; reason: string } | undefined {
    const rollback = this.rollback;
    this.rollback = undefined;
    if (rollback) this.persist();
    return rollback;
  }

  restart(): void {
    this.options.onRestart?.();
  }

  /** The image bytes a slot holds (what a board would execute), for checks. */
  imageBytes(slot: 0 | 1): Uint8Array | undefined {
    const image = this.images[slot];
    return image && image.bytes.slice(0, image.written);
  }

  /** What `flash show` prints. */
  view(): SlotsView {
    return {
      active: this.active,
      writes: this.writes,
      slots: this.images.map((slot, index) => {
        if (!slot) return { version: "", size: 0, written: 0, complete: false, state: "empty" as const };
        if (slot.aborted) return { version: slot.image.version, size: slot.image.size, written: slot.written, complete: false, state: "aborted" as const };
        const state = index === this.active ? (this.trial ? "trial" as const : "running" as const)
          : slot.complete ? (this.nextBoot === index ? "staged" as const : "previous" as const) : "writing" as const;
        return { version: slot.image.version, size: slot.image.size, written: slot.written, complete: slot.complete, state };
      }),
    };
  }
}
