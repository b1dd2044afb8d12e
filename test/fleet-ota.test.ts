/**
 * `explorer-xs fleet --ota VERSION` (simulator/fleet-ota.ts over simulator/fleet.ts): a small
 * fleet comes online on its factory image, a generated firmware is uploaded and rolled over it
 * with one BatchUpdateFirmware through the Cloud API; every device restarts into it and
 * confirms it. The summary's figures are checked against the platform's own: the version each
 * device reported, the bytes its object store served, the task's devices; an image too large
 * for the devices' slots shows as failures by the cause the devices reported. And the command
 * as a person runs it, piped: plain progress lines, the summary, --json, refused flags.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { startPlatform, type RunningPlatform } from "../simulator/platform/index";
import { deviceName, runFleet } from "../simulator/fleet";
import { rollout, type RolloutProgress } from "../simulator/fleet-ota";
import { callCloudApi } from "../simulator/cloud-api-client";
import { byteSize } from "../simulator/commands/fleet";
import { runProcess } from "./lib/run-process";

const PRODUCT = { productId: "FLEETOTA01", productSecret: "fleetOtaProductSecret3Wq7" };
const BIN = join(import.meta.dirname, "..", "simulator", "bin", "explorer-xs.js");
const COUNT = 20;

describe("fleet --ota: a rollout over a running fleet", function () {
  this.timeout(120_000);
  let platform: RunningPlatform;

  beforeEach(async () => {
    const devices = Array.from({ length: COUNT }, (_, index) => deviceName("ota", index));
    platform = await startPlatform({ memory: true, log: () => undefined, config: { products: [{ ...PRODUCT, dynamicRegistration: true, autoCreate: false, authType: "psk", devices }] } });
  });
  afterEach(async () => platform.close());

  function fleet(imageBytes: number, workers: number, progress: RolloutProgress[]) {
    return runFleet({
      count: COUNT, concurrency: 10, prefix: "ota", ...PRODUCT, workers,
      registerUrl: `${platform.httpUrl}/device/register`, mqttUrl: platform.mqttUrl,
      firmwareVersion: "1.0.0",
      whileOnline: rollout({
        call: (action, params) => callCloudApi({ url: platform.httpUrl, ...platform.apiCredentials }, action, params),
        productId: PRODUCT.productId, fromVersion: "1.0.0", version: "2.0.0", imageBytes, timeoutSeconds: 300, pollMs: 100,
        onProgress: (step) => progress.push(step),
      }),
    });
  }

  it(`updates ${COUNT} devices on two worker threads: every one reports the new version, and the bytes served are the platform's count`, async () => {
    const progress: RolloutProgress[] = [];
    const summary = await fleet(100 * 1024, 2, progress);
    assert.equal(summary.online, COUNT);
    const ota = summary.ota!;
    assert.deepEqual([ota.version, ota.fromVersion, ota.devices, ota.updated, ota.failed, ota.failuresByCause], ["2.0.0", "1.0.0", COUNT, COUNT, 0, {}]);
    for (let index = 0; index < COUNT; index++) {
      assert.equal(await platform.registry.firmware.reportedVersion(PRODUCT.productId, deviceName("ota", index)), "2.0.0", `ota-${index} runs the new image`);
    }
    assert.equal((await platform.registry.firmware.taskUpdates(ota.taskId)).length, COUNT, "one task for the whole fleet");
    assert.equal(ota.bytesServed, platform.objects.bytesServed, "what the devices received is what the object store sent");
    assert.ok(ota.bytesServed >= COUNT * 100 * 1024);
    const { p50, p95, p99, max } = ota.timeToUpdatedMs;
    assert.ok(p50 > 0 && p50 <= p95 && p95 <= p99 && p99 <= max && max <= ota.rolloutMs + 1000, JSON.stringify(ota));
    assert.deepEqual(progress.at(-1), { total: COUNT, ended: COUNT, updated: COUNT, failed: 0 });
    assert.ok(progress.every((step, i) => i === 0 || step.ended >= progress[i - 1].ended), "progress only moves forward");
  });

  it("an image larger than the devices' application slot: every device refuses it, counted by the cause it reported", async () => {
    const summary = await fleet(1600 * 1024 + 1, 0, []);
    assert.equal(summary.online, COUNT);
    assert.deepEqual([summary.ota!.updated, summary.ota!.failed, summary.ota!.failuresByCause], [0, COUNT, { "update-failed": COUNT }]);
    assert.equal(summary.ota!.bytesServed, 0, "refused before downloading");
    assert.equal(await platform.registry.firmware.reportedVersion(PRODUCT.productId, "ota-0"), "1.0.0");
  });
});

describe("fleet --ota: the command, piped", function () {
  this.timeout(120_000);

  it("prints plain progress lines on stderr and the rollout's summary; --json has it too", async () => {
    const result = await runProcess(process.execPath, [BIN, "fleet", "--count", "8", "--ota", "2.1.0", "--ota-size", "64K"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /^ota 2\.1\.0: 8\/8 ended, 8 updated, 0 failed$/m);
    assert.doesNotMatch(result.stderr, /\x1b\[/, "no terminal escapes when piped");
    assert.match(result.stdout, /^ota {14}1\.0\.0 -> 2\.1\.0 \(64 KiB, task 1\): 8 of 8 updated in \d+\.\d s$/m);
    assert.match(result.stdout, /^time to updated  p50 \d+(\.\d)? ms, p95 \d+(\.\d)? ms, p99 \d+(\.\d)? ms, max \d+(\.\d)? ms$/m);
    assert.match(result.stdout, /^ota failures     none$/m);
    assert.match(result.stdout, /^bytes served     0\.5 MB \(8 x 65536 B images = 0\.5 MB\)$/m);

    const json = await runProcess(process.execPath, [BIN, "fleet", "--count", "4", "--ota", "2.1.0", "--ota-size", "16K", "--firmware-version", "0.9", "--json"]);
    assert.equal(json.code, 0, json.stderr);
    const { ota } = JSON.parse(json.stdout);
    assert.deepEqual([ota.fromVersion, ota.version, ota.imageBytes, ota.devices, ota.updated, ota.failed], ["0.9", "2.1.0", 16384, 4, 4, 0]);
    assert.ok(ota.bytesServed >= 4 * 16384);
  });

  it("refuses flags that make no rollout, naming them", async () => {
    for (const [args, message] of [
      [["--ota", "1.0.0"], /--ota 1\.0\.0 is the version the devices run already/],
      [["--ota", "2 beta"], /--ota 2 beta is not a firmware version/],
      [["--ota", "2.0.0", "--ota-size", "2G"], /--ota-size.*expected a size of 1 byte to 1600K/],
      [["--ota", "2.0.0", "--ota-timeout", "60"], /--ota-timeout.*120-900 seconds/],
      [["--firmware-version", "1.0.0"], /--firmware-version goes with --ota VERSION/],
      [["--ota", "2.0.0", "--secret-id", "AKIDxxxxxxxx"], /--secret-id go with --platform URL/],
    ] as Array<[string[], RegExp]>) {
      const result = await runProcess(process.execPath, [BIN, "fleet", "--count", "2", ...args]);
      assert.equal(result.code, 2, args.join(" "));
      assert.match(result.stderr, message);
    }
  });

  it("against a remote platform without a key pair, names the ways fleet takes one (fleet has no --data)", async () => {
    const env = { ...process.env };
    delete env.TENCENTCLOUD_SECRET_ID;
    delete env.TENCENTCLOUD_SECRET_KEY;
    const result = await runProcess(process.execPath, [BIN, "fleet", "--count", "2", "--ota", "2.0.0", "--platform", "http://127.0.0.1:9", "--product-id", "ABCDEFGHIJ", "--product-secret", "0123456789abcdef0123"], { env });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /no Cloud API key pair: give --secret-id and --secret-key or TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY/);
    assert.doesNotMatch(result.stderr, /--data/);
  });

  it("takes sizes in bytes, K and M, up to an app slot", () => {
    assert.deepEqual(["4096", "300K", "1M", "1600K"].map(byteSize), [4096, 300 * 1024, 1024 * 1024, 1600 * 1024]);
    for (const bad of ["0", "1601K", "2M", "-1", "1.5M", "lots"]) assert.throws(() => byteSize(bad), /expected a size/);
  });
});
