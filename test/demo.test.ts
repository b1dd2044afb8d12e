/**
 * `npm start` is the product's first impression: it must run on a fresh checkout and exit 0.
 */
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runProcess } from "./lib/run-process";
import { callCloudApi } from "../simulator/cloud-api-client";
import { post } from "./platform-helpers";
import { DEMO_DEVICE_NAME, DEMO_PRODUCT_ID, DEMO_PRODUCT_SECRET } from "../simulator/demo";

const BIN = join(import.meta.dirname, "..", "simulator", "bin", "explorer-xs.js");


const warmOf = (stdout: string) => stdout.split("Boot 2:")[1] ?? "";

describe("npm start (explorer-xs demo)", function () {
  this.timeout(60_000);

  it("exits 0 after a cold boot that registers and a warm boot that writes nothing", async () => {
    const result = await runProcess("npm", ["start", "--silent"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /request signed\s+POST http:\/\/127\.0\.0\.1:\d+\/device\/register/);
    assert.match(result.stdout, /secret stored\s+PSK \*+[A-Za-z0-9+/=]{4} /);
    assert.match(result.stdout, /report acknowledged/);
    assert.match(result.stdout, /warm boot 0 registration requests, 0 flash writes, 1 MQTT connect\. OK/);
    // The data template past the first report: pending control, report_info, time, an event, an action.
    assert.match(warmOf(result.stdout), /pending control\s+\{"power_switch":0\} applied, cleared \(clear_control\) and reported/);
    assert.match(warmOf(result.stdout), /report_info\s+firmware and module info sent/);
    assert.match(warmOf(result.stdout), /platform time\s+device clock within \d+ ms/);
    assert.match(warmOf(result.stdout), /event posted\s+status_report, event_reply code 0/);
    assert.match(warmOf(result.stdout), /action\s+blink \{"times":3\} from the platform: done, action_reply code 0/);
    assert.match(result.stdout, /Data template: the warm boot applied the pending control/);
    // Who closed the session, said once: "MQTT closed by the device", not "MQTT closed closed".
    assert.match(result.stdout, /MQTT closed\s+by the device\n/);
    const warm = result.stdout.split("Boot 2:")[1];
    assert.ok(warm && !/request signed|flash commit/.test(warm), "the warm boot neither registers nor writes flash");
    assert.ok(!result.stdout.includes(DEMO_PRODUCT_SECRET), "the product secret is never printed");
    assert.match(result.stdout, /web console: http:\/\/127\.0\.0\.1:\d+\/console while the demo runs \(npm start -- --keep-platform keeps it open\)/);
  });

  it("--keep-platform keeps the platform and the device online for the web console until Ctrl-C", async () => {
    const child = spawn(process.execPath, [BIN, "demo", "--keep-platform"], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (chunk) => {
          stdout += chunk;
          if (stdout.includes("Ctrl-C stops it.")) resolve();
        });
        child.once("exit", () => reject(new Error(`exited before keeping the platform: ${stderr}`)));
      });
      const link = /^ {2}(http:\/\/127\.0\.0\.1:\d+)\/console#login=([A-Za-z0-9_-]+) /m.exec(stdout);
      assert.ok(link, stdout);
      const session = await post(link[1], "/console/session", JSON.stringify({ Token: link[2] }), { "Content-Type": "application/json" });
      assert.equal(session.status, 200);
      // The link's temporary keys serve the console: signed as it signs (X-TC-Action too).
      const { Device } = await callCloudApi({ url: link[1], secretId: session.json.SecretId, secretKey: session.json.SecretKey, token: session.json.Token },
        "DescribeDevice", { ProductId: DEMO_PRODUCT_ID, DeviceName: DEMO_DEVICE_NAME });
      assert.equal((Device as { Status?: number } | undefined)?.Status, 1, "the rebooted device stays online");
      child.kill("SIGINT");
      assert.equal(await exited, 0, stderr);
      assert.match(stdout, /Summary: .* OK/);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("Ctrl-C during the story exits 130 and removes the temporary flash (a sealed PSK and its key)", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "exs-demo-int-"));
    try {
      const child = spawn(process.execPath, [BIN, "demo"], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TMPDIR: tmp } });
      let stdout = "";
      let stderr = "";
      child.stderr.on("data", (chunk) => (stderr += chunk));
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      await new Promise<void>((resolve) => child.stdout.on("data", (chunk) => {
        stdout += chunk;
        if (stdout.includes("Boot 1:")) resolve();
      }));
      assert.equal(readdirSync(tmp).length, 1, "the demo's temporary folder exists while it runs");
      child.kill("SIGINT");
      const code = await exited;
      assert.equal(code, 130, stderr);
      assert.match(stderr, /demo stopped by SIGINT/);
      assert.deepEqual(readdirSync(tmp), [], "nothing left in the temporary folder");
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("--flash keeps the flash for flash show, and a second run with the same file starts factory-fresh again", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "exs-demo-flash-"));
    try {
      const flash = join(tmp, "demo.flash");
      for (const run of [1, 2]) {
        const result = await runProcess(process.execPath, [BIN, "demo", "--flash", flash]);
        assert.equal(result.code, 0, `run ${run}: ${result.stdout.slice(-600)}${result.stderr}`);
        assert.match(result.stdout, /Summary: cold boot 1 registration request, 2 flash writes/, `run ${run}`);
      }
      const shown = await runProcess(process.execPath, [BIN, "flash", "show", flash]);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, /record ok/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
