/**
 * `explorer-xs device` and `fleet` with `--template`: plausible, seeded values for every property,
 * accepted by a platform that checks reports against the same template (a refused report would
 * fail the device: the firmware treats a report_reply code other than 0 as an error).
 */
import { strict as assert } from "node:assert";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runProcess } from "./lib/run-process";
import { startPlatform, type RunningPlatform } from "../simulator/platform/index";
import { parseTemplate } from "../simulator/platform/thing-model/template";
import { plausibleReport } from "../simulator/template-values";
import { tempDir } from "./platform-helpers";

const BIN = join(__dirname, "..", "simulator", "bin", "explorer-xs.js");
const TEMPLATE_FILE = join(__dirname, "fixtures", "light-template.json");
const PRODUCT = { productId: "TPLCLI0001", productSecret: "tplCliProductSecretWq8Zr4" };
const cli = (args: string[]) => runProcess(process.execPath, [BIN, ...args]);

describe("explorer-xs device and fleet --template", function () {
  this.timeout(90_000);
  let platform: RunningPlatform;
  const scratch = tempDir("cli-tpl-");
  const template = JSON.parse(readFileSync(TEMPLATE_FILE, "utf8"));

  before(async () => {
    platform = await startPlatform({
      memory: true,
      log: () => undefined,
      config: { products: [{ ...PRODUCT, dynamicRegistration: true, authType: "psk", devices: ["lamp-a", "lamp-b"], dataTemplate: template }] },
    });
  });
  after(async () => {
    await platform.close();
    scratch.remove();
  });

  const deviceInfo = (deviceName: string) => {
    const file = join(scratch.dir, `${deviceName}.json`);
    writeFileSync(file, JSON.stringify({ auth_mode: "KEY", ...PRODUCT, deviceName }));
    return file;
  };

  it("device --template reports every property with values seeded by its name, which the platform accepts", async () => {
    const result = await cli(["device", "--flash", join(scratch.dir, "lamp-a.flash"), "--device-info", deviceInfo("lamp-a"), "--platform", platform.httpUrl, "--mqtt", platform.mqttUrl, "--template", TEMPLATE_FILE, "--once"]);
    assert.equal(result.code, 0, result.stderr);
    const reported = Object.fromEntries(Object.entries(await platform.thing.latestReported(PRODUCT.productId, "lamp-a")).map(([name, entry]) => [name, entry.value]));
    assert.deepEqual(reported, plausibleReport(parseTemplate(template), "lamp-a"));
  });

  it("device --template refuses a malformed template with exit code 2 naming the field", async () => {
    const bad = JSON.parse(JSON.stringify(template));
    bad.events[0].type = "notice";
    const file = join(scratch.dir, "bad.json");
    writeFileSync(file, JSON.stringify(bad));
    const result = await cli(["device", "--flash", join(scratch.dir, "lamp-b.flash"), "--device-info", deviceInfo("lamp-b"), "--platform", platform.httpUrl, "--mqtt", platform.mqttUrl, "--template", file, "--once"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--template .*bad\.json: events\[0\]\.type: must be info, alert or fault \(InvalidParameterValue\.ModelDefineEventTypeError\)/);
  });

  it("fleet --template: every device comes online on the fleet's own platform, which checks their reports against the template", async () => {
    const result = await cli(["fleet", "--count", "12", "--workers", "1", "--concurrency", "6", "--template", TEMPLATE_FILE, "--json", "--no-progress"]);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout);
    assert.deepEqual([summary.count, summary.online, summary.failed], [12, 12, 0]);
  });
});
