/**
 * The `explorer-xs` command line. Each subcommand lives in simulator/commands/<name>.ts and
 * exports `register(program)`, so commands stay small and independent. The installed command
 * runs this file compiled (dist/cli.js, built by scripts/build.mjs); a command keeps start-up
 * cheap by importing what its action needs inside the action.
 */
import { Command } from "commander";
import { fileURLToPath } from "node:url";
import { loadCommandModules } from "./command-modules";

export async function buildProgram(): Promise<Command> {
  const program = new Command("explorer-xs")
    .description("Simulator and mock platform for Tencent Cloud IoT Explorer devices (one-type-one-secret dynamic registration)")
    .showHelpAfterError()
    .configureOutput({ outputError: (text, write) => write(text) });
  for (const module of await loadCommandModules()) module.register(program);
  return program;
}

/** Errors that describe bad input or a failed operation: shown as one line, not as a crash. */
const EXPECTED_ERRORS = new Set(["ExplorerError", "DeviceInfoError", "DynregError", "RecordStoreError", "FlashError", "HalNetworkError", "HalMqttError", "ConfigError", "RegistryError", "EncodingError"]);

export async function main(argv: string[]): Promise<void> {
  const program = await buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (!(error instanceof Error) || !EXPECTED_ERRORS.has(error.name)) throw error;
    process.stderr.write(`explorer-xs: ${error.message}\n`);
    process.exitCode = 2;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main(process.argv);
