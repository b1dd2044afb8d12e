/**
 * The console's data template view (console-web/static/template.js) in Chromium: reported
 * properties shown with names, labels and units from the product's template, a control form
 * built from it (switch, slider, select, text; read-only properties left out) whose control
 * reaches a simulated device, and a template upload refused with Tencent's code.
 */
import { strict as assert } from "node:assert";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "puppeteer-core";
import { startPlatform, type RunningPlatform } from "../simulator/platform/index";
import { startSimDevice, type SimDevice } from "../simulator/sim-device";
import { createMemoryLogger } from "../hal/node/logger";
import { chromiumOrSkip, launchChromium, type LaunchedBrowser } from "./lib/chromium";
import { apiClient, apiTarget } from "./cloud-api-helpers";
import { tempDir } from "./platform-helpers";

const PRODUCT = { productId: "TPLPRD0001", productSecret: "tplProductSecret5Tq8Lm2Zx" };
const TEMPLATE_FILE = join(__dirname, "fixtures", "light-template.json");

describe("web console in chromium: the data template", function () {
  this.timeout(90_000);
  let platform: RunningPlatform;
  let chromium: LaunchedBrowser;
  let device: SimDevice | undefined;
  const scratch = tempDir("console-tpl-");

  before(async function () {
    chromiumOrSkip(this);
    platform = await startPlatform({
      memory: true,
      log: () => undefined,
      config: { products: [{ ...PRODUCT, dynamicRegistration: true, autoCreate: false, authType: "psk", devices: ["lamp-1"], dataTemplate: JSON.parse(readFileSync(TEMPLATE_FILE, "utf8")) }] },
    });
    chromium = await launchChromium();
  });

  after(async () => {
    await device?.close();
    await chromium?.close();
    await platform?.close();
    scratch.remove();
  });

  it("labels the reported properties, builds a switch, a slider and a select from the template, and the control reaches the device", async () => {
    const controls: Array<Record<string, unknown>> = [];
    device = startSimDevice({
      registerUrl: `${platform.httpUrl}/device/register`,
      mqttUrl: platform.mqttUrl,
      factoryInfo: { ...PRODUCT, deviceName: "lamp-1", authMode: "psk" },
      logger: createMemoryLogger(),
      boot: { backoff: { baseMs: 20, capMs: 200, maxAttempts: 5 }, onControl: (params) => controls.push(params), initialReport: { power_switch: 0, brightness: 40, color: 1, temperature: 21.5 } },
    });
    await device.task.online;

    const page: Page = await chromium.browser.newPage();
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(String(error)));
    page.on("response", (response) => { if (response.status() >= 400) problems.push(`HTTP ${response.status()} for ${response.url()}`); });
    await page.goto(platform.consoleLoginUrl(), { waitUntil: "load" });
    await page.waitForSelector('#devices tr[data-device="lamp-1"][data-online="true"]', { timeout: 20_000 });
    // The list is redrawn as events arrive: click inside the page, not on a handle that may be replaced.
    await page.$eval('#devices tr[data-device="lamp-1"] button', (node) => (node as unknown as { click(): void }).click());
    await page.waitForSelector("#template:not([hidden])");
    await page.waitForSelector('#reported tr[data-property="brightness"][data-labelled="true"]');
    const row = (id: string) => page.$eval(`#reported tr[data-property="${id}"]`, (node) => node.textContent ?? "");
    assert.match(await row("brightness"), /Brightness\s*brightness\s*40 %/);
    assert.match(await row("color"), /Colour\s*color\s*Green \(1\)/);
    assert.match(await row("power_switch"), /Power\s*power_switch\s*off \(0\)/);
    assert.match(await row("temperature"), /21\.5 °C/);
    assert.match(await page.$eval("#template-summary", (node) => node.textContent ?? ""), /8 properties, 3 events, 1 actions/);
    assert.deepEqual(JSON.parse(await page.$eval("#template-json", (node) => node.textContent ?? "")), JSON.parse(readFileSync(TEMPLATE_FILE, "utf8")), "the stored template, viewable");

    // A switch for bool, a slider with the template's range for int, a select of the labels for enum; no input for read-only properties.
    const form = "#template-control";
    assert.ok(await page.$(`${form} input[name="power_switch"][type="checkbox"][role="switch"]`));
    assert.deepEqual(await page.$eval(`${form} input[name="brightness"]`, (node) => { const input = node as unknown as { type: string; min: string; max: string; step: string; value: string }; return [input.type, input.min, input.max, input.step, input.value]; }), ["range", "0", "100", "1", "40"]);
    assert.deepEqual(await page.$$eval(`${form} select[name="color"] option`, (options) => options.map((option) => option.textContent)), ["Red (0)", "Green (1)", "Blue (2)"]);
    assert.ok(await page.$(`${form} input[name="name"]`), "a text field for the string");
    assert.equal(await page.$(`${form} [name="temperature"]`), null, "read-only: no control");

    await page.click(`${form} input[name="power_switch"]`);
    await page.$eval(`${form} input[name="brightness"]`, (node) => {
      const input = node as unknown as { value: string; dispatchEvent(event: unknown): void };
      input.value = "70";
      input.dispatchEvent(new (globalThis as any).Event("input", { bubbles: true }));
    });
    await page.select(`${form} select[name="color"]`, "2");
    await page.click(`${form} button[type="submit"]`);
    await page.waitForFunction('(document.querySelector("#template-result")?.textContent ?? "").startsWith("sent ctl-")');
    const deadline = Date.now() + 10_000;
    while (controls.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(controls, [{ power_switch: 1, brightness: 70, color: 2 }]);

    // A malformed upload: refused with Tencent's code naming the field; the template stays.
    const bad = JSON.parse(readFileSync(TEMPLATE_FILE, "utf8"));
    bad.properties[1].define.mapping = {};
    const badFile = join(scratch.dir, "bad.json");
    writeFileSync(badFile, JSON.stringify(bad));
    // Typed by hand: the tests' tsconfig has no DOM types for ElementHandle<HTMLInputElement>.
    const chooser = (await page.$("#template-file")) as unknown as { uploadFile(...paths: string[]): Promise<void> };
    await chooser.uploadFile(badFile);
    await page.click('#template-upload button[type="submit"]');
    await page.waitForFunction('(document.querySelector("#template-result")?.textContent ?? "").includes("ModelDefinePropEnumMappingError")');
    assert.match(await page.$eval("#template-result", (node) => node.textContent ?? ""), /properties\[1\]\.define\.mapping/);
    const { Model } = await apiClient(apiTarget(platform)).DescribeModelDefinition({ ProductId: PRODUCT.productId });
    assert.equal(JSON.parse(Model!.ModelDefine!).properties[1].define.mapping["2"], "Blue", "the previous template stays");
    assert.deepEqual(problems.filter((problem) => !problem.includes("favicon")), []);
    await page.close();
  });
});
