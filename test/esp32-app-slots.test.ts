/**
 * The ESP32 port's application slots (hal/esp32/app-slots.ts: staging record, trial, confirm,
 * rollback) on Node, over a model of ESP-IDF's two OTA partitions, otadata and bootloader as the
 * ESP-IDF OTA documentation describes them, and the core's own flash (NVS) for the record. The
 * Moddable lane runs the same module on the lin stand-in of the partitions (hal/lin/ota.c); no
 * board has run it.
 */
import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import { FlashError } from "../firmware/contracts";
import { Md5 } from "../firmware/md5";
import { OTA_NAMESPACE, PartitionSlots, STAGE_KEY, openPartitionSlots, type AppState, type OtaPartitions, type OtaWriter } from "../hal/esp32/app-slots";
import { createMemoryFlash, type NodeFlash } from "../hal/node/flash";
import { createMemoryLogger } from "../hal/node/logger";

const LABELS = ["ota_0", "ota_1"] as const;
const SIZE = 64 * 1024;

/** ESP-IDF's partitions as the firmware sees them: what it can call, and a bootloader for power-on. */
class ModelBoard {
  readonly bytes: [Uint8Array, Uint8Array] = [new Uint8Array(0), new Uint8Array(0)];
  readonly versions: [string, string] = ["1.0.0", ""];
  state: [AppState | undefined, AppState | undefined] = [undefined, undefined];
  boot: 0 | 1 = 0;
  running: 0 | 1 = 0;
  invalid: 0 | 1 | undefined;
  markValidCalls = 0;
  restarts = 0;
  completeFails = false;

  constructor(readonly rollback = true) {}

  /** The bootloader at power-on (ESP-IDF OTA docs, "App rollback"). */
  powerOn(): void {
    let boot = this.boot;
    if (this.rollback && this.state[boot] === "pending-verify") {
      this.state[boot] = "aborted";
      this.invalid = boot;
      boot = boot === 0 ? 1 : 0;
      this.boot = boot;
    } else if (this.rollback && this.state[boot] === "new") {
      this.state[boot] = "pending-verify";
    }
    this.running = boot;
  }

  get next(): 0 | 1 {
    return this.running === 0 ? 1 : 0;
  }

  partitions(): OtaPartitions {
    return {
      running: () => ({ label: LABELS[this.running], version: this.versions[this.running], state: this.state[this.running] }),
      next: () => ({ label: LABELS[this.next], size: SIZE }),
      lastInvalid: () => (this.invalid === undefined ? undefined : LABELS[this.invalid]),
      rollbackEnabled: () => this.rollback,
      markValid: () => {
        this.markValidCalls++;
        if (this.state[this.running] === "pending-verify") this.state[this.running] = "valid";
      },
      read: (offset, buffer) => new Uint8Array(buffer).set(this.bytes[this.next].subarray(offset, offset + buffer.byteLength)),
      restart: () => void this.restarts++,
    };
  }

  /** Moddable's OTA object: esp_ota_begin starts the next partition at byte 0. */
  openWriter = (): OtaWriter => {
    const target = this.next;
    let open = true;
    this.bytes[target] = new Uint8Array(0);
    this.versions[target] = "";
    return {
      write: (data) => {
        if (!open) throw new Error("write failed");
        const joined = new Uint8Array(this.bytes[target].length + data.byteLength);
        joined.set(this.bytes[target]);
        joined.set(new Uint8Array(data), this.bytes[target].length);
        this.bytes[target] = joined;
      },
      cancel: () => void (open = false),
      complete: () => {
        open = false;
        if (this.completeFails) throw new Error("end failed");
        this.versions[target] = new TextDecoder().decode(this.bytes[target].subarray(0, 5));
        this.boot = target;
        this.state[target] = this.rollback ? "new" : undefined;
      },
    };
  };
}

function image(version: string, size: number) {
  const bytes = randomBytes(size);
  bytes.write(version, 0, "latin1");
  return { bytes: new Uint8Array(bytes), descriptor: { version, size, md5: new Md5().update(bytes).hex() } };
}

