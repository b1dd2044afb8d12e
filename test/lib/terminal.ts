/**
 * Runs the built `explorer-xs` in a pseudo-terminal (node-pty), as a person runs it: stdin,
 * stdout and stderr are one TTY, so progress bars draw and Ctrl-C reaches the process group
 * through the terminal's line discipline, not through kill().
 */
import { join } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { spawn, type IPty } from "node-pty";

const BIN = join(import.meta.dirname, "..", "..", "simulator", "bin", "explorer-xs.js");

/** The size of a common terminal window. */
const COLUMNS = 120;
const ROWS = 40;

/** What a command showed and how it ended. */
export interface TerminalRun {
  /** Everything written to the terminal, escape sequences included. */
  raw: string;
  /** The same without colour, cursor and erase sequences: the text the screen showed. */
  text: string;
  exitCode: number;
  signal?: number;
}

export interface TerminalSession {
  pty: IPty;
  /** The text shown so far (escape sequences removed). */
  text(): string;
  /** Resolves with the first match of `pattern` in the text shown; rejects after `timeoutMs` or if the command ends first. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Types a key, as a person would: "\x03" is Ctrl-C. */
  type(keys: string): void;
  /** Resolves when the command ends. */
  exited: Promise<TerminalRun>;
  /** Resolves when the command ends; rejects with the screen if it still runs after `timeoutMs`. */
  exitedWithin(timeoutMs: number): Promise<TerminalRun>;
  /** Kills the command if it still runs (a test that failed before the command ended). */
  kill(): void;
}

export function startInTerminal(args: string[], options: { cwd?: string } = {}): TerminalSession {
  const pty = spawn(process.execPath, [BIN, ...args], {
    name: "xterm-256color",
    cols: COLUMNS,
    rows: ROWS,
    cwd: options.cwd ?? process.cwd(),
    env: { ...process.env, TERM: "xterm-256color" } as Record<string, string>,
  });
  let raw = "";
  const listeners = new Set<() => void>();
  pty.onData((chunk) => {
    raw += chunk;
    for (const listener of listeners) listener();
  });
  const exited = new Promise<TerminalRun>((resolve) => {
    pty.onExit(({ exitCode, signal }) => {
      // node-pty may deliver the last output after the exit event: let it drain.
      setTimeout(() => {
        resolve({ raw, text: stripVTControlCharacters(raw), exitCode, signal: signal || undefined });
        for (const listener of listeners) listener();
      }, 100);
    });
  });
  let ended = false;
  void exited.then(() => (ended = true));

  const text = () => stripVTControlCharacters(raw);
  const waitFor = (pattern: RegExp, timeoutMs: number) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const match = text().match(pattern);
        if (match) return done(() => resolve(match));
        if (ended) done(() => reject(new Error(`the command ended before the screen showed ${pattern}:\n${text()}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`the screen did not show ${pattern} within ${timeoutMs} ms:\n${text()}`))), timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        listeners.delete(check);
        settle();
      };
      listeners.add(check);
      check();
    });
  const kill = () => {
    if (!ended) pty.kill("SIGKILL");
  };
  const exitedWithin = (timeoutMs: number) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the command still ran ${timeoutMs} ms later; the screen:\n${text()}`)), timeoutMs);
    });
    return Promise.race([exited, late]).finally(() => clearTimeout(timer));
  };
  return { pty, text, waitFor, type: (keys) => pty.write(keys), exited, exitedWithin, kill };
}

/** Runs a command in a terminal to its end; kills it after `timeoutMs`. */
export async function runInTerminal(args: string[], options: { cwd?: string; timeoutMs: number }): Promise<TerminalRun> {
  const session = startInTerminal(args, options);
  const timer = setTimeout(session.kill, options.timeoutMs);
  try {
    return await session.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** A Node stack trace on screen: "    at fn (file:line:col)" or an uncaught error's name. */
export const STACK_TRACE = /^\s+at .+[:(].*\d+:\d+\)?\s*$|^(Type|Reference|Range|Syntax)Error: /m;
