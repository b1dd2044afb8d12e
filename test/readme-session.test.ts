/**
 * The README's "typical local session", run as written: the same commands, files and flags, with
 * only free ports given to the platform (8080 and 1883 may be taken on a shared machine) and the
 * device pointed at them. A file the README names that does not exist, or a session that does not
 * come online, fails here before a newcomer meets it.
 */
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runProcess } from "./lib/run-process";

const ROOT = join(import.meta.dirname, "..");
const BIN = join(ROOT, "simulator", "bin", "explorer-xs.js");

/** The shell lines of the README's code block that follows "A typical local session:". */
function typicalSession(): string[] {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const block = /A typical local session:\s*```sh\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, "README.md has a typical local session");
  return block[1].split("\n").map((line) => line.trim()).filter((line) => line && !line.startsWith("#"));
}

/** `npx explorer-xs a b c` (and a trailing `&`) → ["a", "b", "c"]. */
function explorerArgs(line: string): string[] {
  const match = /^npx explorer-xs (.*?)( &)?$/.exec(line);
  assert.ok(match, `a README session line runs explorer-xs: ${line}`);
  return match[1].split(/\s+/);
}

describe("README: the typical local session, as written", function () {
  this.timeout(60_000);
  let dir: string;

  before(() => {
    // A folder of its own, as a newcomer's clone: the repository's files at the same relative paths.
    dir = mkdtempSync(join(tmpdir(), "exs-readme-"));
    symlinkSync(join(ROOT, "simulator"), join(dir, "simulator"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("starts the platform, brings the device online from the named device_info.json, then shows its flash", async () => {
    const [platformLine, deviceLine, showLine, ...rest] = typicalSession();
    assert.deepEqual(rest, [], "three commands");
    const platformArgs = explorerArgs(platformLine);
    assert.equal(platformArgs[0], "platform");
    const platform = spawn(process.execPath, [BIN, ...platformArgs, "--http-port", "0", "--mqtt-port", "0"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    try {
      let output = "";
      let errors = "";
      platform.stderr.on("data", (chunk) => (errors += chunk));
      const [, httpUrl, mqttUrl] = await new Promise<RegExpExecArray>((resolve, reject) => {
        platform.stdout.on("data", (chunk) => {
          output += chunk;
          const ready = /^platform ready http=(\S+) mqtt=(\S+)/m.exec(output);
          if (ready) resolve(ready);
        });
        platform.once("exit", (code) => reject(new Error(`platform exited with ${code}: ${errors}`)));
      });

      const deviceArgs = explorerArgs(deviceLine);
      const device = await runProcess(process.execPath, [BIN, ...deviceArgs, "--platform", httpUrl, "--mqtt", mqttUrl], { cwd: dir });
      assert.equal(device.code, 0, device.stdout + device.stderr);
      assert.match(device.stdout, /report acknowledged/);

      const shown = await runProcess(process.execPath, [BIN, ...explorerArgs(showLine)], { cwd: dir });
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, /record ok/);
    } finally {
      const exited = new Promise((resolve) => (platform.exitCode !== null ? resolve(undefined) : platform.once("exit", resolve)));
      platform.kill("SIGINT");
      await exited;
    }
  });
});
