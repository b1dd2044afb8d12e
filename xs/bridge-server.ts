/**
 * The Node side of the bridge: answers XS's HostRequests from a real Hal (hal/node in the
 * simulator, or any Hal a test wraps). Asynchronous operations are started here and their
 * outcome is delivered into XS later through `deliver` (a LaneCommand, one XS crank each).
 */
import { HalNetworkError, type ByteSocket, type FlashValue, type Hal, type HashAlgorithm, type HttpRequest, type LogLevel, type SocketEndpoint, type TimerHandle } from "../firmware/contracts";
import { BridgeError, serializeError } from "./codec";
import { EVENT_OP, RESULT_OP, type HostReply, type HostRequest, type LaneCommand } from "./protocol";

export interface BridgeServerHooks {
  /** Queue a command into XS (never awaited inside a request: XS is mid-crank). */
  deliver(command: LaneCommand): void;
  /** `invoke` outcomes reported by XS. */
  onResult(id: number, outcome: { ok: unknown } | { error: { name: string; message: string } }): void;
  /** Program events emitted by XS. */
  onEvent(name: string, data: unknown): void;
}

// Arguments come from our own XS program (bridge-hal.ts); hal/node validates the values.
type Sync = (hal: Hal, args: any) => unknown;

const SYNC_OPS: Record<string, Sync> = {
  "flash.get": (hal, [namespace, key]: [string, string]) => hal.flash.get(namespace, key) ?? null,
  "flash.set": (hal, [namespace, key, value]: [string, string, FlashValue]) => hal.flash.set(namespace, key, value),
  "flash.delete": (hal, [namespace, key]: [string, string]) => hal.flash.delete(namespace, key),
  "flash.keys": (hal, [namespace]: [string]) => hal.flash.keys(namespace),
  "crypto.digest": (hal, [algorithm, data]: [HashAlgorithm, Uint8Array]) => hal.crypto.digest(algorithm, data),
  "crypto.hmac": (hal, [algorithm, key, data]: [HashAlgorithm, Uint8Array, Uint8Array]) => hal.crypto.hmac(algorithm, key, data),
  "crypto.aes128CbcEncrypt": (hal, [key, iv, data]: Uint8Array[]) => hal.crypto.aes128CbcEncrypt(key, iv, data),
  "crypto.aes128CbcDecrypt": (hal, [key, iv, data]: Uint8Array[]) => hal.crypto.aes128CbcDecrypt(key, iv, data),
  "crypto.randomBytes": (hal, [length]: [number]) => hal.crypto.randomBytes(length),
  "clock.nowMs": (hal) => hal.clock.nowMs(),
  "clock.monotonicMs": (hal) => hal.clock.monotonicMs(),
  "clock.isSynchronized": (hal) => hal.clock.isSynchronized(),
  "clock.correct": (hal, [referenceMs]: [number]) => hal.clock.correct(referenceMs),
  "log.log": (hal, [level, event, fields]: [LogLevel, string, Record<string, string | number | boolean> | null]) =>
    hal.log.log(level, event, fields ?? undefined),
  storageKey: (hal) => hal.storageKey(),
};

export class BridgeServer {
  /** The lane's open sockets and armed timers, by the ids XS chose. */
  private readonly sockets = new Map<number, ByteSocket>();
  private readonly timers = new Map<number, TimerHandle>();
  private closed = false;
  /** The lane's pending sleeps, aborted on close (hal/node's clock honours a signal; others ignore it). */
  private readonly sleeps = new Set<AbortController>();

  constructor(
    private readonly hal: Hal,
    private readonly hooks: BridgeServerHooks,
  ) {}

