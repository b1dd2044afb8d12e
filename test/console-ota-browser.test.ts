/**
 * The console's firmware update view (console-web/static/ota.js) in Chromium, against running
 * simulated devices with their two application slots: refusals shown on the page (a version
 * that is not one, a file over 16 MiB, a version uploaded twice), a firmware uploaded through
 * the page (its MD5 computed in the browser, checked here against Node's), one device updated
 * with UpdateFirmware until the page shows done/100 and the version the device now reports, then
 * the product's devices with BatchUpdateFirmware until the task has finished.
 */
import { strict as assert } from "node:assert";
import { createHash, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "puppeteer-core";
import { NodeApplicationSlots } from "../hal/node/app-slots";
import { createMemoryLogger } from "../hal/node/logger";
import { MAX_FIRMWARE_BYTES } from "../simulator/platform/ota/object-store";
import { startPlatform, type RunningPlatform } from "../simulator/platform/index";
import { startSimDevice, type SimDevice } from "../simulator/sim-device";
import { chromiumOrSkip, launchChromium, type LaunchedBrowser } from "./lib/chromium";
import { apiClient, apiTarget } from "./cloud-api-helpers";
import { tempDir } from "./platform-helpers";

const PRODUCT = { productId: "OTAWEB0001", productSecret: "otaWebProductSecret8Kd2Qx" };
const DEVICES = ["ota-web-1", "ota-web-2"];

describe("web console in chromium: firmware update", function () {
  this.timeout(120_000);
  let platform: RunningPlatform;
  let chromium: LaunchedBrowser;
  const scratch = tempDir("console-ota-");
  const running = new Map<string, SimDevice>();
  const slots = new Map<string, NodeApplicationSlots>();

  /** Powers a board on (the bootloader picks the slot); a restart the firmware asks for boots it again in place. */
  function powerOn(name: string): SimDevice {
    const board = slots.get(name)!;
    board.boot();
    const device = startSimDevice({
      registerUrl: `${platform.httpUrl}/device/register`,
      mqttUrl: platform.mqttUrl,
      flashFile: join(scratch.dir, `${name}.flash`),
      factoryInfo: { ...PRODUCT, deviceName: name, authMode: "psk" },
      logger: createMemoryLogger(),
      slots: board,
      boot: {
        backoff: { baseMs: 20, capMs: 200, maxAttempts: 5 },
        ota: { restart: () => void device.close().then(() => running.set(name, powerOn(name))) },
      },
    });
    running.set(name, device);
    return device;
  }

  before(async function () {
    chromiumOrSkip(this);
    platform = await startPlatform({
      memory: true,
      log: () => undefined,
      config: { products: [{ ...PRODUCT, dynamicRegistration: true, autoCreate: false, authType: "psk", devices: DEVICES }] },
    });
    chromium = await launchChromium();
  });

  after(async () => {
    for (const device of running.values()) await device.close();
    await chromium?.close();
    await platform?.close();
    scratch.remove();
  });

  async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (!(await check())) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  const text = (page: Page, selector: string) => page.$eval(selector, (node) => node.textContent ?? "");

  async function uploadThroughPage(page: Page, version: string, file: string): Promise<string> {
    await page.$eval("#ota-new-version", (node) => { (node as unknown as { value: string }).value = ""; });
    await page.type("#ota-new-version", version);
    // Typed by hand: the tests' tsconfig has no DOM types for ElementHandle<HTMLInputElement>.
    const chooser = (await page.$("#ota-file")) as unknown as { uploadFile(...paths: string[]): Promise<void> };
    await chooser.uploadFile(file);
    await page.$eval("#ota-upload-result", (node) => { (node as unknown as { dataset: Record<string, string> }).dataset.state = ""; });
    await page.click('#ota-upload button[type="submit"]');
    await page.waitForSelector('#ota-upload-result[data-state="ok"], #ota-upload-result[data-state="error"]', { timeout: 30_000 });
    return `${await page.$eval("#ota-upload-result", (node) => (node as unknown as { dataset: Record<string, string> }).dataset.state)}: ${await text(page, "#ota-upload-result")}`;
  }

  it("refuses a bad version, a file over 16 MiB and a version twice on the page; uploads a firmware; updates one device, then the product, to done/100", async () => {
    for (const name of DEVICES) {
      slots.set(name, new NodeApplicationSlots({ factoryVersion: "1.0.0" }));
      await powerOn(name).task.online;
    }
    await until("report_version of both devices", async () => (await Promise.all(DEVICES.map((name) => platform.registry.firmware.reportedVersion(PRODUCT.productId, name)))).every((version) => version === "1.0.0"));

    const page = await chromium.browser.newPage();
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(String(error)));
    page.on("response", (response) => { if (response.status() >= 400) problems.push(`HTTP ${response.status()} for ${response.url()}`); });
    page.on("request", (request) => { if (!request.url().startsWith(platform.httpUrl) && !request.url().startsWith("data:")) problems.push(`requested ${request.url()}`); });
    await page.goto(platform.consoleLoginUrl(), { waitUntil: "load" });
    await page.waitForFunction(`document.querySelector("#ota-product")?.textContent === ${JSON.stringify(PRODUCT.productId)}`);
    await page.waitForFunction('(document.querySelector("#ota-firmwares")?.textContent ?? "").includes("no firmware uploaded")');

    const small = join(scratch.dir, "small.bin");
    writeFileSync(small, randomBytes(1000));
    assert.match(await uploadThroughPage(page, "2.0 beta!", small), /^error: GetCOSURL refused: "2\.0 beta!" is not a version: 1-32 characters .*InvalidParameterValue/);
    const huge = join(scratch.dir, "huge.bin");
    writeFileSync(huge, Buffer.alloc(MAX_FIRMWARE_BYTES + 1));
    assert.match(await uploadThroughPage(page, "2.0.0", huge), new RegExp(`^error: GetCOSURL refused: huge\\.bin has ${MAX_FIRMWARE_BYTES + 1} bytes: the platform takes 1 byte to 16 MiB .*FileSize`));
    assert.equal((await platform.registry.firmware.listFirmwares({ productId: PRODUCT.productId }, 0, 10)).total, 0, "nothing published by a refusal");

    const image = randomBytes(300 * 1024);
    const imageFile = join(scratch.dir, "app-2.0.0.bin");
    writeFileSync(imageFile, image);
    const md5 = createHash("md5").update(image).digest("hex");
    assert.equal(await uploadThroughPage(page, "2.0.0", imageFile), `ok: uploaded 2.0.0: ${image.length} bytes, MD5 ${md5}`);
    assert.equal((await platform.registry.firmware.getFirmware(PRODUCT.productId, "2.0.0"))?.md5, md5, "the browser's MD5 is Node's");
    await page.waitForSelector('#ota-firmwares tr[data-version="2.0.0"]');
    assert.match(await text(page, '#ota-firmwares tr[data-version="2.0.0"]'), new RegExp(`2\\.0\\.0.*${md5}`));
    assert.match(await uploadThroughPage(page, "2.0.0", small), /^error: GetCOSURL refused: version 2\.0\.0 already exists for this product.*InvalidParameterValue\.FirmwareAlreadyExist/);

    // DescribeFirmware from the list.
    await page.click('#ota-firmwares tr[data-version="2.0.0"] button');
    await page.waitForSelector("#ota-firmware:not([hidden])");
    assert.match(await text(page, "#ota-firmware-fields"), new RegExp(`version2\\.0\\.0.*MD5${md5}`));

    // One device: UpdateFirmware, watched until done.
    await page.select("#ota-version", "2.0.0");
    await page.type("#ota-device", "ota-web-1");
    await page.click('#ota-update button[type="submit"]');
    await page.waitForSelector('#ota-progress[data-state="done"]', { timeout: 60_000 });
    assert.equal(await text(page, "#ota-percent"), "100 %");
    assert.match(await text(page, "#ota-progress-line"), /^done: ota-web-1 runs 2\.0\.0$/);
    assert.equal(await text(page, "#ota-device-version"), "2.0.0");
    assert.equal(await page.$eval('#ota-task-devices tr[data-device="ota-web-1"]', (node) => (node as unknown as { dataset: Record<string, string> }).dataset.status), "6");
    assert.match(await text(page, "#ota-update-result"), /update of ota-web-1 from 1\.0\.0 to 2\.0\.0 started/);
    assert.equal(slots.get("ota-web-1")!.runningVersion(), "2.0.0", "the device booted the new image");
    assert.deepEqual(Buffer.from(slots.get("ota-web-1")!.imageBytes(1)!), image, "the bytes the page uploaded");
    const described = await apiClient(apiTarget(platform)).DescribeDevice({ ProductId: PRODUCT.productId, DeviceName: "ota-web-1" });
    assert.equal(described.Device!.Version, "2.0.0");

    // The same device again: refused with what to do, on the page.
    await page.click('#ota-update button[type="submit"]');
    await page.waitForSelector('#ota-update-result[data-state="error"]');
    assert.match(await text(page, "#ota-update-result"), /^UpdateFirmware refused: ota-web-1 already runs 2\.0\.0 \(FailedOperation\.DeviceFirmwareIsUpdated/);

    // The product: BatchUpdateFirmware over both devices (one on 2.0.0, one on 1.0.0), watched until the task finished.
    const next = randomBytes(40 * 1024);
    const nextFile = join(scratch.dir, "app-3.0.0.bin");
    writeFileSync(nextFile, next);
    assert.match(await uploadThroughPage(page, "3.0.0", nextFile), /^ok: uploaded 3\.0\.0/);
    await page.select("#ota-version", "3.0.0");
    await page.select("#ota-target", "product");
    await page.waitForSelector("#ota-device-field[hidden]");
    await page.click('#ota-update button[type="submit"]');
    await page.waitForFunction('(document.querySelector("#ota-progress-line")?.textContent ?? "").startsWith("finished")', { timeout: 60_000 });
    assert.match(await text(page, "#ota-progress-title"), /^task \d+: OTAWEB0001 to 3\.0\.0$/);
    assert.equal(await text(page, "#ota-progress-line"), "finished: 2 done of 2");
    assert.equal(await text(page, "#ota-percent"), "100 %");
    assert.deepEqual(await page.$$eval("#ota-task-devices tr", (rows) => rows.map((row) => [(row as unknown as { dataset: Record<string, string> }).dataset.device, (row as unknown as { dataset: Record<string, string> }).dataset.status])).then((rows) => rows.sort()),
      [["ota-web-1", "6"], ["ota-web-2", "6"]]);
    assert.match(await text(page, '#ota-task-devices tr[data-device="ota-web-2"]'), /ota-web-2done100 %1\.0\.0 → 3\.0\.0/);
    for (const name of DEVICES) assert.equal(slots.get(name)!.runningVersion(), "3.0.0");
    assert.deepEqual(problems, []);
    await page.close();
  });
});
