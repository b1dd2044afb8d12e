/**
 * Every long-running command once in a pseudo-terminal, the way a person runs them: the built
 * CLI on a TTY (progress bars draw there and nowhere else), Ctrl-C typed into the terminal.
 * Assertions are on what the screen shows and on the exit code (README, "Exit codes").
 */
import { strict as assert } from "node:assert";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runInTerminal, startInTerminal, STACK_TRACE, type TerminalSession } from "./lib/terminal";

const ROOT = join(import.meta.dirname, "..");
const PRODUCTS = join(ROOT, "simulator", "platform", "products.example.json");
const DEVICE_INFO = join(ROOT, "simulator", "device_info.example.json");

/** Generous: the machine running the tests may be shared; a bound, not a speed goal. */
const COMMAND_TIMEOUT_MS = 120_000;
/** How long a command may take to stop after Ctrl-C before the test fails with its screen. */
const STOP_TIMEOUT_MS = 30_000;

describe("terminal: the long-running commands in a pseudo-terminal", function () {
  this.timeout(COMMAND_TIMEOUT_MS + 30_000);
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "exs-terminal-"));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it("fleet --count 20 draws its progress bar, prints the summary and exits 0", async () => {
    const run = await runInTerminal(["fleet", "--count", "20"], { cwd: dir, timeoutMs: COMMAND_TIMEOUT_MS });
    assert.doesNotMatch(run.text, STACK_TRACE);
    assert.equal(run.exitCode, 0, run.text);
    // cli-progress's shades_classic bar, drawn on the terminal, its last frame full.
    assert.match(run.text, /fleet \[[█░]{40}\] \d+\/20 booted/);
    assert.match(run.text, /fleet \[█{40}\] 20\/20 booted, 20 online, 0s left/);
    assert.match(run.text, /^devices\s+20\s*$/m);
    assert.match(run.text, /^online\s+20\s*$/m);
    assert.match(run.text, /^failed\s+0\s*$/m);
    assert.match(run.text, /^time to online\s+p50 [\d.]+ ms, p95 [\d.]+ ms, p99/m);
  });

  it("fleet --count 20 --ota 2.0.0 draws the boot's bar, then one bar for the rollout, and prints the rollout's summary, exit 0", async () => {
    const run = await runInTerminal(["fleet", "--count", "20", "--ota", "2.0.0"], { cwd: dir, timeoutMs: COMMAND_TIMEOUT_MS });
    assert.doesNotMatch(run.text, STACK_TRACE);
    assert.equal(run.exitCode, 0, run.text);
    assert.match(run.text, /fleet \[█{40}\] 20\/20 booted, 20 online/);
    // The rollout's bar, drawn on the terminal: its last frame full, every device ended and updated.
    assert.match(run.text, /ota 2\.0\.0 \[[█░]{40}\] \d+\/20 ended/);
    assert.match(run.text, /ota 2\.0\.0 \[█{40}\] 20\/20 ended, 20 updated, 0 failed/);
    assert.doesNotMatch(run.text, /^ota 2\.0\.0: /m, "no plain progress lines on a terminal");
    assert.match(run.text, /^ota\s+1\.0\.0 -> 2\.0\.0 \(300 KiB, task 1\): 20 of 20 updated in [\d.]+ s\s*$/m);
    assert.match(run.text, /^time to updated\s+p50 [\d.]+ ms, p95 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms\s*$/m);
    assert.match(run.text, /^ota failures\s+none\s*$/m);
    assert.match(run.text, /^bytes served\s+6\.\d MB \(20 x 307200 B images = 6\.1 MB\)\s*$/m);
  });

  it("demo tells both boots and ends with its summary, exit 0", async () => {
    const run = await runInTerminal(["demo", "--flash", join(dir, "demo.flash")], { cwd: dir, timeoutMs: COMMAND_TIMEOUT_MS });
    assert.doesNotMatch(run.text, STACK_TRACE);
    assert.equal(run.exitCode, 0, run.text);
    assert.match(run.text, /^mock platform: http:\/\/127\.0\.0\.1:\d+ /m);
    assert.match(run.text, /^Boot 1: factory-fresh flash/m);
    assert.match(run.text, /secret stored\s+PSK \*+/);
    assert.match(run.text, /^Boot 2: reboot with the secret in flash/m);
    assert.match(run.text, /^Summary: cold boot 1 registration request, .* OK\s*$/m);
  });

  it("demo --keep-platform keeps the platform for the console until Ctrl-C, then exits 0", async () => {
    const demo = startInTerminal(["demo", "--keep-platform", "--flash", join(dir, "kept.flash")], { cwd: dir });
    try {
      await demo.waitFor(/^Ctrl-C stops it\./m, COMMAND_TIMEOUT_MS);
      assert.match(demo.text(), /^\s+http:\/\/127\.0\.0\.1:\d+\/console#login=\S+\s+\(sign-in link, works once\)/m);
      demo.type("\x03");
      const run = await demo.exitedWithin(STOP_TIMEOUT_MS);
      assert.doesNotMatch(run.text, STACK_TRACE);
      assert.match(run.text, /MQTT closed\s+by the device/);
      assert.equal(run.exitCode, 0, run.text);
    } finally {
      demo.kill();
    }
  });

  describe("platform in a terminal, a device against it, then Ctrl-C", () => {
    let platform: TerminalSession;
    let httpUrl: string;
    let mqttUrl: string;

    before(async () => {
      platform = startInTerminal(["platform", "--config", PRODUCTS, "--memory", "--http-port", "0", "--mqtt-port", "0"], { cwd: dir });
      const ready = await platform.waitFor(/^platform ready http=(\S+) mqtt=(\S+) console=\S+/m, COMMAND_TIMEOUT_MS);
      [, httpUrl, mqttUrl] = ready;
    });

    after(() => platform.kill()); // still running only if a test failed before Ctrl-C ended it

    it("platform shows where its key pair is, the console link and its ready line", () => {
      const text = platform.text();
      assert.doesNotMatch(text, STACK_TRACE);
      assert.match(text, /\/console/);
      assert.match(httpUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.match(mqttUrl, /^mqtt:\/\/127\.0\.0\.1:\d+$/);
    });

    it("device --once registers against it, comes online, exits 0", async () => {
      const flash = join(dir, "dev001.flash");
      const run = await runInTerminal(["device", "--flash", flash, "--device-info", DEVICE_INFO, "--platform", httpUrl, "--mqtt", mqttUrl, "--once"], { cwd: dir, timeoutMs: COMMAND_TIMEOUT_MS });
      assert.doesNotMatch(run.text, STACK_TRACE);
      assert.equal(run.exitCode, 0, run.text);
      assert.match(run.text, /request signed\s+POST http:\/\/127\.0\.0\.1:\d+\/device\/register/);
      assert.match(run.text, /secret stored/);
      assert.match(run.text, /report acknowledged\s+report_reply code 0/);
      assert.ok(existsSync(flash), "the flash file holds the device's record");
      // The platform's event log, on its own terminal, saw the registration.
      await platform.waitFor(/dev001/, 10_000);
    });

    it("device without --once stays online until Ctrl-C, then exits 0 (stopped once online)", async () => {
      const device = startInTerminal(["device", "--flash", join(dir, "dev001.flash"), "--platform", httpUrl, "--mqtt", mqttUrl], { cwd: dir });
      try {
        await device.waitFor(/report acknowledged\s+report_reply code 0/, COMMAND_TIMEOUT_MS);
        await device.waitFor(/platform time\s+device clock/, COMMAND_TIMEOUT_MS); // the first-online sync is done
        device.type("\x03");
        const run = await device.exitedWithin(STOP_TIMEOUT_MS);
        assert.doesNotMatch(run.text, STACK_TRACE);
        assert.doesNotMatch(run.text, /request signed/, "a warm boot: the flash holds the secret");
        assert.equal(run.exitCode, 0, run.text);
      } finally {
        device.kill();
      }
    });

    it("Ctrl-C stops the platform: it says so and exits 0 (Ctrl-C is how it ends)", async () => {
      platform.type("\x03");
      const run = await platform.exitedWithin(STOP_TIMEOUT_MS);
      assert.doesNotMatch(run.text, STACK_TRACE);
      assert.match(run.text, /^(\^C)?platform stopped \(SIGINT\)\s*$/m);
      assert.equal(run.exitCode, 0, run.text);
    });
  });
});
