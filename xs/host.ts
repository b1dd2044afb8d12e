/**
 * Runs an XS lane: bundles an entry, starts the child process that owns the xsnap worker,
 * serves the bridge from a Hal, and lets the caller `invoke` exposed XS functions, listen to
 * XS events and read xsnap's meters. Lockdown stays in the child; this module is plain Node.
 */
import { fork, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Hal } from "../firmware/contracts";
import { bundleForXs, ENTRIES } from "./bundle";
import { BridgeError, decodeMessage, deserializeError, encodeMessage, serializeError, type SerializedError } from "./codec";
import { BridgeServer } from "./bridge-server";
import type { CrankMeter, FromChild, HostReply, HostRequest, LaneCommand, ToChild } from "./protocol";

/** xsnap's default per-crank budget; a boot crank is far below it. */
const METERING_LIMIT = 1e8;
const START_TIMEOUT_MS = 15_000;
const DEFAULT_INVOKE_TIMEOUT_MS = 30_000;

export function xsnapBinaryPath(): string {
  const require = createRequire(import.meta.url);
  const packageDir = dirname(require.resolve("@agoric/xsnap/package.json"));
  return join(packageDir, "xsnap-native/xsnap/build/bin/lin/release/xsnap-worker");
}

/** Why the lane cannot run here, or undefined when it can. */
export function xsLaneUnavailableReason(binary?: string): string | undefined {
  if (process.platform !== "linux") return `xsnap lane runs on Linux only (this is ${process.platform})`;
  if (binary === undefined) {
    try {
      binary = xsnapBinaryPath();
    } catch (error) {
      return `@agoric/xsnap is not installed: ${(error as Error).message}`;
    }
  }
  if (!existsSync(binary)) return `xsnap-worker was not built (missing ${binary}); run npm ci with install scripts allowed`;
  return undefined;
}

export class XsLaneUnavailableError extends Error {
  constructor(reason: string) {
    super(`the XS lane must run in CI but cannot: ${reason}`);
    this.name = "XsLaneUnavailableError";
  }
}

/**
 * Whether the lane runs here: undefined when it can, the reason to skip when it cannot, and
 * an XsLaneUnavailableError in CI (env.CI set), where skipping would hide a broken build.
 */
export function xsLaneSkipReason(reason = xsLaneUnavailableReason(), env: Record<string, string | undefined> = process.env): string | undefined {
  if (reason === undefined) return undefined;
  if (env.CI !== undefined && env.CI !== "" && env.CI !== "false") throw new XsLaneUnavailableError(reason);
  return reason;
}

export interface LaneMeters {
  /** Cranks run (evaluate and every command delivered into XS). */
  cranks: number;
  /** Sum of xsnap's compute meter over those cranks. */
  compute: number;
  /** Chunk bytes XS had allocated after the last crank (cumulative). */
  allocate: number;
  /** Heap slots in use after the last crank, and the largest seen. */
  currentHeapCount: number;
  peakHeapCount: number;
  /** Synchronous calls XS made to the host (HAL calls, results, events): the bridge's share. */
  hostRequests: number;
}

function emptyMeters(): LaneMeters {
  return { cranks: 0, compute: 0, allocate: 0, currentHeapCount: 0, peakHeapCount: 0, hostRequests: 0 };
}

export interface XsLaneOptions {
  hal: Hal;
  /** A bundled entry name or an entry file path. */
  entry?: keyof typeof ENTRIES | string;
  /** An `invoke` not answered within this rejects (default 30 s); the XS side keeps running. */
  invokeTimeoutMs?: number;
  /** xsnap's per-crank compute budget; a crank that exceeds it ends the lane (default 1e8). */
  meteringLimit?: number;
  /** Receives the lane's raw stdout and stderr (XS's print and trace, xsnap's messages); default: inherited. */
  output?: (text: string) => void;
}

export interface XsLane {
  readonly bundleBytes: number;
  /** Meters of the evaluate crank that loaded the bundle. */
  readonly loadMeter: CrankMeter;
  /** Calls a function the XS entry exposed; resolves with its (awaited) result. */
  invoke(name: string, ...args: unknown[]): Promise<unknown>;
  /** Listens to events the XS program emits. */
  on(name: string, listener: (data: unknown) => void): void;
  /** Resolves once every command sent into XS has finished its crank (meters are then final). */
  idle(): Promise<void>;
  /** Meters accumulated since start or the last reset. */
  meters(): LaneMeters;
  resetMeters(): void;
  /** Size in bytes of an xsnap snapshot of the machine as it stands. */
  snapshotBytes(): Promise<number>;
  close(): Promise<void>;
}

