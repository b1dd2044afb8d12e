/**
 * The Node clock (skew, SNTP sync, correction, cancellable sleeps), the logger's defensive
 * redaction, and the simulated eFuse storage key.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createNodeClock, SleepCancelledError } from "../hal/node/clock";
import { createMemoryLogger, createNodeLogger } from "../hal/node/logger";
import { efusePathFor, loadOrCreateStorageKey } from "../hal/node/efuse";
import { FlashError } from "../firmware/contracts";

const HOUR = 3_600_000;

describe("Node clock (hal/node/clock)", () => {
  it("is synchronized and close to the host clock by default", () => {
    const clock = createNodeClock();
    assert.equal(clock.isSynchronized(), true);
    assert.ok(Math.abs(clock.nowMs() - Date.now()) < 1000);
  });

  it("starts skewed and unsynchronized with skewMs, until sync() sets it like SNTP", async () => {
    const clock = createNodeClock({ skewMs: -48 * HOUR });
    assert.equal(clock.isSynchronized(), false);
    assert.ok(Date.now() - clock.nowMs() > 47 * HOUR);
    assert.equal(await clock.sync(), true);
    assert.equal(clock.isSynchronized(), true);
    assert.ok(Math.abs(clock.nowMs() - Date.now()) < 1000);
  });

  it("reports a failed sync when SNTP is unreachable and keeps its skew", async () => {
    const clock = createNodeClock({ skewMs: HOUR, sntpReachable: false });
    assert.equal(await clock.sync(), false);
    assert.equal(clock.isSynchronized(), false);
    assert.ok(clock.nowMs() - Date.now() > HOUR - 1000);
  });

  it("correct() moves the wall clock to a reference time", () => {
    const clock = createNodeClock({ skewMs: 10 * HOUR });
    const reference = Date.now() - 5 * HOUR;
    clock.correct(reference);
    assert.equal(clock.isSynchronized(), true);
    assert.ok(Math.abs(clock.nowMs() - reference) < 1000);
    assert.throws(() => clock.correct(Number.NaN), RangeError);
  });

  it("keeps the monotonic clock independent of wall-clock corrections", () => {
    const clock = createNodeClock();
    const before = clock.monotonicMs();
    clock.correct(Date.now() - 100 * HOUR);
    assert.ok(clock.monotonicMs() >= before);
  });

  it("sleeps, and rejects sleeps cancelled by cancelAll() or an AbortSignal", async () => {
    const clock = createNodeClock();
    await clock.sleep(1);
    const long = clock.sleep(60_000);
    clock.cancelAll();
    await assert.rejects(long, SleepCancelledError);
    const controller = new AbortController();
    const aborted = clock.sleep(60_000, controller.signal);
    controller.abort();
    await assert.rejects(aborted, SleepCancelledError);
    await assert.rejects(clock.sleep(1, controller.signal), SleepCancelledError);
    await assert.rejects(clock.sleep(-1), RangeError);
  });
});

describe("Node logger (hal/node/logger)", () => {
  it("writes one JSON line per event with level, device and fields", () => {
    const lines: string[] = [];
    const logger = createNodeLogger({ sink: (line) => lines.push(line), deviceName: "dev-1", now: () => 0 });
    logger.log("info", "dynreg.ok", { attempt: 2, tls: true });
    assert.equal(lines.length, 1);
    assert.deepEqual(JSON.parse(lines[0]), {
      ts: "1970-01-01T00:00:00.000Z", level: "info", device: "dev-1", event: "dynreg.ok", attempt: 2, tls: true,
    });
  });

  it("drops events below its level", () => {
    const logger = createMemoryLogger({ level: "warn" });
    logger.log("info", "quiet");
    logger.log("error", "loud");
    assert.deepEqual(logger.entries().map((entry) => entry.event), ["loud"]);
  });

  it("never writes a secret-named field in clear", () => {
    const logger = createMemoryLogger();
    const secrets = {
      psk: "c2VjcmV0LXBzay12YWx1ZQ==",
      devicePsk: "AnotherPskValue123",
      productSecret: "ProductSecretValue0123456789",
      password: "pw-value-XYZW",
      privateKey: "-----BEGIN PRIVATE KEY-----abcd",
      cert: "-----BEGIN CERTIFICATE-----efgh",
    };
    logger.log("debug", "oops", { ...secrets, deviceName: "dev-1" });
    const [line] = logger.lines;
    for (const value of Object.values(secrets)) {
      assert.ok(!line.includes(value), `a secret leaked: ${line}`);
      assert.ok(!line.includes(value.slice(0, -4)), `a secret's prefix leaked: ${line}`);
    }
    const entry = logger.entries()[0];
    assert.equal(entry.deviceName, "dev-1");
    assert.equal(entry.password, "********XYZW");
  });

  it("with redact: false prints fields exactly as the core handed them (for the leak tests)", () => {
    const logger = createMemoryLogger({ redact: false });
    logger.log("info", "as-given", { password: "pw-value-XYZW", deviceName: "dev-1" });
    assert.deepEqual([logger.entries()[0].password, logger.entries()[0].deviceName], ["pw-value-XYZW", "dev-1"]);
  });

  it("does not let a field overwrite the event's own keys", () => {
    const logger = createMemoryLogger({ deviceName: "dev-1" });
    logger.log("info", "e", { event: "spoofed", device: "other" });
    const entry = logger.entries()[0];
    assert.equal(entry.event, "e");
    assert.equal(entry.device, "dev-1");
    assert.equal(entry["field.event"], "spoofed");
  });
});

describe("Simulated eFuse storage key (hal/node/efuse)", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "explorer-efuse-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("creates 32 random bytes beside the flash file once, mode 0600, and reads them back", () => {
    const flashFile = path.join(dir, "dev-1.nvs");
    const first = loadOrCreateStorageKey(flashFile);
    assert.equal(first.length, 32);
    assert.equal(fs.statSync(efusePathFor(flashFile)).mode & 0o777, 0o600);
    assert.deepEqual(loadOrCreateStorageKey(flashFile), first);
    assert.notDeepEqual(loadOrCreateStorageKey(path.join(dir, "dev-2.nvs")), first);
    assert.deepEqual(fs.readdirSync(dir).sort(), ["dev-1.nvs.efuse", "dev-2.nvs.efuse"], "no temporary files left");
  });

  it("refuses a key file of the wrong size with FlashError", () => {
    const flashFile = path.join(dir, "dev-1.nvs");
    fs.writeFileSync(efusePathFor(flashFile), Buffer.alloc(7));
    assert.throws(() => loadOrCreateStorageKey(flashFile), FlashError);
  });
});
