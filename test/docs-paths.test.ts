/**
 * The docs name files a reader then opens and commands a reader then types: every repository path
 * in backticks in the README and docs must exist (a file with an extension, or a folder written
 * with its trailing slash), and every flag written after `explorer-xs <command>` must be one that
 * command's --help lists. Paths that name what is gone on purpose (the transport the MQTT engine
 * replaced, read from git history) or what a run writes (git-ignored) are left out, with the reason.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..");
const BIN = join(ROOT, "simulator", "bin", "explorer-xs.js");
const DOCS = ["README.md", "BENCHMARKS.md", "docs/PROTOCOL.md", "docs/MQTT.md", "docs/ESP32.md", "simulator/platform/README.md"];
/** Named on purpose though absent from the tree. */
const NAMED_FROM_HISTORY = new Set(["hal/node/mqtt.ts", "hal/types.ts"]);

function isIgnored(path: string): boolean {
  try {
    execFileSync("git", ["check-ignore", "-q", path], { cwd: ROOT });
    return true;
  } catch {
    return false;
  }
}

describe("docs: the repository paths they name exist", () => {
  it("every `path/with.ext` or `folder/` in the README and docs is in the tree", () => {
    const topLevel = new Set(readdirSync(ROOT).filter((name) => !name.startsWith(".") && name !== "node_modules"));
    const missing: string[] = [];
    for (const doc of DOCS.filter((file) => existsSync(join(ROOT, file)))) {
      for (const [, token] of readFileSync(join(ROOT, doc), "utf8").matchAll(/`([^`\s]+)`/g)) {
        const path = token.replace(/[,.;:)]+$/, "");
        // A path, not a module specifier such as `hal/types`: an extension or a trailing slash.
        if (!/^[\w.@-]+(\/[\w.@-]+)*(\.[a-z]{1,5}|\/)$/.test(path) || !path.includes("/")) continue;
        if (!topLevel.has(path.split("/")[0]) || NAMED_FROM_HISTORY.has(path)) continue;
        if (!existsSync(join(ROOT, path)) && !isIgnored(path)) missing.push(`${doc}: ${path}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  it("every flag written after `explorer-xs <command>` is one that command's --help lists", () => {
    const helps = new Map<string, string>();
    const helpOf = (command: string) => {
      if (!helps.has(command)) helps.set(command, execFileSync(process.execPath, [BIN, ...command.split(" "), "--help"], { encoding: "utf8" }));
      return helps.get(command)!;
    };
    const unknown: string[] = [];
    let checked = 0;
    for (const doc of DOCS.filter((file) => existsSync(join(ROOT, file)))) {
      // A command continued on the next line with a backslash is one command.
      const text = readFileSync(join(ROOT, doc), "utf8").replace(/\\\n/g, " ");
      for (const line of text.split("\n")) {
        for (const [, command, rest] of line.matchAll(/explorer-xs (flash show|flash export|demo|platform|device|fleet|factory)\b([^`|]*)/g)) {
          for (const [flag] of rest.matchAll(/--[a-z][a-z0-9-]*/g)) {
            checked++;
            if (!helpOf(command).includes(flag)) unknown.push(`${doc}: explorer-xs ${command} ${flag}`);
          }
        }
      }
    }
    assert.ok(checked > 10, `the docs' commands were found (${checked} flags)`);
    assert.deepEqual(unknown, []);
  });
});
