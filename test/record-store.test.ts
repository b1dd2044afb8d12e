import { strict as assert } from "node:assert";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import type { CryptoHal, KeyValueFlash } from "../firmware/contracts";
import { createMemoryFlash, openFlashFile, truncateFlashFile, type NodeFlash } from "../hal/node/flash";
import type { DeviceInfo } from "../firmware/device-info";
import { DeviceInfoError, ExplorerError } from "../firmware/errors";
import {
  MAX_RECORD_CHUNKS,
  RECORD_NAMESPACE,
  RecordStoreError,
  eraseDevInfo,
  getDevInfo,
  inspectFlash,
  loadDevInfo,
  setDevInfo,
  type StoreHal,
} from "../firmware/record-store";
import { openSealed, seal, SEAL_OVERHEAD_BYTES } from "../firmware/seal";

// A minimal HAL: only what the record store uses, on node:crypto.
const crypto = {
  digest: (algorithm, data) => new Uint8Array(createHash(algorithm).update(data).digest()),
  randomBytes: (length) => new Uint8Array(randomBytes(length)),
} as Pick<CryptoHal, "digest" | "randomBytes"> as CryptoHal;

const KEY = new Uint8Array(32).fill(7);

function halOver(flash: KeyValueFlash, key: Uint8Array = KEY): StoreHal {
  return { flash, crypto, storageKey: () => key };
}

const FACTORY: DeviceInfo = {
  productId: "ABCDEFGHIJ",
  deviceName: "dev_001",
  productSecret: "productsecret0123456789ab",
  authMode: "psk",
};
const REGISTERED: DeviceInfo = { ...FACTORY, deviceSecret: "c2VjcmV0UFNLMTIzNDU2Nzg5MA==" };

// A cert-mode record of realistic size: a ~1.3 KB certificate and a ~1.7 KB RSA key in PEM.
function pem(label: string, bodyBytes: number, seed: number): string {
  const body = Buffer.alloc(bodyBytes, seed).toString("base64").match(/.{1,64}/g)!.join("\n");
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}
const CERT_FACTORY: DeviceInfo = { ...FACTORY, authMode: "cert" };
const CERT_REGISTERED: DeviceInfo = {
  ...CERT_FACTORY,
  clientCert: pem("CERTIFICATE", 1300, 1),
  clientKey: pem("RSA PRIVATE KEY", 1700, 2),
};

function storageError(pattern?: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof ExplorerError, `expected ExplorerError, got ${String(error)}`);
    assert.equal(error.code, "storage");
    if (pattern) assert.match(error.message, pattern);
    return true;
  };
}

function blobAt(flash: NodeFlash, key: string): Uint8Array {
  return new Uint8Array(flash.get(RECORD_NAMESPACE, key) as ArrayBuffer);
}

describe("seal (firmware/seal)", () => {
  const hal = halOver(createMemoryFlash());

  it("round-trips and uses a fresh nonce each time", () => {
    const plaintext = Uint8Array.from([1, 2, 3, 4]);
    const a = seal(hal, plaintext);
    const b = seal(hal, plaintext);
    assert.equal(a.length, plaintext.length + 40);
    assert.notDeepEqual(a, b);
    assert.deepEqual(openSealed(hal, a), plaintext);
  });

  it("seals an empty plaintext to exactly the overhead and opens it back to empty", () => {
    const sealed = seal(hal, new Uint8Array(0));
    assert.equal(sealed.length, SEAL_OVERHEAD_BYTES);
    assert.deepEqual(openSealed(hal, sealed), new Uint8Array(0));
    assert.equal(openSealed(hal, sealed.subarray(0, SEAL_OVERHEAD_BYTES - 1)), null);
  });

  it("returns null for a flipped byte, a truncation or another key", () => {
    const sealed = seal(hal, Uint8Array.from([9, 9, 9]));
    for (let i = 0; i < sealed.length; i++) {
      const flipped = sealed.slice();
      flipped[i] ^= 1;
      assert.equal(openSealed(hal, flipped), null, `byte ${i}`);
    }
    assert.equal(openSealed(hal, sealed.subarray(0, sealed.length - 1)), null);
    assert.equal(openSealed(hal, new Uint8Array(10)), null);
    assert.equal(openSealed(halOver(createMemoryFlash(), new Uint8Array(32).fill(8)), sealed), null);
  });

  it("refuses a storage key that is not 32 bytes, and a short nonce", () => {
    assert.throws(() => seal(halOver(createMemoryFlash(), new Uint8Array(16)), new Uint8Array(1)), storageError(/16 bytes; .* 32/));
    const badRandom = { ...hal, crypto: { ...crypto, randomBytes: () => new Uint8Array(8) } };
    assert.throws(() => seal(badRandom, new Uint8Array(1)), storageError(/nonce/));
  });
});

