/**
 * The `explorer-xs` command line. Each subcommand lives in simulator/commands/<name>.ts and
 * exports `register(program)`, so commands stay small and independent. The installed command
 * runs this file compiled (dist/cli.js, built by scripts/build.mjs); a command keeps start-up
 * cheap by importing what its action needs inside the action.
 */
import { Command, CommanderError } from "commander";
import { fileURLToPath } from "node:url";
import { loadCommandModules } from "./command-modules";
import { EXIT_BAD_INPUT } from "./cli-errors";
import { FIRMWARE_VERSION } from "../firmware/version";

export async function buildProgram(): Promise<Command> {
  const program = new Command("explorer-xs")
    .description("Simulator and mock platform for Tencent Cloud IoT Explorer devices (one-type-one-secret dynamic registration)")
    .version(FIRMWARE_VERSION, "-V, --version", "print the version")
    // The program's own options only before a command: `ota upload --version 2.0.0` is the firmware's.
    .enablePositionalOptions()
    .configureOutput({ outputError: (text, write) => write(text) })
    // Commander's errors come back to main() as CommanderError, for one exit code for bad input.
    .exitOverride();
  for (const module of await loadCommandModules()) module.register(program);
  pointToHelp(program, "explorer-xs");
  return program;
}

/**
 * After a mistake in the command line, one line naming the help that lists the options, rather
 * than the whole help text: that of the command at fault, so `flash show` names its own.
 */
function pointToHelp(command: Command, path: string): void {
  command.showHelpAfterError(`(${path} --help lists the ${command.commands.length ? "commands" : "options"})`);
  for (const sub of command.commands) pointToHelp(sub, `${path} ${sub.name()}`);
}

/** Errors that describe bad input or a failed operation: shown as one line, not as a crash. */
const EXPECTED_ERRORS = new Set(["UsageError", "ExplorerError", "DeviceInfoError", "DynregError", "RecordStoreError", "FlashError", "HalNetworkError", "HalMqttError", "ConfigError", "RegistryError", "EncodingError"]);

export async function main(argv: string[]): Promise<void> {
  const program = await buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed the help, the version or the mistake already.
      process.exitCode = error.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
      return;
    }
    if (!(error instanceof Error) || !EXPECTED_ERRORS.has(error.name)) throw error;
    process.stderr.write(`explorer-xs: ${error.message}\n`);
    process.exitCode = EXIT_BAD_INPUT;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main(process.argv);
