/**
 * The device core's OTA task end to end (docs/PROTOCOL.md §14): the simulated device (Node HAL,
 * real sockets, its two emulated application slots) against the mock platform, driven only
 * through Tencent's Node SDK: GetCOSURL → PUT → UploadFirmware → UpdateFirmware. The device
 * downloads in Range chunks, checks MD5 as it streams, restarts into the new slot, confirms it
 * once online and reports the new Version; a power cut, a wrong MD5, a missing file and a restart
 * before the new image comes online each end on a good image with the device secret kept.
 */
import { strict as assert } from "node:assert";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Md5 } from "../firmware/md5";
import { parseUpdateCommand } from "../firmware/ota-task";
import { getDevInfo } from "../firmware/record-store";
import { NodeApplicationSlots } from "../hal/node/app-slots";
import { openFlashFile } from "../hal/node/flash";
import { readFileSync, writeFileSync } from "node:fs";
import { createMemoryLogger } from "../hal/node/logger";
import { startPlatform, type RunningPlatform } from "../simulator/platform/index";
import { startSimDevice, type SimDevice } from "../simulator/sim-device";
import { apiClient, apiTarget, type IotExplorerClient } from "./cloud-api-helpers";
import fc from "fast-check";

const PRODUCT_ID = "OTAPRD0001";
const PRODUCT_SECRET = "otaProductSecret7Hq2Lm9Z";
const IMAGE_BYTES = 300 * 1024;
const CHUNK = 32 * 1024;

