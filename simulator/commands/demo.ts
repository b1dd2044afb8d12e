/**
 * `explorer-xs demo` (what `npm start` runs): the whole story on loopback with no setup.
 * A mock platform starts in-process, a simulated ESP32 boots from factory-fresh flash,
 * registers, stores its secret and comes online; then it reboots and comes online with no
 * registration and no flash write. `--keep-platform` then leaves both running for the web console.
 */
import type { Command } from "commander";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UsageError } from "../cli-errors";

export function register(program: Command): void {
  program
    .command("demo")
    .description("run the mock platform and one simulated device: cold boot with dynamic registration, then a warm reboot")
    .option("--sign <algorithm>", "request signature algorithm: hmacsha256 or hmacsha1", "hmacsha256")
    .option("--flash <file>", "keep the device's flash in this file after the demo (erased at the start: the story begins factory-fresh; default: a temporary file, removed at exit)")
    .option("--keep-platform", "after the story, keep the platform and the device running for the web console until Ctrl-C")
    .action(async (options: { sign: string; flash?: string; keepPlatform?: boolean }) => {
      if (options.sign !== "hmacsha256" && options.sign !== "hmacsha1") {
        throw new UsageError(`--sign must be hmacsha256 or hmacsha1, not ${options.sign}`);
      }
      const tempDir = options.flash ? undefined : mkdtempSync(join(tmpdir(), "explorer-xs-demo-"));
      const flashFile = options.flash ?? join(tempDir!, "device.flash");
      // Each demo runs a new in-memory platform: a secret kept from an earlier run means nothing to it.
      if (options.flash) rmSync(options.flash, { force: true });
      // Ctrl-C during the story: the temporary flash (a sealed PSK and its key file) goes too.
      const stopStory = (signal: NodeJS.Signals) => {
        if (tempDir) rmSync(tempDir, { recursive: true, force: true });
        process.stderr.write(`demo stopped by ${signal}\n`);
        process.exit(130);
      };
      const storySignals = () => {
        process.off("SIGINT", stopStory);
        process.off("SIGTERM", stopStory);
      };
      process.once("SIGINT", stopStory);
      process.once("SIGTERM", stopStory);
      try {
        const { runDemo } = await import("../demo"); // loaded by this command only: --help stays cheap
        const keepPlatformUntil = options.keepPlatform
          ? () => new Promise<void>((resolve) => {
            storySignals(); // from here on, Ctrl-C ends the kept platform normally
            process.once("SIGINT", () => resolve());
            process.once("SIGTERM", () => resolve());
          })
          : undefined;
        const result = await runDemo({ flashFile, signAlgorithm: options.sign as "hmacsha256" | "hmacsha1", keepPlatformUntil });
        process.exitCode = result.ok ? 0 : 1;
      } finally {
        storySignals();
        if (tempDir) rmSync(tempDir, { recursive: true, force: true });
      }
    });
}
