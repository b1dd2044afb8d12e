/**
 * Runs the mock platform in its own process (the compiled `explorer-xs platform`, dist/cli.js),
 * so a fleet or a benchmark measures only itself. Resolves once the platform prints its ready line.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { compiledEntry } from "./paths";

export interface PlatformProcess {
  httpUrl: string;
  mqttUrl: string;
  consoleUrl: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

const READY = /^platform ready http=(\S+) mqtt=(\S+) console=(\S+)/m;

export interface PlatformProcessOptions {
  configFile: string;
  /**
   * Written to configFile first (mode 0600: it holds ProductSecrets, and a Cloud API key pair
   * when one is given); without it the file is used as it is.
   */
  config?: unknown;
  /** Keep the registry in this folder (SQLite file, WAL); default: in memory. */
  dataDir?: string;
  extraArgs?: string[];
  /** Print the JSON event log (default true); a fleet that never reads it saves the platform's CPU. */
  log?: boolean;
  /** Options for node itself (e.g. --cpu-prof). */
  nodeArgs?: string[];
  readyTimeoutMs?: number;
}

/** Writes a platform config readable by its owner only: `mode` applies only to a new file, so an existing one is narrowed first. */
export function writeConfigFile(file: string, config: unknown): void {
  try {
    chmodSync(file, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
}

export async function startPlatformProcess(options: PlatformProcessOptions): Promise<PlatformProcess> {
  if (options.config !== undefined) writeConfigFile(options.configFile, options.config);
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), "--enable-source-maps", compiledEntry("cli"), "platform", ...(options.dataDir !== undefined ? ["--data", options.dataDir] : ["--memory"]), "--host", "127.0.0.1", "--http-port", "0", "--mqtt-port", "0", "--config", options.configFile, ...(options.log === false ? ["--no-log"] : []), ...(options.extraArgs ?? [])],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  let errors = "";
  child.stderr!.on("data", (chunk) => (errors = (errors + chunk).slice(-4000)));
  const ready = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`platform did not start within ${options.readyTimeoutMs ?? 30000} ms: ${errors}`)), options.readyTimeoutMs ?? 30000);
    const onData = (chunk: Buffer) => {
      output = (output + chunk).slice(-64 * 1024);
      const match = READY.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off("data", onData);
        resolve(match);
      }
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`platform exited with code ${code} before it was ready: ${errors}`));
    });
  });
  // Keep draining its log so a full pipe never stalls it.
  child.stdout!.resume();
  return {
    httpUrl: ready[1],
    mqttUrl: ready[2],
    consoleUrl: ready[3],
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
