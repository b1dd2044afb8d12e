/**
 * One platform per data folder. Two platforms on the same folder share its SQLite registry but
 * not their brokers: a device online on one is offline for the other's Cloud API and console,
 * and its activation races. The folder holds `platform.pid` while a platform runs; a file left by
 * a process that no longer runs (a crash, SIGKILL) is taken over.
 */
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

export class DataFolderInUseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DataFolderInUseError";
  }
}

/** The data folder is one others could write to: they could swap the registry that holds every secret. */
export class DataFolderPermissionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DataFolderPermissionError";
  }
}

/**
 * Refuses a folder writable by its group or by everyone: whoever can write it can replace
 * platform.sqlite (every ProductSecret, PSK and private key) or the mock CA's key.
 */
export function checkDataFolderPrivate(folder: string): void {
  const mode = statSync(folder).mode & 0o777;
  if ((mode & 0o022) !== 0) {
    throw new DataFolderPermissionError(`${folder} is writable by ${mode & 0o002 ? "everyone" : "its group"} (mode ${mode.toString(8).padStart(4, "0")}); it holds every device secret: chmod 700 ${folder}, or choose another --data folder`);
  }
}

/** Folders locked by this process: its own pid in the file does not make a second open safe. */
const heldHere = new Set<string>();

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"; // alive, owned by someone else
  }
}

/** Creates the pid file unless one exists. */
function tryCreate(file: string): boolean {
  try {
    writeFileSync(file, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

/**
 * Takes the folder for this platform; returns the release. Throws DataFolderInUseError when a
 * running platform holds it, DataFolderPermissionError when its group or everyone may write it.
 */
export function lockDataFolder(dataDir: string): () => void {
  const folder = resolve(dataDir);
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  checkDataFolderPrivate(folder);
  const file = join(folder, "platform.pid");
  for (let attempt = 0; !tryCreate(file); attempt++) {
    // A few rounds cover a platform starting at the same instant; beyond that the file is not ours to take.
    if (attempt >= 3) throw new DataFolderInUseError(`${dataDir} is in use: ${file} cannot be taken over; stop the platform using the folder, or remove the file`);
    let holder: number;
    try {
      holder = Number.parseInt(readFileSync(file, "utf8"), 10);
    } catch {
      continue; // removed meanwhile: try again
    }
    const held = holder === process.pid ? heldHere.has(folder) : Number.isInteger(holder) && holder > 0 && isRunning(holder);
    if (held) throw new DataFolderInUseError(`${dataDir} is in use by another platform (pid ${holder}): stop it first, or give this one another --data folder`);
    rmSync(file, { force: true }); // left by a platform that is gone
  }
  heldHere.add(folder);
  return () => {
    heldHere.delete(folder);
    rmSync(file, { force: true });
  };
}