describe("device-info record store (firmware/record-store)", () => {
  it("an erased flash holds no record", () => {
    const hal = halOver(createMemoryFlash());
    assert.equal(getDevInfo(hal), undefined);
    assert.deepEqual(loadDevInfo(hal), { status: "empty" });
    assert.equal(inspectFlash(hal).status, "empty");
  });

  it("round-trips a PSK record in one write, sealed (no secret in clear on flash)", () => {
    const flash = createMemoryFlash();
    const hal = halOver(flash);
    setDevInfo(hal, REGISTERED);
    assert.deepEqual(getDevInfo(hal), REGISTERED);
    assert.equal(flash.stats().totalWrites, 1);
    const stored = Buffer.from(blobAt(flash, "rec.a")).toString("latin1");
    assert.ok(!stored.includes(REGISTERED.deviceSecret!), "device secret stored in clear");
    assert.ok(!stored.includes(FACTORY.productSecret!), "product secret stored in clear");
    assert.ok(!stored.includes(FACTORY.deviceName), "record not encrypted");
  });

  it("round-trips a cert-mode record split across chunk keys, each within NVS limits", () => {
    const flash = createMemoryFlash();
    const hal = halOver(flash);
    setDevInfo(hal, CERT_FACTORY);
    setDevInfo(hal, CERT_REGISTERED);
    assert.deepEqual(getDevInfo(hal), CERT_REGISTERED);
    const report = inspectFlash(hal);
    const slotB = report.slots[1];
    assert.equal(report.current, "B");
    assert.equal(slotB.layout, "chunked");
    assert.ok((slotB.chunkCount ?? 0) >= 2, "a cert record needs more than one value");
    assert.deepEqual(flash.keys(RECORD_NAMESPACE).sort(), ["rec.a", "rec.b", "rec.b.0", "rec.b.1"]);
    assert.ok(flash.keys(RECORD_NAMESPACE).every((key) => blobAt(flash, key).length <= 4000));
    // Back to a small record in slot A, then to another cert in B: B's chunks are reused,
    // and the chunks of a slot that goes inline are removed once its head commits.
    setDevInfo(hal, { ...CERT_REGISTERED, clientCert: pem("CERTIFICATE", 1000, 3) });
    setDevInfo(hal, CERT_FACTORY);
    assert.deepEqual(getDevInfo(hal), CERT_FACTORY);
    assert.deepEqual(flash.keys(RECORD_NAMESPACE).sort(), ["rec.a", "rec.a.0", "rec.a.1", "rec.b"]);
    assert.deepEqual(inspectFlash(hal).strayKeys, []);
  });

  it("writes nothing when the record is already current (a normal boot costs no wear)", () => {
    const flash = createMemoryFlash();
    const hal = halOver(flash);
    setDevInfo(hal, CERT_REGISTERED);
    setDevInfo(hal, REGISTERED);
    const before = flash.stats().totalWrites;
    setDevInfo(hal, { ...REGISTERED });
    // Field order and unknown extra fields do not make a record different.
    const reordered = JSON.parse(JSON.stringify({ deviceSecret: REGISTERED.deviceSecret, ...REGISTERED, extra: 1 }));
    setDevInfo(hal, reordered);
    getDevInfo(hal);
    assert.equal(flash.stats().totalWrites, before);
  });

  it("alternates slots with increasing sequence numbers, never writing the current slot", () => {
    const flash = createMemoryFlash();
    const hal = halOver(flash);
    const seen: Array<[string, number]> = [];
    for (let i = 0; i < 5; i++) {
      const current = loadDevInfo(hal);
      const currentHead = current.status === "ok" ? Buffer.from(blobAt(flash, `rec.${current.slot.toLowerCase()}`)) : undefined;
      setDevInfo(hal, { ...REGISTERED, region: `region-${i}` });
      const load = loadDevInfo(hal);
      assert.equal(load.status, "ok");
      if (load.status !== "ok") return;
      seen.push([load.slot, load.seq]);
      if (current.status === "ok") {
        assert.deepEqual(Buffer.from(blobAt(flash, `rec.${current.slot.toLowerCase()}`)), currentHead, "current slot was rewritten");
      }
    }
    assert.deepEqual(seen, [["A", 1], ["B", 2], ["A", 3], ["B", 4], ["A", 5]]);
    assert.deepEqual(flash.stats().wear, { "exs/rec.a": 3, "exs/rec.b": 2 });
  });

  it("reads the newest valid slot and falls back to the other when a byte of it flips", () => {
    const flash = createMemoryFlash();
    const hal = halOver(flash);
    setDevInfo(hal, FACTORY);
    setDevInfo(hal, REGISTERED);
    assert.deepEqual(getDevInfo(hal), REGISTERED);
    flash.corruptByte(RECORD_NAMESPACE, "rec.b", 50, 0x04);
    assert.deepEqual(getDevInfo(hal), FACTORY);
    const report = inspectFlash(hal);
    assert.equal(report.current, "A");
    assert.equal(report.slots[1].state, "invalid");
    assert.match(report.slots[1].reason ?? "", /slot B head does not open under the storage key/);
    // The next write goes to the corrupted slot, not over the surviving record.
    setDevInfo(hal, REGISTERED);
    assert.deepEqual(loadDevInfo(hal), { status: "ok", info: REGISTERED, slot: "B", seq: 2, mirrored: false });
  });

  it("says whether the other slot holds the same record (mirrored), so a boot knows without writing", () => {
    const flash = createMemoryFlash();
    const hal = halOver(flash);
    setDevInfo(hal, FACTORY);
    assert.equal((loadDevInfo(hal) as { mirrored: boolean }).mirrored, false, "one slot written, the other empty");
    setDevInfo(hal, REGISTERED);
    assert.equal((loadDevInfo(hal) as { mirrored: boolean }).mirrored, false, "the other slot holds an older record");
    setDevInfo(hal, REGISTERED, { mirror: true });
    assert.deepEqual(loadDevInfo(hal), { status: "ok", info: REGISTERED, slot: "A", seq: 3, mirrored: true });
    flash.corruptByte(RECORD_NAMESPACE, "rec.b", 50, 0x04);
    assert.deepEqual(loadDevInfo(hal), { status: "ok", info: REGISTERED, slot: "A", seq: 3, mirrored: false });
  });

  it("detects corrupted, missing and stale chunks of a cert record", () => {
    const flash = createMemoryFlash();
    const hal = halOver(flash);
    setDevInfo(hal, CERT_FACTORY);
    setDevInfo(hal, CERT_REGISTERED);
    flash.corruptByte(RECORD_NAMESPACE, "rec.b.1", 3);
    assert.deepEqual(getDevInfo(hal), CERT_FACTORY);
    assert.match(inspectFlash(hal).slots[1].reason ?? "", /chunks do not match the head's SHA-256/);
    flash.corruptByte(RECORD_NAMESPACE, "rec.b.1", 3); // repaired
    assert.deepEqual(getDevInfo(hal), CERT_REGISTERED);
    flash.delete(RECORD_NAMESPACE, "rec.b.1");
    assert.match(inspectFlash(hal).slots[1].reason ?? "", /chunk 1 is missing/);
  });

  it("a head stored in the other slot's key is rejected (a copied slot is not trusted)", () => {
    const flash = createMemoryFlash();
    const hal = halOver(flash);
    setDevInfo(hal, FACTORY);
    flash.set(RECORD_NAMESPACE, "rec.b", blobAt(flash, "rec.a").slice().buffer);
    const report = inspectFlash(hal);
    assert.equal(report.current, "A");
    assert.match(report.slots[1].reason ?? "", /sealed for slot A, found in slot B/);
  });

  it("under another storage key nothing is readable, with a reason and no exception", () => {
    const flash = createMemoryFlash();
    setDevInfo(halOver(flash), FACTORY);
    setDevInfo(halOver(flash), REGISTERED);
    const wrongKey = halOver(flash, new Uint8Array(32).fill(9));
    assert.equal(getDevInfo(wrongKey), undefined);
    const load = loadDevInfo(wrongKey);
    assert.equal(load.status, "unreadable");
    assert.match(load.status === "unreadable" ? load.reason : "", /slot A head does not open.*slot B head does not open/);
    assert.equal(inspectFlash(wrongKey).status, "unreadable");
  });

  it("a wrongly typed head is an invalid slot, not an exception", () => {
    const flash = createMemoryFlash();
    const hal = halOver(flash);
    flash.set(RECORD_NAMESPACE, "rec.a", "not a blob");
    flash.set(RECORD_NAMESPACE, "rec.b", 7);
    assert.equal(getDevInfo(hal), undefined);
    assert.match(inspectFlash(hal).reason ?? "", /slot A head is a string, not a blob; slot B head is a number/);
  });

  it("validates before writing: a bad record is a DeviceInfoError and writes nothing", () => {
    const flash = createMemoryFlash();
    const hal = halOver(flash);
    assert.throws(() => setDevInfo(hal, { ...FACTORY, productId: "TOO-LONG-PRODUCT" }), DeviceInfoError);
    assert.throws(() => setDevInfo(hal, { ...FACTORY, productSecret: undefined }), DeviceInfoError);
    assert.equal(flash.stats().totalWrites, 0);
  });

  it("refuses a record too large for the store with a storage error naming the limit", () => {
    const hal = halOver(createMemoryFlash());
    const huge = { ...CERT_REGISTERED, clientCert: "x".repeat(MAX_RECORD_CHUNKS * 4000) };
    assert.throws(() => setDevInfo(hal, huge), storageError(/store holds at most 32000/));
    assert.equal(getDevInfo(hal), undefined);
  });

  it("turns a flash failure into a RecordStoreError that keeps the flash's code", () => {
    const flash = createMemoryFlash({ powerCutAtWrite: 1 });
    assert.throws(() => setDevInfo(halOver(flash), REGISTERED), (error: unknown) => {
      assert.ok(error instanceof RecordStoreError);
      assert.equal(error.code, "storage");
      assert.equal(error.flashCode, "power-cut");
      assert.match(error.message, /writing slot A head/);
      return true;
    });
  });

  it("inspectFlash masks secrets unless asked, and reports slots, sequence numbers and sizes", () => {
    const hal = halOver(createMemoryFlash());
    setDevInfo(hal, FACTORY);
    setDevInfo(hal, REGISTERED);
    const report = inspectFlash(hal);
    const text = JSON.stringify(report);
    assert.ok(!text.includes(REGISTERED.deviceSecret!), "device secret in clear");
    assert.ok(!text.includes(FACTORY.productSecret!), "product secret in clear");
    assert.equal(report.secretsRevealed, false);
    assert.deepEqual(report.slots.map((slot) => [slot.slot, slot.state, slot.seq, slot.current]), [["A", "valid", 1, false], ["B", "valid", 2, true]]);
    assert.ok((report.slots[1].headBytes ?? 0) > 40);
    assert.equal(report.slots[1].record?.deviceSecret, maskedTail(REGISTERED.deviceSecret!));
    const revealed = inspectFlash(hal, { revealSecrets: true });
    assert.equal(revealed.slots[1].record?.deviceSecret, REGISTERED.deviceSecret);
  });

  it("eraseDevInfo removes every record key", () => {
    const flash = createMemoryFlash();
    const hal = halOver(flash);
    setDevInfo(hal, CERT_REGISTERED);
    setDevInfo(hal, REGISTERED);
    eraseDevInfo(hal);
    assert.deepEqual(flash.keys(RECORD_NAMESPACE), []);
    assert.equal(getDevInfo(hal), undefined);
  });

  it("survives a simulator crash mid-commit: a torn flash file on disk is refused or erased, typed", () => {
    const dir = mkdtempSync(join(tmpdir(), "exs-record-"));
    try {
      const path = join(dir, "flash.json");
      setDevInfo(halOver(openFlashFile(path)), REGISTERED);
      assert.deepEqual(getDevInfo(halOver(openFlashFile(path))), REGISTERED);
      truncateFlashFile(path, 100);
      assert.throws(() => openFlashFile(path), (error: unknown) => error instanceof Error && error.name === "FlashError");
      assert.equal(getDevInfo(halOver(openFlashFile(path, { ifUnreadable: "erase" }))), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reports chunks left by a cut during cleanup as stray keys, harmless to reads", () => {
    const flash = createMemoryFlash();
    setDevInfo(halOver(flash), CERT_REGISTERED); // A, chunked
    setDevInfo(halOver(flash), REGISTERED); // B, inline
    const cutFlash = flash.reboot({ powerCutAtWrite: 2, powerCutWhen: "before" });
    // Writes: head of A (the switch), then the deletes of A's two chunks; the cut hits the first delete.
    assert.throws(() => setDevInfo(halOver(cutFlash), FACTORY), storageError(/removing stale chunk rec.a.0/));
    const hal = halOver(flash.reboot());
    assert.deepEqual(getDevInfo(hal), FACTORY);
    assert.deepEqual(inspectFlash(hal).strayKeys, ["rec.a.0", "rec.a.1"]);
    setDevInfo(hal, REGISTERED); // B
    setDevInfo(hal, CERT_FACTORY); // A again: the strays go
    assert.deepEqual(inspectFlash(hal).strayKeys, []);
  });

  it("keeps the old-or-new guarantee on a real flash file, cut at every write of a cert registration", () => {
    const dir = mkdtempSync(join(tmpdir(), "exs-record-"));
    try {
      for (const when of ["before", "after"] as const) {
        for (let at = 1; at <= 3; at++) {
          const path = join(dir, `flash-${when}-${at}.json`);
          setDevInfo(halOver(openFlashFile(path)), CERT_FACTORY);
          try {
            setDevInfo(halOver(openFlashFile(path, { powerCutAtWrite: at, powerCutWhen: when })), CERT_REGISTERED);
            assert.fail("the cut did not happen");
          } catch (error) {
            assert.ok(error instanceof RecordStoreError && error.flashCode === "power-cut");
          }
          const switched = at === 3 && when === "after";
          assert.deepEqual(getDevInfo(halOver(openFlashFile(path))), switched ? CERT_REGISTERED : CERT_FACTORY, `${when} write ${at}`);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a flipped byte anywhere never yields a record that was not written, nor another kind of exception", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(FACTORY, CERT_FACTORY),
        fc.constantFrom(REGISTERED, CERT_REGISTERED),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (older, newer, keyPick, offsetPick, mask) => {
          const flash = createMemoryFlash();
          const hal = halOver(flash);
          setDevInfo(hal, older);
          setDevInfo(hal, newer);
          const keys = flash.keys(RECORD_NAMESPACE).sort();
          const key = keys[keyPick % keys.length];
          flash.corruptByte(RECORD_NAMESPACE, key, offsetPick % blobAt(flash, key).length, mask);
          const read = getDevInfo(hal);
          assert.ok(sameRecord(read, older) || sameRecord(read, newer), `read ${JSON.stringify(read)}`);
          const report = inspectFlash(hal);
          assert.equal(report.slots.filter((slot) => slot.state === "invalid").length, 1, "the flip went unnoticed");
        },
      ),
      { numRuns: 200 },
    );
  });

  describe("power cuts (property-based)", () => {
    const pskRecord = fc.record({
      deviceName: fc.stringMatching(/^[A-Za-z0-9_]{1,48}$/),
      deviceSecret: fc.option(fc.base64String({ minLength: 4, maxLength: 64 }).filter((s) => s.length > 0), { nil: undefined }),
      region: fc.option(fc.constantFrom("ap-guangzhou", "ap-shanghai"), { nil: undefined }),
    }).map(({ deviceName, deviceSecret, region }): DeviceInfo => ({
      ...FACTORY, deviceName, ...(deviceSecret ? { deviceSecret } : {}), ...(region ? { region } : {}),
    }));
    const certRecord = fc.record({
      certBytes: fc.integer({ min: 200, max: 2500 }),
      keyBytes: fc.integer({ min: 200, max: 2500 }),
      seed: fc.integer({ min: 0, max: 255 }),
    }).map(({ certBytes, keyBytes, seed }): DeviceInfo => ({
      ...CERT_FACTORY, clientCert: pem("CERTIFICATE", certBytes, seed), clientKey: pem("PRIVATE KEY", keyBytes, seed + 1),
    }));
    const anyRecord = fc.oneof(pskRecord, certRecord, fc.constant(REGISTERED), fc.constant(CERT_FACTORY));
    const cut = fc.record({ at: fc.integer({ min: 1, max: 12 }), when: fc.constantFrom("before" as const, "after" as const) });

    it("any power cuts during any setDevInfo sequence leave the old or the new record, never garbage", () => {
      fc.assert(
        fc.property(fc.array(anyRecord, { minLength: 1, maxLength: 8 }), fc.array(cut, { maxLength: 6 }), (records, cuts) => {
          let flash = createMemoryFlash();
          let committed: DeviceInfo | undefined; // what the last completed setDevInfo stored
          let next = 0;
          for (const powerCut of [...cuts, undefined]) {
            flash = flash.reboot(powerCut && { powerCutAtWrite: powerCut.at, powerCutWhen: powerCut.when });
            const hal = halOver(flash);
            // Boot: what is stored must be the last completed record (or the interrupted one, set below).
            assert.deepEqual(getDevInfo(hal), committed);
            while (next < records.length) {
              const record = records[next];
              try {
                setDevInfo(hal, record);
              } catch (error) {
                assert.ok(error instanceof RecordStoreError && error.flashCode === "power-cut", `unexpected ${String(error)}`);
                const afterCut = getDevInfo(halOver(flash.reboot()));
                assert.ok(
                  sameRecord(afterCut, committed) || sameRecord(afterCut, record),
                  "after a cut the record must be the old or the new one",
                );
                if (committed && !needsSecret(committed) && !sameRecord(afterCut, record)) {
                  assert.deepEqual(afterCut, committed, "a registered secret was lost");
                }
                committed = afterCut;
                next += sameRecord(afterCut, record) ? 1 : 0; // retry an interrupted write on the next boot
                break;
              }
              committed = record;
              next++;
            }
          }
          assert.deepEqual(getDevInfo(halOver(flash.reboot())), records[records.length - 1]);
        }),
        { numRuns: 150 },
      );
    });

    it("a power cut at every write index of a cert registration keeps the factory record or the registered one", () => {
      for (const when of ["before", "after"] as const) {
        for (let at = 1; at <= 4; at++) {
          const flash = createMemoryFlash();
          setDevInfo(halOver(flash), CERT_FACTORY);
          setDevInfo(halOver(flash), CERT_REGISTERED);
          const cutFlash = flash.reboot({ powerCutAtWrite: at, powerCutWhen: when });
          const update = { ...CERT_REGISTERED, clientKey: pem("PRIVATE KEY", 1800, 9) };
          let completed = true;
          try {
            setDevInfo(halOver(cutFlash), update);
          } catch (error) {
            assert.ok(error instanceof RecordStoreError);
            completed = false;
          }
          const after = getDevInfo(halOver(flash.reboot()));
          // Writes: chunk 0, chunk 1, head (the switch). Before the head commits, the old record stands.
          const headCommitted = completed || at > 3 || (at === 3 && when === "after");
          assert.deepEqual(after, headCommitted ? update : CERT_REGISTERED, `${when} write ${at}`);
        }
      }
    });
  });
});

function maskedTail(secret: string): string {
  return "*".repeat(Math.min(secret.length - 4, 8)) + secret.slice(-4);
}

function sameRecord(a: DeviceInfo | undefined, b: DeviceInfo | undefined): boolean {
  try {
    assert.deepEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

function needsSecret(info: DeviceInfo): boolean {
  return info.authMode === "psk" ? !info.deviceSecret : !info.clientCert || !info.clientKey;
}
