/**
 * The `explorer-xs` commands as a person runs them: separate processes, real sockets, real files.
 */
import { strict as assert } from "node:assert";
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { runProcess } from "./lib/run-process";
import { startSilentBroker } from "./lib/silent-broker";
import { startPlatform, type RunningPlatform } from "../simulator/platform/index";

const BIN = join(import.meta.dirname, "..", "simulator", "bin", "explorer-xs.js");
const PRODUCT_ID = "CLIPRD0001";
const PRODUCT_SECRET = "cliProductSecretWq8Zr4Tt";
const FLEET_PRODUCT_ID = "CLIFLEET01";
const cli = (args: string[]) => runProcess(process.execPath, [BIN, ...args]);

describe("explorer-xs CLI", function () {
  this.timeout(60_000);
  let platform: RunningPlatform;
  let dir: string;
  let deviceInfoFile: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "exs-cli-"));
    platform = await startPlatform({
      memory: true,
      log: () => undefined,
      config: {
        products: [
          { productId: PRODUCT_ID, productSecret: PRODUCT_SECRET, dynamicRegistration: true, authType: "psk", devices: ["cli1", "cli2", "cli3", "cli4", "cli5"] },
          { productId: FLEET_PRODUCT_ID, productSecret: PRODUCT_SECRET, dynamicRegistration: true, autoCreate: true, authType: "psk", devices: [] },
        ],
      },
    });
    deviceInfoFile = join(dir, "device_info.json");
    writeFileSync(
      deviceInfoFile,
      JSON.stringify({ auth_mode: "KEY", productId: PRODUCT_ID, productSecret: PRODUCT_SECRET, deviceName: "cli1", key_deviceinfo: { deviceSecret: "YOUR_IOT_PSK" }, region: "china" }),
    );
  });

  after(async () => {
    await platform.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const endpoints = () => ["--platform", platform.httpUrl, "--mqtt", platform.mqttUrl];
  /** A factory-fresh device_info.json for `deviceName` of the test product; answers its path. */
  const writeDeviceInfo = (deviceName: string) => {
    const file = join(dir, `${deviceName}.json`);
    writeFileSync(file, JSON.stringify({ auth_mode: "KEY", productId: PRODUCT_ID, productSecret: PRODUCT_SECRET, deviceName }));
    return file;
  };

  it("device --once registers from device_info.json, then boots warm; flash show and export tell what it holds", async () => {
    const flash = join(dir, "cli1.flash");
    const cold = await cli(["device", "--flash", flash, "--device-info", deviceInfoFile, ...endpoints(), "--once"]);
    assert.equal(cold.code, 0, cold.stderr);
    assert.match(cold.stdout, /request signed/);
    assert.match(cold.stdout, /report acknowledged/);

    assert.match(cold.stdout, /report_info\s+firmware and module info sent/);
    assert.match(cold.stdout, /get_status\s+\d+ reported values? on the platform, no control pending/);

    // Control sent while the device is off reaches it at its next first online (get_status).
    await platform.thing.control(PRODUCT_ID, "cli1", { power_switch: 0 });
    const warm = await cli(["device", "--flash", flash, ...endpoints(), "--once"]);
    assert.equal(warm.code, 0, warm.stderr);
    assert.doesNotMatch(warm.stdout, /request signed|flash commit/);
    assert.match(warm.stdout, /control\s+\{"power_switch":0\}/);
    assert.match(warm.stdout, /pending control\s+\{"power_switch":0\} applied, cleared/);
    assert.match(warm.stdout, /platform time\s+device clock/);

    const psk = (await platform.registry.getDevice(PRODUCT_ID, "cli1"))!.psk!;
    const shown = await cli(["flash", "show", flash]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /slot A: valid, seq \d+/);
    assert.match(shown.stdout, /slot B: valid, seq \d+/);
    assert.ok(!shown.stdout.includes(psk) && !shown.stdout.includes(PRODUCT_SECRET), "flash show masks secrets");
    assert.ok(shown.stdout.includes(psk.slice(-4)), "flash show keeps the last 4 characters");
    assert.match(shown.stdout, new RegExp(`/cli1: auth psk, device secret \\*+${psk.slice(-4).replace(/[+/=]/g, "\\$&")}\n`), "one label per value");

    const out = join(dir, "exported.json");
    const exported = await cli(["flash", "export", flash, "--out", out]);
    assert.equal(exported.code, 0, exported.stderr);
    const file = JSON.parse(readFileSync(out, "utf8"));
    assert.equal(file.key_deviceinfo.deviceSecret, psk);
    assert.equal(file.deviceName, "cli1");
  });

  it("says so when the flash already holds another device than --device-info names (the flash wins, as on a board)", async () => {
    const flash = join(dir, "cli4.flash");
    const info = writeDeviceInfo("cli4");
    const first = await cli(["device", "--flash", flash, "--device-info", info, ...endpoints(), "--once"]);
    assert.equal(first.code, 0, first.stderr);
    assert.doesNotMatch(first.stderr, /note:/);
    const again = await cli(["device", "--flash", flash, "--device-info", info, ...endpoints(), "--once"]);
    assert.doesNotMatch(again.stderr, /note:/, "same device: nothing to say");
    const other = await cli(["device", "--flash", flash, "--device-info", deviceInfoFile, ...endpoints(), "--once"]);
    assert.equal(other.code, 0, other.stderr);
    assert.match(other.stderr, /note: .*cli4\.flash already holds CLIPRD0001\/cli4 and boots as it; --device-info \(CLIPRD0001\/cli1\) is read only from a factory-fresh flash: add --reset/);
    assert.match(other.stdout, /as CLIPRD0001cli4/);
  });

  it("a power cut at the first flash write halts the device with exit code 4, and the next boot recovers", async () => {
    const flash = join(dir, "cli2.flash");
    const info = writeDeviceInfo("cli2");
    const cut = await cli(["device", "--flash", flash, "--device-info", info, ...endpoints(), "--once", "--power-cut-at-write", "1"]);
    assert.equal(cut.code, 4, cut.stdout + cut.stderr);
    assert.match(cut.stderr, /power cut at flash write 1/);
    const again = await cli(["device", "--flash", flash, "--device-info", info, ...endpoints(), "--once"]);
    assert.equal(again.code, 0, again.stderr);
  });

  it("device stops cleanly on SIGINT while it is still backing off, with exit code 130", async () => {
    // Nothing listens on port 9 of loopback: registration keeps failing with a retryable error.
    const child = spawn(process.execPath, [BIN, "device", "--flash", join(dir, "ctrlc.flash"), "--device-info", deviceInfoFile, "--platform", "http://127.0.0.1:9", "--mqtt", "mqtt://127.0.0.1:9"], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    await new Promise<void>((resolve) => child.stdout.on("data", (chunk) => { stdout += chunk; if (/backoff/.test(stdout)) resolve(); }));
    child.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) => child.once("exit", (exitCode) => resolve(exitCode)));
    assert.equal(code, 130, stderr);
    assert.match(stderr, /device stopped by SIGINT before it came online/);
  });

  it("device --once against a platform that never answers the first-online sync: exit 5 naming the missing answers", async () => {
    const flash = join(dir, "silent.flash");
    const info = writeDeviceInfo("cli5");
    const registered = await cli(["device", "--flash", flash, "--device-info", info, ...endpoints(), "--once"]);
    assert.equal(registered.code, 0, registered.stderr);
    const silent = await startSilentBroker();
    try {
      const run = await cli(["device", "--flash", flash, "--platform", platform.httpUrl, "--mqtt", silent.url, "--once"]);
      assert.equal(run.code, 5, run.stdout + run.stderr);
      assert.match(run.stdout, /report acknowledged/);
      assert.match(run.stdout, /sync missing\s+never answered: report_info_reply, get_status_reply, \$sys time/);
      assert.match(run.stderr, /online, but the first-online sync is incomplete: no report_info_reply, get_status_reply, \$sys time from the platform/);
      // All three went out before the one timeout ran out (in series, only report_info would have).
      assert.deepEqual(silent.requests.filter((r) => r !== "report").sort(), ["get", "get_status", "report_info"]);
    } finally {
      await silent.stop();
    }
  });

  it("names the fatal state and exits 3 for a device the platform does not know", async () => {
    const info = writeDeviceInfo("ghost");
    const result = await cli(["device", "--flash", join(dir, "ghost.flash"), "--device-info", info, ...endpoints(), "--once"]);
    assert.equal(result.code, 3);
    assert.match(result.stderr, /device failed: device-unknown: /);
    // The state's name is longer than the timeline's label column: a space still separates them.
    assert.match(result.stdout, /failed:device-unknown device CLIPRD0001\/ghost is not pre-created/);
    assert.doesNotMatch(result.stdout, / +\n/, "no trailing blanks");
  });

  it("rejects bad input with a clear message, exit code 2 and no stack trace or help dump", async () => {
    const badInfo = join(dir, "bad.json");
    writeFileSync(badInfo, JSON.stringify({ auth_mode: "KEY", productId: "TOO-LONG-PRODUCT-ID", productSecret: PRODUCT_SECRET, deviceName: "x" }));
    const truncatedInfo = join(dir, "truncated.json");
    writeFileSync(truncatedInfo, '{"auth_mode":"KEY","productId":');
    const certInfo = join(dir, "cert-info.json");
    writeFileSync(certInfo, JSON.stringify({ auth_mode: "CERT", productId: PRODUCT_ID, productSecret: PRODUCT_SECRET, deviceName: "cam", cert_deviceinfo: { devCertFile: join(dir, "no-such.crt"), devPrivateKeyFile: join(dir, "no-such.key") } }));
    const cases: Array<[string[], RegExp]> = [
      [["device", "--flash", join(dir, "none.flash"), ...endpoints()], /has no identity to boot with/],
      [["device", "--flash", join(dir, "x.flash"), "--device-info", badInfo, ...endpoints()], /productId/],
      [["device", "--flash", join(dir, "x.flash"), "--device-info", deviceInfoFile, "--platform", "ftp://x"], /--platform must be http/],
      [["device", "--flash", join(dir, "x.flash"), "--power-cut-at-write", "zero"], /whole number/],
      [["device", "--flash", join(dir, "x.flash"), "--device-info", join(dir, "no-such.json"), ...endpoints()], /--device-info .*no-such\.json: cannot read it \(no such file\)/],
      [["device", "--flash", join(dir, "x.flash"), "--device-info", dir, ...endpoints()], /--device-info .*: cannot read it \(it is a folder/],
      [["device", "--flash", join(dir, "x.flash"), "--device-info", truncatedInfo, ...endpoints()], /truncated\.json is not valid JSON/],
      [["device", "--flash", join(dir, "x.flash"), "--device-info", certInfo, ...endpoints()], /cert_deviceinfo\.devCertFile names .*no-such\.crt, which cannot be read \(no such file\)/],
      [["device", "--flash", join(dir, "x.flash"), "--device-info", deviceInfoFile, "--drop-network-for", "500", ...endpoints()], /--drop-network-for .*give --drop-network-after too/],
      [["device", "--flash", join(dir, "x.flash"), "--no-such-flag"], /unknown option '--no-such-flag'\n\(explorer-xs device --help lists the options\)/],
      [["device"], /required option '--flash <file>' not specified/],
      [["flash", "show", join(dir, "missing.flash")], /does not exist/],
      [["flash", "export", join(dir, "missing.flash")], /does not exist/],
      [["factory", "--csv", "--devices", join(dir, "no-such-list.txt")], /--devices .*: cannot read it \(no such file\)/],
      [["fleet", "--count", "-3"], /whole number/],
      [["fleet", "--count", "3", "--platform", "http://127.0.0.1:9"], /--platform needs --product-id and --product-secret/],
      [["fleet", "--count", "3", "--mqtt", "mqtt://127.0.0.1:9", "--product-id", PRODUCT_ID], /--mqtt, --product-id go with --platform URL/],
      [["fleet", "--count", "3", "--auto-create", "--platform", "http://127.0.0.1:9", "--product-id", PRODUCT_ID, "--product-secret", PRODUCT_SECRET], /--auto-create is for the fleet's own platform/],
      [["no-such-command"], /unknown command 'no-such-command'/],
    ];
    for (const [args, message] of cases) {
      const result = await cli(args);
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message, args.join(" "));
      assert.doesNotMatch(result.stderr, /\n\s+at .+:\d+:\d+/, `no stack trace for ${args.join(" ")}`);
      assert.doesNotMatch(result.stderr, /^Commands:|^Options:/m, `one line of help at most for ${args.join(" ")}`);
    }
  });

  it("--version prints the package's version; --help exits 0", async () => {
    const version = await cli(["--version"]);
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout.trim(), JSON.parse(readFileSync(join(import.meta.dirname, "..", "package.json"), "utf8")).version);
    const help = await cli(["device", "--help"]);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /2 bad input/);
  });

  it("flash export --out replaces an existing world-readable file with one only its owner can read", async () => {
    const flash = join(dir, "export.flash");
    const info = writeDeviceInfo("cli3");
    const booted = await cli(["device", "--flash", flash, "--device-info", info, ...endpoints(), "--once"]);
    assert.equal(booted.code, 0, booted.stderr);
    const out = join(dir, "shared.json");
    writeFileSync(out, "{}", { mode: 0o644 });
    chmodSync(out, 0o644);
    const exported = await cli(["flash", "export", flash, "--out", out]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.equal(statSync(out).mode & 0o777, 0o600, "the secrets are not left world-readable");
    assert.equal(JSON.parse(readFileSync(out, "utf8")).deviceName, "cli3");
    assert.deepEqual(readdirSync(dir).filter((name) => name.endsWith(".tmp")), [], "no temporary file left behind");
  });

  it("fleet --json boots a few devices against its own platform process and summarises them", async () => {
    const result = await cli(["fleet", "--count", "5", "--concurrency", "5", "--json"]);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout);
    assert.equal(summary.online, 5);
    assert.equal(summary.failed, 0);
    assert.equal(summary.flashWritesPerDevice.max, 2);
    assert.ok(summary.timeToOnlineMs.p50 > 0);
  });

  it("fleet --workers 3 spreads the devices over three threads: one summary for all, each device once", async () => {
    const result = await cli(["fleet", "--count", "7", "--concurrency", "6", "--workers", "3", "--prefix", "spread", "--json"]);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout);
    assert.equal(summary.workers, 3);
    assert.equal(summary.count, 7);
    assert.equal(summary.online, 7, JSON.stringify(summary.failuresByCause));
    assert.equal(summary.failed, 0);
    assert.equal(summary.flashWritesPerDevice.max, 2);
    assert.ok(summary.peakRssMb > 0 && summary.platformPeakRssMb > 0, "both processes' peak RSS are reported");
  });

  it("fleet stops on SIGINT with exit code 130, says how far it got, and stops the platform it started", async () => {
    const flashDir = join(dir, "fleet-interrupted");
    const child = spawn(process.execPath, [BIN, "fleet", "--count", "5000", "--concurrency", "20", "--prefix", "stopped", "--flash-dir", flashDir], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    // The first flash file means the devices are booting: the platform child is up by then.
    while (!(readdirSyncSafe(flashDir).some((name) => name.endsWith(".flash")))) await new Promise((resolve) => setTimeout(resolve, 50));
    // The command runs again under node with the fleet's GC options: the platform is a grandchild.
    const platformPids = descendantPids(child.pid!).filter((pid) => commandLine(pid).includes(" platform "));
    assert.equal(platformPids.length, 1, "the fleet's own platform process");
    child.kill("SIGINT");
    assert.equal(await exited, 130, stderr);
    assert.match(stderr, /fleet stopped by SIGINT: \d+ of 5000 devices booted, \d+ online/);
    assert.throws(() => process.kill(platformPids[0], 0), /ESRCH/, "the platform process was stopped with the fleet");
  });

  it("fleet against a running platform: a second run with the same names says none came online and why", async () => {
    const args = ["fleet", "--count", "2", "--concurrency", "2", "--workers", "0", "--prefix", "again", "--platform", platform.httpUrl, "--mqtt", platform.mqttUrl, "--product-id", FLEET_PRODUCT_ID, "--product-secret", PRODUCT_SECRET];
    const first = await cli(args);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /time to online\s+p50 \d/);
    const second = await cli(args);
    assert.equal(second.code, 3, second.stderr);
    assert.match(second.stdout, /failed\s+2\s+\{"device-activated":2\}/);
    assert.match(second.stdout, /time to online\s+none came online\n/, "no percentiles of nothing");
    assert.match(second.stdout, /hint\s+device-activated: these names registered before; use another --prefix/);
  });

  it("fleet --flash-dir keeps one flash file per device, each readable by flash show", async () => {
    const flashDir = join(dir, "fleet-flash");
    const result = await cli(["fleet", "--count", "3", "--concurrency", "3", "--prefix", "kept", "--flash-dir", flashDir, "--json"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).online, 3);
    assert.deepEqual(readdirSync(flashDir).filter((name) => name.endsWith(".flash")).sort(), ["kept-0.flash", "kept-1.flash", "kept-2.flash"]);
    const shown = await cli(["flash", "show", join(flashDir, "kept-1.flash")]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /record ok/);
    assert.match(shown.stdout, /\/kept-1: auth psk, device secret \*+/);
  });
});

function readdirSyncSafe(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** The processes a process started (Linux: /proc/<pid>/task/<tid>/children). */
function childPids(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) => readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number));
}

function descendantPids(pid: number): number[] {
  return childPids(pid).flatMap((child) => [child, ...descendantPids(child)]);
}

function commandLine(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
}
