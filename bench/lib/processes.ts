/**
 * Child processes for the benchmarks: load generators and servers each run in their own Node
 * process (forked with tsx), talk over IPC, and are killed if they overrun their time bound,
 * so a stuck child can never hold `npm run bench`.
 */
import { fork, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";

const TSX = ["--import", "tsx"];

function killHard(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

/** Forks `file`, sends it `task`, and resolves with the one report it sends back. */
export function runWorker<TTask extends object, TReport>(file: string, task: TTask, timeoutMs: number, execArgv: string[] = []): Promise<TReport> {
  const child = fork(file, [], { execArgv: [...TSX, ...execArgv], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  return new Promise<TReport>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      killHard(child);
      finish(new Error(`${file} did not report within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (error: Error | undefined, report?: TReport) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(report as TReport);
    };
    child.once("message", (report) => {
      finish(undefined, report as TReport);
      // The worker exits on its own after reporting; make sure it does.
      setTimeout(() => killHard(child), 5000).unref();
    });
    child.once("exit", (code, signal) => finish(new Error(`${file} exited (${code ?? signal}) without a report`)));
    child.once("error", (error) => finish(error));
    child.send(task);
  });
}

export interface ServerProcess<TReady> {
  ready: TReady;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Forks a server `file` and resolves once it sends its ready message (e.g. its URL). */
export function startServer<TReady>(file: string, args: string[] = [], readyTimeoutMs = 20_000): Promise<ServerProcess<TReady>> {
  const child = fork(file, args, { execArgv: TSX, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const stop = () => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => killHard(child), 5000);
    child.once("exit", () => { clearTimeout(timer); resolve(); });
    child.kill("SIGTERM");
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { killHard(child); reject(new Error(`${file} not ready within ${readyTimeoutMs} ms`)); }, readyTimeoutMs);
    child.once("message", (ready) => { clearTimeout(timer); resolve({ ready: ready as TReady, child, stop }); });
    child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`${file} exited (${code}) before it was ready`)); });
  });
}

/** CPU seconds (user + system) process `pid` has used so far, from /proc (Linux); undefined elsewhere. */
export function cpuSecondsOf(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return undefined;
  }
}
