/**
 * The `explorer-xs` command line. Each subcommand lives in simulator/commands/<name>.ts and
 * exports `register(program)`, so commands stay small and independent.
 */
import { Command } from "commander";
import { readdirSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join } from "node:path";

export async function buildProgram(): Promise<Command> {
  const program = new Command("explorer-xs")
    .description("Simulator and mock platform for Tencent Cloud IoT Explorer devices (one-type-one-secret dynamic registration)")
    .showHelpAfterError()
    .configureOutput({ outputError: (text, write) => write(text) });
  const commandsDir = join(dirname(fileURLToPath(import.meta.url)), "commands");
  for (const file of readdirSync(commandsDir).filter((name) => name.endsWith(".ts")).sort()) {
    const module = await import(pathToFileURL(join(commandsDir, file)).href);
    module.register(program);
  }
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