  /** Answers one request from XS. Never throws: errors travel back to XS as values. */
  handle(request: HostRequest): HostReply {
    try {
      if (request.op === RESULT_OP) {
        const [id, outcome] = request.args as [number, Parameters<BridgeServerHooks["onResult"]>[1]];
        this.hooks.onResult(id, outcome);
        return { ok: null };
      }
      if (request.op === EVENT_OP) {
        this.hooks.onEvent(request.args[0] as string, request.args[1]);
        return { ok: null };
      }
      if (request.settle !== undefined) {
        this.startAsync(request.op, request.args, request.settle);
        return { ok: null };
      }
      if (this.localOp(request.op, request.args)) return { ok: null };
      const op = SYNC_OPS[request.op];
      if (op === undefined) throw new BridgeError(`unknown bridge op ${request.op}`);
      const value = op(this.hal, request.args);
      return { ok: value === undefined ? null : value };
    } catch (error) {
      return { error: serializeError(error) };
    }
  }

  private startAsync(op: string, args: unknown[], id: number): void {
    let started: Promise<unknown>;
    switch (op) {
      case "http.request":
        started = this.hal.http.request(args[0] as HttpRequest);
        break;
      case "socket.connect":
        started = this.connect(args[0] as number, args[1] as SocketEndpoint, args[2] as number);
        break;
      case "clock.sleep":
        started = this.sleep(args[0] as number);
        break;
      case "clock.sync":
        started = this.hal.clock.sync();
        break;
      default:
        throw new BridgeError(`unknown asynchronous bridge op ${op}`);
    }
    started.then(
      (ok) => this.deliver({ op: "settle", id, ok: ok === undefined ? null : ok }),
      (error: unknown) => this.deliver({ op: "settle", id, error: serializeError(error) }),
    );
  }

  private sleep(ms: number): Promise<void> {
    const controller = new AbortController();
    this.sleeps.add(controller);
    const sleep = this.hal.clock.sleep as (ms: number, signal?: AbortSignal) => Promise<void>;
    return sleep.call(this.hal.clock, ms, controller.signal).finally(() => this.sleeps.delete(controller));
  }

  /** Runs a synchronous op on the lane's own sockets and timers; false when `op` is the Hal's. */
  private localOp(op: string, args: unknown[]): boolean {
    switch (op) {
      case "socket.write": {
        const socket = this.sockets.get(args[0] as number);
        if (socket === undefined) throw new HalNetworkError("reset", "the connection is closed");
        socket.write(args[1] as Uint8Array);
        return true;
      }
      case "socket.close": {
        const socket = this.sockets.get(args[0] as number);
        this.sockets.delete(args[0] as number);
        socket?.close();
        return true;
      }
      case "clock.setTimer": {
        const id = args[0] as number;
        this.timers.set(id, this.hal.clock.setTimer(args[1] as number, () => {
          this.timers.delete(id);
          this.deliver({ op: "timer", id });
        }));
        return true;
      }
      case "clock.clearTimer": {
        const id = args[0] as number;
        if (this.timers.has(id)) this.hal.clock.clearTimer(this.timers.get(id));
        this.timers.delete(id);
        return true;
      }
      default:
        return false;
    }
  }

  private async connect(id: number, endpoint: SocketEndpoint, timeoutMs: number): Promise<null> {
    const socket = await this.hal.socket.connect(endpoint, {
      onData: (bytes) => this.deliver({ op: "socket.data", socket: id, bytes }),
      onClose: (error) => {
        this.sockets.delete(id);
        this.deliver({ op: "socket.close", socket: id, error: error === undefined ? undefined : serializeError(error) });
      },
    }, timeoutMs);
    if (this.closed) {
      socket.close(); // the lane closed while this connect was under way
      return null;
    }
    this.sockets.set(id, socket);
    return null;
  }

  private deliver(command: LaneCommand): void {
    if (!this.closed) this.hooks.deliver(command);
  }

  /** Closes the sockets and clears the timers XS left behind; later outcomes are dropped. */
  async close(): Promise<void> {
    this.closed = true;
    for (const controller of this.sleeps) controller.abort();
    this.sleeps.clear();
    for (const handle of this.timers.values()) this.hal.clock.clearTimer(handle);
    this.timers.clear();
    for (const socket of this.sockets.values()) socket.close();
    this.sockets.clear();
  }
}
