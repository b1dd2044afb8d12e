/**
 * The web console in a real browser (Debian's chromium, headless, through puppeteer-core):
 * sign in with the key pair -> create a device -> a simulated device registers and turns online
 * on the page -> send control -> the device's reply shows. And the one-time link signs in once.
 */
import { strict as assert } from "node:assert";
import type { Page } from "puppeteer-core";
import { startPlatform, type RunningPlatform } from "../simulator/platform/index";
import { startSimDevice, type SimDevice } from "../simulator/sim-device";
import { createMemoryLogger } from "../hal/node/logger";
import { chromiumOrSkip, launchChromium, type LaunchedBrowser } from "./lib/chromium";
import { callCloudApi, CloudApiCallError } from "../simulator/cloud-api-client";

const PRODUCT = { productId: "WEBPRD0001", productSecret: "webProductSecret5Tq8Lm2Zx" };

describe("web console in chromium", function () {
  this.timeout(90_000);
  let platform: RunningPlatform;
  let chromium: LaunchedBrowser;
  const devices: SimDevice[] = [];

  before(async function () {
    chromiumOrSkip(this);
    platform = await startPlatform({
      memory: true,
      log: () => undefined,
      config: { products: [{ ...PRODUCT, dynamicRegistration: true, autoCreate: false, authType: "psk", devices: [] }] },
    });
    chromium = await launchChromium();
  });

  after(async () => {
    for (const device of devices.splice(0)) await device.close();
    await chromium?.close();
    await platform?.close();
  });

  async function openConsole(url: string): Promise<Page> {
    const page = await chromium.browser.newPage();
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(String(error)));
    page.on("requestfailed", (request) => {
      if (!request.url().startsWith(platform.httpUrl)) problems.push(`left the platform: ${request.url()}`);
    });
    page.on("request", (request) => {
      if (!request.url().startsWith(platform.httpUrl) && !request.url().startsWith("data:")) problems.push(`requested ${request.url()}`);
    });
    // A 404 (the browser's own /favicon.ico, a missing script) is an error in the page's console too.
    page.on("response", (response) => {
      if (response.status() >= 400) problems.push(`HTTP ${response.status()} for ${response.url()}`);
    });
    (page as Page & { problems: string[] }).problems = problems;
    await page.goto(url, { waitUntil: "load" });
    return page;
  }

  function problemsOf(page: Page): string[] {
    return (page as Page & { problems: string[] }).problems;
  }

  async function text(page: Page, selector: string): Promise<string> {
    return page.$eval(selector, (node) => node.textContent ?? "");
  }

  it("signs in, creates a device, sees it register and come online, sends control and shows the reply; a disabled device is refused with its reason", async () => {
    const page = await openConsole(platform.consoleUrl);
    await page.waitForSelector("#sign-in:not([hidden])");
    await page.type("#secret-id", platform.apiCredentials.secretId);
    await page.type("#secret-key", platform.apiCredentials.secretKey);
    await page.click("#sign-in-form button[type=submit]");
    await page.waitForSelector(`#products tr[data-product="${PRODUCT.productId}"]`);
    assert.match(await text(page, "#status"), /signed in as AKID/);

    await page.type("#new-device input[name=name]", "web-dev-1");
    await page.click("#new-device button[type=submit]");
    await page.waitForSelector('#devices tr[data-device="web-dev-1"][data-state="created"][data-online="false"]');

    const controls: Array<Record<string, unknown>> = [];
    const device = startSimDevice({
      registerUrl: `${platform.httpUrl}/device/register`,
      mqttUrl: platform.mqttUrl,
      factoryInfo: { ...PRODUCT, deviceName: "web-dev-1", authMode: "psk" },
      logger: createMemoryLogger(),
      boot: { backoff: { baseMs: 20, capMs: 200, maxAttempts: 5 }, onControl: (params) => controls.push(params), initialReport: { power_switch: 0 } },
    });
    devices.push(device);
    await device.task.online;
    await page.waitForSelector('#devices tr[data-device="web-dev-1"][data-online="true"][data-state="activated"]', { timeout: 20_000 });
    await page.waitForSelector('#events li[data-kind="register"]');
    await page.waitForSelector('#events li[data-kind="login"]');

    await page.click('#devices tr[data-device="web-dev-1"] button');
    await page.waitForSelector("#detail:not([hidden])");
    assert.match(await text(page, "#detail-name"), /WEBPRD0001\/web-dev-1/);
    await page.waitForSelector('#reported tr[data-property="power_switch"]');
    assert.match(await text(page, '#reported tr[data-property="power_switch"]'), /power_switch\s*0/);
    await page.$eval("#control-params", (node) => { (node as unknown as { value: string }).value = '{"power_switch": 1}'; });
    await page.click("#control-form button[type=submit]");
    await page.waitForSelector("#control-result[data-token]");
    const token = await page.$eval("#control-result", (node) => node.getAttribute("data-token") ?? "");
    assert.match(token, /^ctl-/);
    await page.waitForSelector(`#control-result[data-replied="${token}"]`, { timeout: 20_000 });
    assert.match(await text(page, "#control-result"), /code 0/);
    assert.deepEqual(controls, [{ power_switch: 1 }]);
    assert.ok(Number(await text(page, "#online-count")) >= 1);

    const body = await page.$eval("body", (node) => node.textContent ?? "");
    assert.ok(!body.includes(platform.apiCredentials.secretKey), "the SecretKey is never rendered");
    assert.ok(!body.includes(PRODUCT.productSecret), "the ProductSecret is shown only on request");
    await page.click("#product-secret-toggle");
    assert.equal(await text(page, "#product-secret-value"), PRODUCT.productSecret);

    // Disabling the device closes its session; its reconnect is refused, with the reason on the page.
    page.on("dialog", (dialog) => void dialog.accept());
    await page.$eval('#devices tr[data-device="web-dev-1"] td.actions button:nth-child(2)', (node) => (node as unknown as { click(): void }).click());
    await page.waitForSelector('#devices tr[data-device="web-dev-1"][data-state="disabled"][data-online="false"]', { timeout: 20_000 });
    await page.waitForFunction('[...document.querySelectorAll("#events li.refused")].some((li) => li.textContent.includes("device is disabled"))', { timeout: 20_000 });
    assert.deepEqual(problemsOf(page), [], "no script error, no failed load, nothing loaded from outside the platform");
    await page.close();
  });

  it("signs in with a one-time link, which then works no more", async () => {
    const link = platform.consoleLoginUrl();
    const page = await openConsole(link);
    await page.waitForSelector(`#products tr[data-product="${PRODUCT.productId}"]`);
    assert.match(await text(page, "#status"), /one-time link session/);
    assert.equal(new URL(page.url()).hash, "", "the spent token leaves the address bar");
    await page.close();
    const again = await openConsole(link);
    await again.waitForSelector("#sign-in:not([hidden])");
    await again.waitForFunction('(document.querySelector("#sign-in-error")?.textContent ?? "").includes("used already")');
    await again.close();
  });

  it("signs every call over its action and timestamp, and sign-out revokes the one-time link's key on the platform", async () => {
    const tab = await chromium.browser.newPage();
    const signed: Array<{ path: string; signedHeaders: string }> = [];
    tab.on("request", (request) => {
      const authorization = request.headers().authorization;
      if (authorization) signed.push({ path: new URL(request.url()).pathname, signedHeaders: /SignedHeaders=([^,]+)/.exec(authorization)?.[1] ?? "" });
    });
    await tab.goto(platform.consoleLoginUrl(), { waitUntil: "load" });
    await tab.waitForSelector(`#products tr[data-product="${PRODUCT.productId}"]`);
    for (let i = 0; !signed.some((call) => call.path === "/console/events"); i++) {
      if (i > 200) assert.fail("the console opened no event stream");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const stored = JSON.parse(String(await tab.evaluate('sessionStorage.getItem("explorer-xs-console")'))) as { secretId: string; secretKey: string; token: string };
    assert.match(stored.secretId, /^AKIDtmp/);
    assert.ok(signed.some((call) => call.path === "/"), "the console made Cloud API calls");
    for (const call of signed) {
      assert.equal(call.signedHeaders, call.path === "/" ? "content-type;host;x-tc-action;x-tc-timestamp" : "content-type;host;x-tc-timestamp", call.path);
    }

    const describe = () => callCloudApi({ url: platform.httpUrl, ...stored }, "GetStudioProductList", {});
    await describe(); // the session's key works while signed in
    await tab.click("#sign-out");
    await tab.waitForSelector("#sign-in:not([hidden])");
    assert.equal(await tab.evaluate("sessionStorage.length"), 0);
    await assert.rejects(describe(), (error: unknown) => error instanceof CloudApiCallError && error.code === "AuthFailure.SecretIdNotFound",
      "revoked on the platform, not only forgotten by the page");
    await tab.close();
  });
});
