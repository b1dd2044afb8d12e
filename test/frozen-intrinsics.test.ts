/**
 * Moddable's preloading freezes the built-ins, so on a device `this.name = "..."` in an Error
 * subclass throws "set name: not writable" (an own property cannot be assigned over a frozen
 * inherited one: the override mistake) and the first error the core raises aborts the boot.
 * Neither tsc nor the xsnap lane can see it; this test freezes Node's built-ins the same way in
 * a child process and constructs every Error subclass of the image's engine-neutral modules.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");
const ENGINE_NEUTRAL_HAL = ["bytes", "config-parse", "factory", "led", "nvs-limits", "record-seed", "storage-key", "url"];

/** Every .ts file below `folder`. */
function typeScriptFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const full = path.join(folder, name);
    if (statSync(full).isDirectory()) return typeScriptFiles(full);
    return name.endsWith(".ts") ? [full] : [];
  });
}

describe("frozen built-ins (as Moddable's preloading leaves them)", () => {
  it("every Error subclass of firmware/ (all of it, its contracts too) and the engine-neutral hal/esp32 modules constructs with its own name, its classes frozen too", function () {
    this.timeout(120_000);
    const files = [
      ...typeScriptFiles(path.join(ROOT, "firmware")),
      ...ENGINE_NEUTRAL_HAL.map((name) => path.join(ROOT, "hal", "esp32", `${name}.ts`)),
    ];
    const child = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "test", "lib", "frozen-intrinsics-child.ts"), ...files], {
      cwd: ROOT, encoding: "utf8", timeout: 110_000,
    });
    assert.equal(child.status, 0, child.stderr);
    const results = JSON.parse(child.stdout.trim().split("\n").pop()!) as Record<string, string>;
    const expected = Object.fromEntries(Object.keys(results).map((key) => [key, key.split(":")[1]]));
    assert.ok(Object.keys(results).length >= 10, `found the error classes: ${Object.keys(results).join(", ")}`);
    assert.deepEqual(results, expected);
  });
});