describe("ESP32 application slots (hal/esp32/app-slots.ts) over a model of ESP-IDF's OTA partitions", () => {
  let flash: NodeFlash;
  let log: ReturnType<typeof createMemoryLogger>;

  beforeEach(() => {
    flash = createMemoryFlash();
    log = createMemoryLogger();
  });

  function powerOn(board: ModelBoard): PartitionSlots {
    board.powerOn();
    return new PartitionSlots(flash, board.partitions(), board.openWriter, log);
  }

  function stage(slots: PartitionSlots, bytes: Uint8Array, descriptor: { version: string; size: number; md5: string }, chunk = 4096): void {
    slots.begin(descriptor);
    for (let at = 0; at < bytes.length; at += chunk) slots.write(bytes.subarray(at, at + chunk));
  }

  const events = () => log.entries().map((entry) => entry.event);

  it("writes the image into the next partition, reads it back, and boots it on trial; confirm marks it valid and drops the record", () => {
    const board = new ModelBoard();
    const slots = powerOn(board);
    assert.deepEqual([slots.runningVersion(), slots.capacity(), slots.onTrial()], ["1.0.0", SIZE, false]);
    const { bytes, descriptor } = image("2.0.0", 10_000);
    stage(slots, bytes.subarray(0, 8192), descriptor);
    assert.deepEqual(slots.staged(), { image: descriptor, written: 8192 });
    assert.deepEqual(slots.read(4000, 200), bytes.subarray(4000, 4200));
    slots.write(bytes.subarray(8192));
    slots.finish();
    assert.equal(slots.staged(), undefined);
    assert.deepEqual(board.bytes[1], bytes);
    assert.equal(JSON.parse(flash.get(OTA_NAMESPACE, STAGE_KEY) as string).state, "finished");
    slots.restart();
    assert.equal(board.restarts, 1);

    const next = powerOn(board);
    assert.deepEqual([next.runningVersion(), next.onTrial(), next.takeRollback()], ["2.0.0", true, undefined]);
    next.confirm();
    assert.deepEqual([next.onTrial(), board.state[1], board.markValidCalls], [false, "valid", 1]);
    assert.equal(flash.get(OTA_NAMESPACE, STAGE_KEY), undefined);
    assert.equal(powerOn(board).onTrial(), false, "confirmed for good");
  });

  it("an image cut by a restart is not resumed on the next boot (esp_ota_begin starts at byte 0): staged() is empty, the record is dropped and logged", () => {
    const board = new ModelBoard();
    const slots = powerOn(board);
    const { bytes, descriptor } = image("2.0.0", 10_000);
    stage(slots, bytes.subarray(0, 4096), descriptor);
    assert.equal(slots.staged()?.written, 4096);

    const next = powerOn(board);
    assert.equal(next.staged(), undefined);
    assert.equal(next.runningVersion(), "1.0.0");
    assert.ok(events().includes("ota.stage-lost"));
    assert.equal(flash.get(OTA_NAMESPACE, STAGE_KEY), undefined);
    stage(next, bytes, descriptor);
    next.finish();
    assert.deepEqual(board.bytes[1], bytes, "begun again from byte 0, whole");
  });

  it("a new image restarted before it came online is given up by the bootloader: takeRollback says so once, across boots", () => {
    const board = new ModelBoard();
    const { bytes, descriptor } = image("2.0.0", 5000);
    const slots = powerOn(board);
    stage(slots, bytes, descriptor);
    slots.finish();
    assert.equal(powerOn(board).onTrial(), true, "the trial boot, which never gets online");

    const back = powerOn(board);
    assert.deepEqual([back.runningVersion(), back.onTrial()], ["1.0.0", false]);
    assert.deepEqual(back.takeRollback(), { version: "2.0.0", reason: "restarted before the new image came online" });
    assert.equal(back.takeRollback(), undefined);
    assert.equal(powerOn(board).takeRollback(), undefined, "ESP-IDF still names the invalid partition; the record made it once");
  });

  it("an image the bootloader never ran (it did not verify at boot) is reported with its own reason", () => {
    const board = new ModelBoard();
    const { bytes, descriptor } = image("2.0.0", 5000);
    const slots = powerOn(board);
    stage(slots, bytes, descriptor);
    slots.finish();
    board.boot = 0; // the bootloader passed over ota_1
    board.state[1] = "invalid";
    assert.deepEqual(powerOn(board).takeRollback(), { version: "2.0.0", reason: "the bootloader did not boot the new image" });
  });

  it("a bootloader without rollback: the record still makes the new image's first boot the trial, so the update is settled; it warns", () => {
    const board = new ModelBoard(false);
    const { bytes, descriptor } = image("2.0.0", 5000);
    const slots = powerOn(board);
    assert.ok(events().includes("ota.no-rollback"));
    stage(slots, bytes, descriptor);
    slots.finish();
    const next = powerOn(board);
    assert.deepEqual([next.runningVersion(), next.onTrial()], ["2.0.0", true]);
    next.confirm();
    assert.equal(board.markValidCalls, 0, "nothing to mark without rollback");
    assert.equal(powerOn(board).onTrial(), false);
  });

  it("refuses what ESP-IDF would: writes before begin or past the size, an image over the slot, reads outside what is written, an unfinished or unverifiable image", () => {
    const board = new ModelBoard();
    const slots = powerOn(board);
    const { bytes, descriptor } = image("2.0.0", 5000);
    const flashError = (code: string) => (error: unknown) => error instanceof FlashError && error.code === code;
    assert.throws(() => slots.write(bytes), flashError("io"));
    assert.throws(() => slots.begin({ ...descriptor, size: SIZE + 1 }), flashError("limit"));
    slots.begin(descriptor);
    assert.throws(() => slots.write(new Uint8Array(5001)), flashError("limit"));
    slots.write(bytes.subarray(0, 100));
    assert.throws(() => slots.read(50, 51), flashError("io"));
    assert.throws(() => slots.finish(), flashError("io"));
    slots.write(bytes.subarray(100));
    board.completeFails = true;
    assert.throws(() => slots.finish(), /not accepted as bootable: end failed/);
    assert.equal(slots.staged(), undefined);
    assert.equal(flash.get(OTA_NAMESPACE, STAGE_KEY), undefined);
    assert.equal(board.boot, 0, "the boot partition is unchanged");
  });

  it("abort drops the staged image and its record; the next begin starts over", () => {
    const board = new ModelBoard();
    const slots = powerOn(board);
    const { bytes, descriptor } = image("2.0.0", 5000);
    stage(slots, bytes.subarray(0, 1000), descriptor);
    slots.abort();
    assert.equal(slots.staged(), undefined);
    assert.equal(flash.get(OTA_NAMESPACE, STAGE_KEY), undefined);
    assert.throws(() => slots.write(bytes), FlashError);
  });

  it("no OTA partitions in the table: no slots (OTA off), said once in the log", () => {
    const partitions = { ...new ModelBoard().partitions(), next: () => undefined };
    assert.equal(openPartitionSlots(flash, partitions, () => assert.fail("no writer"), log), undefined);
    assert.deepEqual(events(), ["ota.off"]);
  });
});
