/**
 * The docs name files a reader then opens: every repository path in backticks in the README and
 * docs must exist (a file with an extension, or a folder written with its trailing slash). Paths
 * that name what is gone on purpose (the transport the MQTT engine replaced, read from git
 * history) or what a run writes (git-ignored) are listed below with the reason.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..");
const DOCS = ["README.md", "BENCHMARKS.md", "docs/PROTOCOL.md", "docs/MQTT.md", "docs/ESP32.md", "simulator/platform/README.md"];
/** Named on purpose though absent from the tree. */
const NAMED_FROM_HISTORY = new Set(["hal/node/mqtt.ts"]);

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
});
