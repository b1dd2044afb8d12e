/**
 * Assembly of the Node HAL: flash, storage key and defaults wired the way the simulator uses them.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createNodeHal } from "../hal/node";
import { createNodeClock } from "../hal/node/clock";
import { efusePathFor } from "../hal/node/efuse";
import { createMemoryLogger } from "../hal/node/logger";

describe("Node HAL assembly (hal/node/index)", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "explorer-hal-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("keeps flash and the storage key across reboots of the same flash file, in separate files", () => {
    const flashFile = path.join(dir, "dev-1.nvs");
    const first = createNodeHal({ flashFile });
    first.flash.set("explorer", "psk", "stored");
    const key = first.storageKey();
    assert.equal(key.length, 32);

    const second = createNodeHal({ flashFile });
    assert.equal(second.flash.get("explorer", "psk"), "stored");
    assert.deepEqual(second.storageKey(), key);
    assert.ok(fs.existsSync(efusePathFor(flashFile)));
    assert.ok(!fs.readFileSync(flashFile).includes(Buffer.from(key)), "the key is not inside the flash image");
  });

  it("hands out copies of the storage key, so the core cannot change it", () => {
    const hal = createNodeHal();
    const key = hal.storageKey();
    key.fill(0);
    assert.notDeepEqual(hal.storageKey(), key);
  });

  it("uses memory flash and a random key without a flash file, and injected pieces as given", () => {
    const clock = createNodeClock({ skewMs: 5000 });
    const log = createMemoryLogger();
    const a = createNodeHal({ clock, logger: log });
    const b = createNodeHal();
    assert.equal(a.clock, clock);
    assert.equal(a.log, log);
    assert.notDeepEqual(a.storageKey(), b.storageKey());
    a.flash.set("ns", "k", 1);
    assert.equal(b.flash.get("ns", "k"), undefined);
    assert.equal(a.crypto.randomBytes(16).length, 16);
  });

  it("rejects a storage key that is not 32 bytes", () => {
    assert.throws(() => createNodeHal({ storageKey: new Uint8Array(16) }), RangeError);
  });
});