describe("device OTA task against the mock platform", function () {
  this.timeout(30_000);
  let platform: RunningPlatform;
  let api: IotExplorerClient;
  let dir: string;
  const running: SimDevice[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "exs-ota-"));
    platform = await startPlatform({
      memory: true,
      config: { products: [{ productId: PRODUCT_ID, productSecret: PRODUCT_SECRET, dynamicRegistration: true, autoCreate: false, authType: "psk", devices: ["dev1"] }] },
    });
    api = apiClient(apiTarget(platform));
  });
  afterEach(async () => {
    for (const device of running.splice(0)) await device.close();
    await platform.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Powers the board on: the bootloader picks the slot, then the core boots; `restarted` resolves when the firmware asks to restart. */
  function powerOn(slots: NodeApplicationSlots) {
    slots.boot();
    let restart!: () => void;
    const restarted = new Promise<void>((resolve) => (restart = resolve));
    const device = startSimDevice({
      flashFile: join(dir, "dev1.flash"),
      registerUrl: `${platform.httpUrl}/device/register`,
      mqttUrl: platform.mqttUrl,
      factoryInfo: { productId: PRODUCT_ID, productSecret: PRODUCT_SECRET, deviceName: "dev1", authMode: "psk" },
      logger: createMemoryLogger(),
      slots,
      boot: { backoff: { baseMs: 10, capMs: 100, maxAttempts: 6 }, ota: { chunkBytes: CHUNK, retryDelayMs: 10, attemptsPerChunk: 3, restart } },
    });
    running.push(device);
    return { device, restarted };
  }

  async function powerOff(device: SimDevice): Promise<void> {
    running.splice(running.indexOf(device), 1);
    await device.close();
  }

  async function status() {
    return api.DescribeFirmwareUpdateStatus({ ProductId: PRODUCT_ID, DeviceName: "dev1" });
  }

  async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
    for (let i = 0; i < 250; i++) {
      const value = await read();
      if (done(value)) return value;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.fail(`timed out waiting for ${what}`);
  }

  async function publishFirmware(version: string, bytes: Buffer): Promise<void> {
    const { Url } = await api.GetCOSURL({ ProductID: PRODUCT_ID, FirmwareVersion: version, FileSize: bytes.length });
    assert.equal((await fetch(Url!, { method: "PUT", body: bytes })).status, 200);
    await api.UploadFirmware({ ProductID: PRODUCT_ID, FirmwareVersion: version, Md5sum: createHash("md5").update(bytes).digest("hex"), FileSize: bytes.length });
  }

  async function online(slots: NodeApplicationSlots) {
    const booted = powerOn(slots);
    await booted.device.task.online;
    await until(async () => await platform.registry.firmware.reportedVersion(PRODUCT_ID, "dev1"), (version) => version === slots.runningVersion(), "report_version");
    return booted;
  }

  it("updates itself: downloads 300 KiB in Range chunks, restarts into the new slot, confirms it online and reports the new Version", async () => {
    const slots = new NodeApplicationSlots({ factoryVersion: "1.0.0" });
    const first = await online(slots);
    const secretBefore = getDevInfo(first.device.hal)?.deviceSecret;
    const image = randomBytes(IMAGE_BYTES);
    await publishFirmware("2.0.0", image);
    await api.UpdateFirmware({ ProductID: PRODUCT_ID, DeviceName: "dev1", FirmwareVersion: "2.0.0", FirmwareOriVersion: "1.0.0" });
    await first.restarted;
    assert.equal((await status()).Status, 4, "burning reported before the restart");
    assert.deepEqual(Buffer.from(slots.imageBytes(1)!), image);
    assert.equal(slots.view().slots[1].state, "staged");
    await powerOff(first.device);

    const second = await online(slots);
    assert.equal(slots.runningVersion(), "2.0.0");
    const done = await until(status, (value) => value.Status === 6, "status 6");
    assert.deepEqual([done.Status, done.Percent, done.OriVersion, done.DstVersion], [6, 100, "1.0.0", "2.0.0"]);
    assert.equal((await api.DescribeDevice({ ProductId: PRODUCT_ID, DeviceName: "dev1" })).Device!.Version, "2.0.0");
    assert.equal(slots.onTrial(), false, "confirmed once online");
    const secretAfter = getDevInfo(second.device.hal)?.deviceSecret;
    assert.ok(secretBefore);
    assert.equal(secretAfter, secretBefore);
    assert.equal(secretAfter, (await platform.registry.getDevice(PRODUCT_ID, "dev1"))?.psk);
    // Ten chunks of 32 KiB: progress reported in 10 % steps, not per chunk.
    assert.equal(platform.objects.bytesServed, IMAGE_BYTES);
  });

  it("a power cut at a slot write during the download: the next boot still runs the old image and resumes from the bytes written", async () => {
    const slots = new NodeApplicationSlots({ factoryVersion: "1.0.0", powerCutAtWrite: 4 });
    const first = await online(slots);
    const image = randomBytes(IMAGE_BYTES);
    await publishFirmware("2.0.0", image);
    await api.UpdateFirmware({ ProductID: PRODUCT_ID, DeviceName: "dev1", FirmwareVersion: "2.0.0", FirmwareOriVersion: "1.0.0" });
    await until(async () => slots.view().writes, (writes) => writes >= 4, "the cut write");
    assert.equal(slots.staged()?.written, 3 * CHUNK);
    await powerOff(first.device);

    const second = await online(slots);
    assert.equal(slots.runningVersion(), "1.0.0");
    await second.restarted;
    // Resumed: only what was missing was fetched again.
    assert.equal(platform.objects.bytesServed, IMAGE_BYTES + CHUNK);
    assert.deepEqual(Buffer.from(slots.imageBytes(1)!), image);
    await powerOff(second.device);
    await online(slots);
    assert.equal((await until(status, (value) => value.Status === 6, "status 6")).Status, 6);
  });

  it("a wrong MD5 fails the update (result_code -4), drops the staged image and keeps running the old one", async () => {
    const slots = new NodeApplicationSlots({ factoryVersion: "1.0.0" });
    await online(slots);
    const image = randomBytes(IMAGE_BYTES);
    await publishFirmware("2.0.0", image);
    // The object changes after UploadFirmware checked it: the device's own MD5 check must catch it.
    await platform.registry.firmware.putObject(PRODUCT_ID, "2.0.0", randomBytes(IMAGE_BYTES), "0".repeat(32), Date.now());
    await api.UpdateFirmware({ ProductID: PRODUCT_ID, DeviceName: "dev1", FirmwareVersion: "2.0.0", FirmwareOriVersion: "1.0.0" });
    await until(status, (value) => value.Status === 5, "status 5");
    const listed = await api.DescribeFirmwareTaskDevices({ ProductID: PRODUCT_ID, FirmwareVersion: "2.0.0" });
    assert.deepEqual([listed.Devices![0].Retcode, listed.Devices![0].ErrMsg], [-4, "MD5 mismatch"]);
    assert.equal(slots.staged(), undefined);
    assert.equal(slots.runningVersion(), "1.0.0");
  });

  it("a restart before the new image comes online rolls back to the old one, which reports fail", async () => {
    const slots = new NodeApplicationSlots({ factoryVersion: "1.0.0" });
    const first = await online(slots);
    await publishFirmware("2.0.0", randomBytes(50_000));
    await api.UpdateFirmware({ ProductID: PRODUCT_ID, DeviceName: "dev1", FirmwareVersion: "2.0.0", FirmwareOriVersion: "1.0.0" });
    await first.restarted;
    await powerOff(first.device);
    // The new image boots on trial but loses power before it is online ...
    slots.boot();
    assert.equal(slots.runningVersion(), "2.0.0");
    // ... so the bootloader gives it up at the next power-on.
    const back = await online(slots);
    assert.equal(slots.runningVersion(), "1.0.0");
    const failed = await until(status, (value) => value.Status === 5, "status 5");
    assert.equal(failed.Status, 5);
    assert.equal(slots.view().slots[1].state, "aborted");
    assert.ok(back.device.task.state === "online");
  });

  it("refuses a URL that is not http(s), a size over the slot, and its running version", async () => {
    const slots = new NodeApplicationSlots({ factoryVersion: "1.0.0", capacity: 1000 });
    const { device } = await online(slots);
    const updateTopic = `$ota/update/${PRODUCT_ID}/dev1`;
    const send = (body: unknown) => platform.broker.publishToDevice(updateTopic, JSON.stringify(body), 1);
    const base = { type: "update_firmware", md5sum: "0".repeat(32), file_size: 100, version: "3.0.0" };
    await send({ ...base, url: "ftp://127.0.0.1/x" });
    await send({ ...base, url: "http://127.0.0.1/x", file_size: 5000 });
    await send({ ...base, url: "http://127.0.0.1/x", version: "1.0.0" });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(slots.staged(), undefined, "nothing begun");
    assert.equal(slots.view().writes, 0);
    assert.equal(device.task.state, "online");
  });

  it("slots kept in the flash file survive a reopen beside the NVS record, and a file from before OTA opens at the factory image", () => {
    const file = join(dir, "slots.flash");
    const flash = openFlashFile(file, { durable: false });
    flash.set("exs", "k1", "before");
    const old = readFileSync(file, "utf8");
    assert.equal(JSON.parse(old).app, undefined);
    const slots = NodeApplicationSlots.open(flash, { factoryVersion: "1.0.0" });
    slots.begin({ version: "2.0.0", size: 8, md5: "0".repeat(32) });
    slots.write(Uint8Array.of(1, 2, 3));
    flash.set("exs", "k2", "after"); // an NVS commit keeps the app region
    const reopened = openFlashFile(file, { durable: false });
    assert.deepEqual([reopened.get("exs", "k1"), reopened.get("exs", "k2")], ["before", "after"]);
    const again = NodeApplicationSlots.open(reopened, { factoryVersion: "ignored" });
    assert.deepEqual(again.staged(), { image: { version: "2.0.0", size: 8, md5: "0".repeat(32) }, written: 3 });
    assert.deepEqual(Array.from(again.read(0, 3)), [1, 2, 3]);
    assert.equal(again.runningVersion(), "1.0.0");
    writeFileSync(file, old); // the file as a device without OTA left it
    const legacy = NodeApplicationSlots.open(openFlashFile(file, { durable: false }), { factoryVersion: "0.9.0" });
    assert.deepEqual([legacy.runningVersion(), legacy.staged()], ["0.9.0", undefined]);
  });

  it("parses update_firmware as the C SDK does, refusing what it cannot use", () => {
    const encode = (body: unknown) => new TextEncoder().encode(JSON.stringify(body));
    const good = { type: "update_firmware", version: "2.0", url: "https://x.example/fw?sig=1", md5sum: "A".repeat(32), file_size: "708482" };
    assert.deepEqual(parseUpdateCommand(encode(good)), { version: "2.0", size: 708482, md5: "a".repeat(32), url: good.url });
    assert.equal(parseUpdateCommand(encode({ type: "report_version_rsp", result_code: 0 })), undefined);
    for (const [field, value] of [["url", "file:///etc/passwd"], ["url", "javascript:alert(1)"], ["file_size", 0], ["file_size", -1], ["md5sum", "xyz"], ["version", ""], ["version", "a/b"]] as const) {
      assert.ok("refused" in (parseUpdateCommand(encode({ ...good, [field]: value })) ?? {}), `${field}=${String(value)}`);
    }
  });

  it("the core's streaming MD5 equals node:crypto's for any bytes split anyhow", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 700 }), fc.array(fc.nat({ max: 700 }), { maxLength: 5 }), (bytes, cuts) => {
      const md5 = new Md5();
      let at = 0;
      for (const cut of [...cuts].sort((a, b) => a - b)) {
        md5.update(bytes.subarray(at, Math.max(at, Math.min(cut, bytes.length))));
        at = Math.max(at, Math.min(cut, bytes.length));
      }
      md5.update(bytes.subarray(at));
      assert.equal(md5.hex(), createHash("md5").update(bytes).digest("hex"));
    }));
  });
});
