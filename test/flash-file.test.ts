import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FlashError } from "../firmware/contracts";
import { createMemoryFlash, openFlashFile, truncateFlashFile } from "../hal/node/flash";

function bytes(...values: number[]): ArrayBuffer {
  return Uint8Array.from(values).buffer;
}

function flashError(code: FlashError["code"], pattern?: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof FlashError, `expected FlashError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (pattern) assert.match(error.message, pattern);
    return true;
  };
}

describe("NVS emulation (hal/node/flash)", () => {
  let dir: string;
  let path: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "exs-flash-"));
    path = join(dir, "flash.json");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps boolean, integer, string and blob values distinct across a reopen", () => {
    const flash = openFlashFile(path);
    flash.set("ns", "bool", true);
    flash.set("ns", "int", -42);
    flash.set("ns", "str", "42");
    flash.set("ns", "blob", bytes(0, 1, 255));
    const again = openFlashFile(path);
    assert.equal(again.get("ns", "bool"), true);
    assert.equal(again.get("ns", "int"), -42);
    assert.equal(again.get("ns", "str"), "42");
    const blob = again.get("ns", "blob");
    assert.ok(blob instanceof ArrayBuffer);
    assert.deepEqual([...new Uint8Array(blob)], [0, 1, 255]);
    assert.equal(again.get("ns", "absent"), undefined);
    assert.deepEqual(again.keys("ns").sort(), ["blob", "bool", "int", "str"]);
    assert.deepEqual(again.keys("other"), []);
  });

  it("returns copies, so a caller cannot change a stored blob behind the flash's back", () => {
    const flash = createMemoryFlash();
    const source = new Uint8Array([1, 2, 3]);
    flash.set("ns", "blob", source.buffer);
    source[0] = 9;
    new Uint8Array(flash.get("ns", "blob") as ArrayBuffer)[1] = 9;
    assert.deepEqual([...new Uint8Array(flash.get("ns", "blob") as ArrayBuffer)], [1, 2, 3]);
  });

  it("enforces NVS limits with FlashError(limit)", () => {
    const flash = createMemoryFlash();
    assert.throws(() => flash.set("n".repeat(16), "k", 1), flashError("limit", /namespace name .* 16 bytes; NVS allows at most 15/));
    assert.throws(() => flash.set("ns", "k".repeat(16), 1), flashError("limit", /key name/));
    assert.throws(() => flash.set("ns", "", 1), flashError("limit", /non-empty/));
    assert.throws(() => flash.set("ns", "s", "x".repeat(4001)), flashError("limit", /4001 bytes; NVS allows at most 4000/));
    assert.throws(() => flash.set("ns", "s", "é".repeat(2001)), flashError("limit", /4002 bytes/));
    assert.throws(() => flash.set("ns", "s", "a\0b"), flashError("limit", /NUL/));
    assert.throws(() => flash.set("ns", "b", new ArrayBuffer(4001)), flashError("limit", /blob .* 4001 bytes/));
    assert.throws(() => flash.set("ns", "i", 1.5), flashError("limit", /32-bit integers/));
    assert.throws(() => flash.set("ns", "i", 2 ** 31), flashError("limit", /32-bit integers/));
    assert.throws(() => flash.set("ns", "u", new Uint8Array(2) as unknown as ArrayBuffer), flashError("limit", /Uint8Array/));
    flash.set("n".repeat(15), "k".repeat(15), "x".repeat(4000));
    flash.set("ns", "b", new ArrayBuffer(4000));
    assert.equal(flash.stats().totalWrites, 2, "rejected sets commit nothing");
  });

  it("counts writes per key (wear) and in total, persisted in the file", () => {
    const flash = openFlashFile(path);
    flash.set("ns", "a", 1);
    flash.set("ns", "a", 2);
    flash.set("ns", "b", "x");
    flash.delete("ns", "a");
    flash.delete("ns", "absent"); // nothing to commit: not a write
    assert.deepEqual(flash.stats().wear, { "ns/a": 3, "ns/b": 1 });
    assert.equal(flash.stats().totalWrites, 4);
    const again = openFlashFile(path);
    assert.equal(again.stats().totalWrites, 4);
    assert.equal(again.stats().writesSinceOpen, 0);
    assert.deepEqual(again.stats().wear, { "ns/a": 3, "ns/b": 1 });
    assert.deepEqual(again.keys("ns"), ["b"]);
  });

  it("replaces the file atomically, owner-only, leaving no temp file behind", () => {
    const flash = openFlashFile(path);
    for (let i = 0; i < 5; i++) flash.set("ns", "k", i);
    assert.deepEqual(readdirSync(dir), ["flash.json"]);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(JSON.parse(readFileSync(path, "utf8")).format, "explorer-xs-nvs");
  });

  for (const when of ["before", "after"] as const) {
    it(`cuts the power ${when} the Nth write: that write ${when === "before" ? "is lost" : "commits"}, nothing later persists`, () => {
      const flash = openFlashFile(path, { powerCutAtWrite: 2, powerCutWhen: when });
      flash.set("ns", "one", 1);
      assert.throws(() => flash.set("ns", "two", 2), flashError("power-cut", new RegExp(`power cut ${when} write 2`)));
      assert.equal(flash.stats().poweredOff, true);
      assert.throws(() => flash.set("ns", "three", 3), flashError("power-cut"));
      assert.throws(() => flash.get("ns", "one"), flashError("power-cut"));
      const rebooted = flash.reboot();
      assert.equal(rebooted.get("ns", "one"), 1);
      assert.equal(rebooted.get("ns", "two"), when === "after" ? 2 : undefined);
      assert.equal(rebooted.get("ns", "three"), undefined);
      rebooted.set("ns", "three", 3); // the next boot writes normally
      assert.equal(openFlashFile(path).get("ns", "three"), 3);
    });
  }

  it("counts deletes toward the power cut too (memory flash)", () => {
    const flash = createMemoryFlash({ powerCutAtWrite: 2 });
    flash.set("ns", "k", 1);
    assert.throws(() => flash.delete("ns", "k"), flashError("power-cut"));
    assert.equal(flash.reboot().get("ns", "k"), 1);
  });

  it("rejects a nonsensical power-cut index", () => {
    assert.throws(() => createMemoryFlash({ powerCutAtWrite: 0 }), RangeError);
  });

  it("corrupts a chosen byte of a stored value, persisted and not counted as a write", () => {
    const flash = openFlashFile(path);
    flash.set("ns", "blob", bytes(1, 2, 3));
    flash.set("ns", "str", "abc");
    flash.corruptByte("ns", "blob", 1, 0x80);
    flash.corruptByte("ns", "str", 0, 0x01);
    assert.equal(flash.stats().totalWrites, 2);
    const again = openFlashFile(path);
    assert.deepEqual([...new Uint8Array(again.get("ns", "blob") as ArrayBuffer)], [1, 0x82, 3]);
    assert.equal(again.get("ns", "str"), "`bc");
    assert.throws(() => again.corruptByte("ns", "blob", 3), RangeError);
    assert.throws(() => again.corruptByte("ns", "absent", 0), RangeError);
  });

  it("a truncated flash file is a typed FlashError(io) on open, or erased when asked", () => {
    const flash = openFlashFile(path);
    flash.set("ns", "k", "value");
    truncateFlashFile(path, 20);
    assert.throws(() => openFlashFile(path), flashError("io", /unreadable: not valid JSON.*ifUnreadable/));
    const erased = openFlashFile(path, { ifUnreadable: "erase" });
    assert.equal(erased.get("ns", "k"), undefined);
    assert.match(erased.stats().erasedOnOpen ?? "", /unreadable/);
    erased.set("ns", "k", "fresh");
    assert.equal(openFlashFile(path).get("ns", "k"), "fresh");
  });

  it("garbled images are typed errors, never another kind of exception", () => {
    const garbage = [
      "",
      "null",
      "[]",
      '{"format":"other"}',
      '{"format":"explorer-xs-nvs","version":2,"totalWrites":0,"wear":{},"namespaces":{}}',
      '{"format":"explorer-xs-nvs","version":1,"totalWrites":-1,"wear":{},"namespaces":{}}',
      '{"format":"explorer-xs-nvs","version":1,"totalWrites":0,"wear":{},"namespaces":{"ns":{"k":{"type":"blob","value":"!!"}}}}',
      '{"format":"explorer-xs-nvs","version":1,"totalWrites":0,"wear":{},"namespaces":{"ns":{"k":{"type":"int","value":"1"}}}}',
      '{"format":"explorer-xs-nvs","version":1,"totalWrites":0,"wear":{"x":"y"},"namespaces":{}}',
    ];
    for (const text of garbage) {
      writeFileSync(path, text);
      assert.throws(() => openFlashFile(path), flashError("io"), `for ${JSON.stringify(text)}`);
    }
  });

  it("a missing file is an erased flash", () => {
    const flash = openFlashFile(join(dir, "new.json"));
    assert.deepEqual(flash.namespaces(), []);
    assert.equal(flash.stats().totalWrites, 0);
  });
});
