/**
 * The CLI's subcommands: every simulator/commands/<name>.ts, each exporting `register(program)`.
 * Run from source (tsx), this scans the folder; the compiled CLI (scripts/build.mjs) replaces this
 * module with static imports of the same files, so a new command file is picked up by both.
 */
import type { Command } from "commander";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export interface CommandModule {
  register(program: Command): void;
}

export async function loadCommandModules(): Promise<CommandModule[]> {
  const commandsDir = fileURLToPath(new URL("./commands", import.meta.url));
  const files = readdirSync(commandsDir).filter((name) => name.endsWith(".ts")).sort();
  return Promise.all(files.map((file) => import(pathToFileURL(join(commandsDir, file)).href) as Promise<CommandModule>));
}
