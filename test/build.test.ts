/**
 * The compiled CLI (scripts/build.mjs, dist/): what the installed `explorer-xs` runs, how a
 * stale build is noticed, and that stack traces still name the TypeScript sources.
 */
import { strict as assert } from "node:assert";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { runProcess } from "./lib/run-process";
// @ts-expect-error plain JavaScript module without type declarations (it runs before anything is built)
import { staleReason } from "../scripts/build.mjs";

const ROOT = join(import.meta.dirname, "..");
const BIN = join(ROOT, "simulator", "bin", "explorer-xs.js");

describe("compiled CLI (dist/)", function () {
  this.timeout(60_000);

  it("`explorer-xs --help` runs the bundle and lists every command under simulator/commands", async () => {
    const result = await runProcess(process.execPath, [BIN, "--help"]);
    assert.equal(result.code, 0, result.stderr);
    const commands = readdirSync(join(ROOT, "simulator", "commands")).filter((file) => file.endsWith(".ts")).map((file) => file.slice(0, -3));
    assert.ok(commands.length >= 6);
    for (const command of commands) assert.match(result.stdout, new RegExp(`^\\s+${command}\\b`, "m"), `--help lists ${command}`);
  });

  it("the bin names the fix when dist/ was never built", async () => {
    const dir = mkdtempSync(join(tmpdir(), "exs-bin-"));
    try {
      mkdirSync(join(dir, "simulator", "bin"), { recursive: true });
      for (const file of readdirSync(dirname(BIN))) copyFileSync(join(dirname(BIN), file), join(dir, "simulator", "bin", file));
      const result = await runProcess(process.execPath, [join(dir, "simulator", "bin", "explorer-xs.js"), "--help"]);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /not built.*npm run build/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a changed source makes the build stale, naming the file; its old mtime makes it fresh again", () => {
    assert.equal(staleReason(), undefined, "the mocha setup built dist/ just now");
    for (const source of ["simulator/commands/demo.ts", "firmware/boot.ts", "simulator/commands"]) {
      const path = join(ROOT, source);
      const { atime, mtime } = statSync(path);
      try {
        utimesSync(path, atime, new Date(mtime.getTime() + 5000));
        assert.equal(staleReason(), `${source} changed`);
      } finally {
        utimesSync(path, atime, mtime);
      }
      assert.equal(staleReason(), undefined);
    }
  });

  it("the bin maps a crash's dist/ frames to the TypeScript files and lines, only when it prints one", async () => {
    // @ts-expect-error plain JavaScript beside the bin
    const { mapStack } = await import("../simulator/bin/mapped-stack.js");
    const bundle = join(ROOT, "dist", "fleet-worker.js");
    const lines = readFileSync(bundle, "utf8").split("\n");
    const line = lines.findIndex((text) => text.includes("runs as a worker thread"));
    const column = lines[line].indexOf("throw");
    const stack = `Error: x\n    at file://${bundle}:${line + 1}:${column + 1}\n    at run (${bundle}:${line + 1}:${column + 1})\n    at node:internal/main:1:1`;
    const source = readFileSync(join(ROOT, "simulator", "fleet-worker.ts"), "utf8").split("\n");
    const expected = source.findIndex((text) => text.includes("runs as a worker thread")) + 1;
    const mapped = mapStack(stack, ROOT) as string;
    assert.equal(mapped.match(new RegExp(`simulator/fleet-worker\\.ts:${expected}:\\d+`, "g"))?.length, 2, mapped);
    assert.match(mapped, /node:internal\/main:1:1/, "frames outside dist/ are left as they are");
  });

  it("a crash in compiled code reports the TypeScript file and line", async () => {
    // The fleet worker refuses to run outside a worker thread: an uncaught error thrown at its top level.
    const result = await runProcess(process.execPath, ["--enable-source-maps", join(ROOT, "dist", "fleet-worker.js")]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /runs as a worker thread/);
    assert.match(result.stderr, /simulator\/fleet-worker\.ts:\d+/);
  });
});
