/**
 * `explorer-xs ota upload` and `ota update`, run as a person runs them (a separate process),
 * against a platform and a simulated device with application slots in this process: the device
 * ends on the uploaded version, and the commands' refusals are one line with exit code 2.
 */
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NodeApplicationSlots } from "../hal/node/app-slots";
import { createMemoryLogger } from "../hal/node/logger";
import { startPlatform, type RunningPlatform } from "../simulator/platform/index";
import { startSimDevice, type SimDevice } from "../simulator/sim-device";
import { TENCENT_ANCHOR_FILES } from "../simulator/trust-anchors";
import { runProcess } from "./lib/run-process";

const BIN = join(import.meta.dirname, "..", "simulator", "bin", "explorer-xs.js");
const PRODUCT_ID = "CLIOTA0001";
const PRODUCT_SECRET = "cliOtaProductSecret7Hq2Lm";

describe("explorer-xs ota (a separate process)", function () {
  this.timeout(60_000);
  let platform: RunningPlatform;
  let dir: string;
  let device: SimDevice | undefined;
  let stopped = false;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "exs-cli-ota-"));
    platform = await startPlatform({
      memory: true,
      config: { products: [{ productId: PRODUCT_ID, productSecret: PRODUCT_SECRET, dynamicRegistration: true, autoCreate: false, authType: "psk", devices: ["dev1", "dev2"] }] },
    });
    stopped = false;
  });
  afterEach(async () => {
    stopped = true;
    await device?.close();
    await platform.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const api = () => ["--platform", platform.httpUrl, "--product-id", PRODUCT_ID, "--secret-id", platform.apiCredentials.secretId, "--secret-key", platform.apiCredentials.secretKey];
  const cli = (args: string[]) => runProcess(process.execPath, [BIN, ...args]);

  /** A board that reboots in place when its firmware asks to restart. */
  function powerOn(slots: NodeApplicationSlots): void {
    slots.boot();
    device = startSimDevice({
      flashFile: join(dir, "dev1.flash"),
      registerUrl: `${platform.httpUrl}/device/register`,
      mqttUrl: platform.mqttUrl,
      factoryInfo: { productId: PRODUCT_ID, productSecret: PRODUCT_SECRET, deviceName: "dev1", authMode: "psk" },
      logger: createMemoryLogger(),
      slots,
      boot: {
        ota: {
          restart: () => {
            const old = device!;
            void old.close().then(() => { if (!stopped) powerOn(slots); });
          },
        },
      },
    });
  }

  it("ota upload then ota update --device --wait: the device downloads, restarts into the new slot and is done", async () => {
    const slots = new NodeApplicationSlots({ factoryVersion: "1.0.0" });
    powerOn(slots);
    await device!.task.online;
    for (let i = 0; i < 100 && await platform.registry.firmware.reportedVersion(PRODUCT_ID, "dev1") === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    const file = join(dir, "fw-2.0.0.bin");
    writeFileSync(file, randomBytes(300 * 1024));
    const upload = await cli(["ota", "upload", ...api(), "--version", "2.0.0", "--file", file]);
    assert.equal(upload.code, 0, upload.stderr);
    assert.match(upload.stdout, /^uploaded CLIOTA0001 2\.0\.0: 307200 bytes, md5 [0-9a-f]{32}\n$/);
    const update = await cli(["ota", "update", ...api(), "--version", "2.0.0", "--device", "dev1", "--wait"]);
    assert.equal(update.code, 0, update.stderr);
    assert.match(update.stdout, /from 1\.0\.0 to 2\.0\.0 started\n.*dev1: done \(status 6, 100 %\)\n$/s);
    assert.equal(slots.runningVersion(), "2.0.0");
    assert.equal(await platform.registry.firmware.reportedVersion(PRODUCT_ID, "dev1"), "2.0.0");
  });

  it("explorer-xs device --firmware-version updates itself in place, and flash show lists its slots", async () => {
    const info = join(dir, "device_info.json");
    writeFileSync(info, JSON.stringify({ auth_mode: "KEY", productId: PRODUCT_ID, productSecret: PRODUCT_SECRET, deviceName: "dev2", key_deviceinfo: { deviceSecret: "" }, region: "china" }));
    const flash = join(dir, "dev2.flash");
    const child = spawn(process.execPath, [BIN, "device", "--flash", flash, "--device-info", info, "--platform", platform.httpUrl, "--mqtt", platform.mqttUrl, "--firmware-version", "1.0.0"], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    try {
      for (let i = 0; i < 500 && await platform.registry.firmware.reportedVersion(PRODUCT_ID, "dev2") !== "1.0.0"; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      const file = join(dir, "fw.bin");
      writeFileSync(file, randomBytes(100 * 1024));
      assert.equal((await cli(["ota", "upload", ...api(), "--version", "1.1.0", "--file", file])).code, 0);
      const update = await cli(["ota", "update", ...api(), "--version", "1.1.0", "--device", "dev2", "--wait"]);
      assert.equal(update.code, 0, update.stderr + stdout);
      assert.match(stdout, /restart .*booting 1\.1\.0 on trial/);
    } finally {
      child.kill("SIGINT");
    }
    assert.equal(await exited, 0);
    const shown = await cli(["flash", "show", flash]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /application slots: app1 boots/);
    assert.match(shown.stdout, /app1: running 1\.1\.0, 102400\/102400 B/);
    assert.match(shown.stdout, /app0: previous 1\.0\.0/);
    // The NVS record is still there beside the slots, sealed.
    assert.match(shown.stdout, /record ok/);
    assert.equal(readFileSync(flash, "utf8").includes((await platform.registry.getDevice(PRODUCT_ID, "dev2"))!.psk!), false, "the secret is sealed, not in clear");
  });

  it("device --mqtt-ca: a restart into the new image boots with the anchors read at start, though the file is gone since", async () => {
    const info = join(dir, "device_info.json");
    writeFileSync(info, JSON.stringify({ auth_mode: "KEY", productId: PRODUCT_ID, productSecret: PRODUCT_SECRET, deviceName: "dev2", key_deviceinfo: { deviceSecret: "" }, region: "china" }));
    const ca = join(dir, "ca.pem");
    copyFileSync(TENCENT_ANCHOR_FILES.mqtt, ca);
    const child = spawn(process.execPath, [BIN, "device", "--flash", join(dir, "dev2.flash"), "--device-info", info, "--platform", platform.httpUrl, "--mqtt", platform.mqttUrl,
      "--mqtt-ca", ca, "--firmware-version", "1.0.0"], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    let exitCode: number | null | undefined;
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve((exitCode = code))));
    try {
      for (let i = 0; i < 500 && await platform.registry.firmware.reportedVersion(PRODUCT_ID, "dev2") !== "1.0.0"; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      rmSync(ca);
      const file = join(dir, "fw3.bin");
      writeFileSync(file, randomBytes(10 * 1024));
      assert.equal((await cli(["ota", "upload", ...api(), "--version", "1.3.0", "--file", file])).code, 0);
      const update = await cli(["ota", "update", ...api(), "--version", "1.3.0", "--device", "dev2"]);
      assert.equal(update.code, 0, update.stderr + output);
      for (let i = 0; i < 750 && exitCode === undefined && !/online .*running 1\.3\.0/.test(output); i++) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(exitCode, undefined, `the device exited: ${output}`);
      assert.match(output, /restart .*booting 1\.3\.0 on trial/);
      assert.match(output, /online .*running 1\.3\.0/);
    } finally {
      child.kill("SIGINT");
    }
    assert.equal(await exited, 0, output);
  });

  it("refusals: one line naming the problem, exit code 2", async () => {
    const missing = await cli(["ota", "upload", ...api(), "--version", "2.0.0", "--file", join(dir, "nope.bin")]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--file .*nope\.bin/);
    const file = join(dir, "fw.bin");
    writeFileSync(file, randomBytes(100));
    const badKey = await cli(["ota", "upload", "--platform", platform.httpUrl, "--product-id", PRODUCT_ID, "--secret-id", platform.apiCredentials.secretId, "--secret-key", "wrongwrongwrongwrong", "--version", "2.0.0", "--file", file]);
    assert.equal(badKey.code, 2);
    assert.match(badKey.stderr, /GetCOSURL refused: AuthFailure\.SignatureFailure/);
    const noDevices = await cli(["ota", "update", ...api(), "--version", "2.0.0"]);
    assert.equal(noDevices.code, 2);
    assert.match(noDevices.stderr, /--device NAME, --devices A,B or --from VERSION/);
    const unknown = await cli(["ota", "update", ...api(), "--version", "9.9.9", "--devices", "dev1,dev2"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /BatchUpdateFirmware refused: ResourceNotFound\.FirmwareNotExist/);
    assert.equal((missing.stderr + badKey.stderr + noDevices.stderr + unknown.stderr).includes("    at "), false, "no stack trace");
  });
});
