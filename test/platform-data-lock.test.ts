/**
 * One platform per data folder: a second one on the same folder would share the registry but not
 * the broker, so devices online on one look offline to the other's Cloud API. Restarting after a
 * crash (a pid file left behind) must still work.
 */
import { strict as assert } from "node:assert";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
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

  it("keeps platform.sqlite and its -wal and -shm at mode 0600 under a 022 umask, even where an older start left it 0644", async () => {
    const dataDir = join(temp.dir, "data");
    const previous = process.umask(0o022);
    try {
      mkdirSync(dataDir, { mode: 0o700 });
      writeFileSync(join(dataDir, "platform.sqlite"), "", { mode: 0o644 }); // an empty file is a new database to SQLite
      chmodSync(join(dataDir, "platform.sqlite"), 0o644);
      const platform = await startPlatform({ dataDir, log: () => undefined, config: { products: [{ productId: "MODEPRD001", productSecret: "modeProductSecret7Qk2Lp", dynamicRegistration: true, autoCreate: true, authType: "psk", devices: ["d1"] }] } });
      try {
        for (const name of ["platform.sqlite", "platform.sqlite-wal", "platform.sqlite-shm"]) {
          assert.equal(existsSync(join(dataDir, name)), true, `${name} exists while the platform runs`);
          assert.equal((statSync(join(dataDir, name)).mode & 0o777).toString(8), "600", name);
        }
      } finally {
        await platform.close();
      }
    } finally {
      process.umask(previous);
    }
  });

  for (const [mode, who] of [[0o770, "its group"], [0o707, "everyone"], [0o777, "everyone"]] as const) {
    it(`refuses to start on a data folder writable by ${who} (mode ${mode.toString(8)}), naming the fix, and writes nothing there`, async () => {
      const dataDir = join(temp.dir, "data");
      mkdirSync(dataDir);
      chmodSync(dataDir, mode);
      const outcome = await startPlatform({ dataDir, log: () => undefined }).then(async (platform) => { await platform.close(); return undefined; }, (error: Error) => error);
      assert.ok(outcome, "the platform started");
      assert.equal(outcome.name, "DataFolderPermissionError");
      assert.match(outcome.message, new RegExp(`writable by ${who} \\(mode 0${mode.toString(8)}\\).*chmod 700`));
      assert.equal(existsSync(join(dataDir, "platform.sqlite")), false);
      assert.equal(existsSync(join(dataDir, "platform.pid")), false);
    });
  }
});
