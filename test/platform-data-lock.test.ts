/**
 * One platform per data folder: a second one on the same folder would share the registry but not
 * the broker, so devices online on one look offline to the other's Cloud API. Restarting after a
 * crash (a pid file left behind) must still work.
 */
import { strict as assert } from "node:assert";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startPlatform } from "../simulator/platform/index";
import { tempDir } from "./platform-helpers";

const BIN = join(import.meta.dirname, "..", "simulator", "bin", "explorer-xs.js");

describe("platform: one platform per data folder", function () {
  this.timeout(30_000);
  let temp: ReturnType<typeof tempDir>;
  beforeEach(() => { temp = tempDir("exs-lock-"); });
  afterEach(() => temp.remove());

  it("refuses a second platform on a folder in use, and starts once the first has stopped", async () => {
    const dataDir = join(temp.dir, "data");
    const first = await startPlatform({ dataDir, log: () => undefined });
    try {
      const second = await startPlatform({ dataDir, log: () => undefined }).then(
        async (started) => { await started.close(); return undefined; },
        (error: Error) => error,
      );
      assert.equal(second?.name, "DataFolderInUseError", "the second platform did not start");
      assert.match(second.message, new RegExp(`is in use by another platform \\(pid ${process.pid}\\): stop it first, or give this one another --data folder`));
    } finally {
      await first.close();
    }
    assert.equal(existsSync(join(dataDir, "platform.pid")), false, "released at close");
    const again = await startPlatform({ dataDir, log: () => undefined });
    await again.close();
  });

  it("takes over the pid file of a platform that no longer runs (killed, crashed)", async () => {
    const dataDir = join(temp.dir, "data");
    const first = await startPlatform({ dataDir, log: () => undefined });
    await first.close();
    const gone = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    writeFileSync(join(dataDir, "platform.pid"), `${gone.stdout}\n`);
    const restarted = await startPlatform({ dataDir, log: () => undefined });
    await restarted.close();
  });

  it("explorer-xs platform on a folder another platform holds says so and exits non-zero", async () => {
    const dataDir = join(temp.dir, "data");
    const first = await startPlatform({ dataDir, log: () => undefined });
    try {
      const child = spawn(process.execPath, [BIN, "platform", "--data", dataDir, "--http-port", "0", "--mqtt-port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (chunk) => (stderr += chunk));
      const code = await new Promise<number | null>((resolve) => {
        child.once("exit", resolve);
        // A platform that started anyway prints its ready line: stop it, the test fails below.
        child.stdout.on("data", (chunk) => { if (String(chunk).includes("platform ready")) child.kill("SIGKILL"); });
      });
      assert.equal(code, 1, stderr);
      assert.match(stderr, /platform failed to start: .*data is in use by another platform \(pid \d+\)/);
    } finally {
      await first.close();
    }
  });
});