export async function startXsLane(options: XsLaneOptions): Promise<XsLane> {
  const unavailable = xsLaneUnavailableReason();
  if (unavailable !== undefined) throw new BridgeError(unavailable);
  const entry = options.entry ?? "core";
  const entryPath = entry in ENTRIES ? ENTRIES[entry as keyof typeof ENTRIES] : entry;
  const bundle = await bundleForXs(entryPath);

  // xs/child.ts compiled by scripts/build.mjs: no transpiler in the child, so a lane starts in
  // a fraction of the time (mocha, npm test and the bench rebuild dist/ when it is stale).
  const child: ChildProcess = fork(fileURLToPath(new URL("../dist/xs-child.js", import.meta.url)), {
    execArgv: ["--enable-source-maps"],
    stdio: options.output ? ["ignore", "pipe", "pipe", "ipc"] : ["ignore", "inherit", "inherit", "ipc"],
  });
  if (options.output) {
    const output = options.output;
    child.stdout?.setEncoding("utf8").on("data", (text: string) => output(text));
    child.stderr?.setEncoding("utf8").on("data", (text: string) => output(text));
  }
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const toChild = (message: ToChild): void => {
    if (child.connected) child.send(message);
  };

  let meters = emptyMeters();
  // Commands sent into XS vs cranks finished: equal means XS is idle.
  let commandsSent = 0;
  let cranksDone = 0;
  let idleWaiters: Array<() => void> = [];
  const addMeter = (meter: CrankMeter): void => {
    meters.cranks += 1;
    meters.compute += meter.compute;
    meters.allocate = meter.allocate;
    meters.currentHeapCount = meter.currentHeapCount;
    meters.peakHeapCount = Math.max(meters.peakHeapCount, meter.currentHeapCount);
  };

  const invocations = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  const snapshots = new Map<number, { resolve(bytes: number): void; reject(error: Error): void }>();
  const listeners = new Map<string, Array<(data: unknown) => void>>();
  let nextInvoke = 1;
  let failure: Error | undefined;

  const deliver = (command: LaneCommand): void => {
    commandsSent += 1;
    toChild({ type: "command", payload: encodeMessage(command) });
  };
  const crankFinished = (): void => {
    cranksDone += 1;
    if (cranksDone < commandsSent) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const wake of waiters) wake();
  };
  const server = new BridgeServer(options.hal, {
    deliver,
    onResult: (id, outcome) => {
      const waiting = invocations.get(id);
      invocations.delete(id);
      if (waiting === undefined) return;
      if ("error" in outcome) waiting.reject(deserializeError(outcome.error as SerializedError));
      else waiting.resolve(outcome.ok);
    },
    onEvent: (name, data) => {
      for (const listener of listeners.get(name) ?? []) listener(data);
    },
  });

  const failAll = (error: Error): void => {
    failure ??= error;
    for (const waiting of invocations.values()) waiting.reject(error);
    invocations.clear();
    for (const waiting of snapshots.values()) waiting.reject(error);
    snapshots.clear();
    for (const wake of idleWaiters) wake();
    idleWaiters = [];
  };

  let started!: (meter: CrankMeter) => void;
  let startFailed!: (error: Error) => void;
  const ready = new Promise<CrankMeter>((resolve, reject) => {
    started = resolve;
    startFailed = reject;
  });

  child.on("message", (message: FromChild) => {
    switch (message.type) {
      case "started":
        addMeter(message.meter);
        started(message.meter);
        return;
      case "request": {
        meters.hostRequests += 1;
        let reply: HostReply;
        try {
          reply = server.handle(decodeMessage(message.payload) as HostRequest);
        } catch (error) {
          reply = { error: serializeError(error) }; // an undecodable request still gets an answer
        }
        toChild({ type: "answer", id: message.id, payload: encodeMessage(reply) });
        return;
      }
      case "crank":
        addMeter(message.meter);
        crankFinished();
        return;
      case "snapshot":
        snapshots.get(message.id)?.resolve(message.bytes);
        snapshots.delete(message.id);
        return;
      case "fatal": {
        const error = new BridgeError(`XS lane failed: ${message.message}`);
        startFailed(error);
        failAll(error);
        return;
      }
    }
  });
  child.once("exit", (code, signal) => {
    const error = new BridgeError(`XS lane child exited (code ${code}, signal ${signal})`);
    startFailed(error);
    failAll(error);
  });

  toChild({ type: "start", bundle: bundle.code, meteringLimit: options.meteringLimit ?? METERING_LIMIT });
  let startTimer: NodeJS.Timeout | undefined;
  const loadMeter = await Promise.race([
    ready,
    new Promise<never>((_, reject) => {
      startTimer = setTimeout(() => reject(new BridgeError("XS lane did not start in time")), START_TIMEOUT_MS);
    }),
  ]).catch((error: Error) => {
    child.kill();
    throw error;
  }).finally(() => clearTimeout(startTimer));

  let closing: Promise<void> | undefined;
  return {
    bundleBytes: bundle.bytes,
    loadMeter,
    invoke(name, ...args) {
      if (failure !== undefined) return Promise.reject(failure);
      const id = nextInvoke++;
      const timeoutMs = options.invokeTimeoutMs ?? DEFAULT_INVOKE_TIMEOUT_MS;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          invocations.delete(id);
          reject(new BridgeError(`XS did not answer ${name} within ${timeoutMs} ms`));
        }, timeoutMs);
        invocations.set(id, {
          resolve: (value) => (clearTimeout(timer), resolve(value)),
          reject: (error) => (clearTimeout(timer), reject(error)),
        });
        deliver({ op: "invoke", id, name, args });
      });
    },
    on(name, listener) {
      listeners.set(name, [...(listeners.get(name) ?? []), listener]);
    },
    idle() {
      if (failure !== undefined || cranksDone >= commandsSent) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    meters: () => ({ ...meters }),
    resetMeters() {
      meters = emptyMeters();
    },
    snapshotBytes() {
      if (failure !== undefined) return Promise.reject(failure);
      const id = nextInvoke++;
      return new Promise((resolve, reject) => {
        snapshots.set(id, { resolve, reject });
        toChild({ type: "snapshot", id });
      });
    },
    close() {
      closing ??= (async () => {
        await server.close();
        toChild({ type: "close" });
        await exited;
      })();
      return closing;
    },
  };
}
