/**
 * Bad input to a command: a missing or unreadable file, flags that do not go together. The CLI
 * prints the message as one line and exits with EXIT_BAD_INPUT, never with a stack trace.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** Exit code for anything the user can fix in the command line or the files it names. */
export const EXIT_BAD_INPUT = 2;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Why a file cannot be read, in words: "no such file", "it is a folder", "permission denied". */
export function fileProblem(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file";
  if (code === "EISDIR") return "it is a folder, not a file";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  return (error as Error).message;
}

/** Reads a file the user named with `flag`; a file that cannot be read is a UsageError naming both. */
export function readInputFile(path: string, flag: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(`${flag} ${path}: cannot read it (${fileProblem(error)})`);
  }
}

/**
 * Writes a file that holds secrets, readable by its owner only (0600), replacing any file already
 * there: through a new file and a rename, since `writeFileSync`'s mode applies only to a file it
 * creates and an existing world-readable file would keep its mode. A path that cannot be written is
 * a UsageError naming `flag`.
 */
export function writeSecretFile(path: string, text: string, flag: string): void {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(temporary, text, { mode: 0o600, flag: "wx" });
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new UsageError(`${flag} ${path}: cannot write it (${fileProblem(error)})`);
  }
}
