/**
 * The Node side of the bridge: answers XS's HostRequests from a real Hal (hal/node in the
 * simulator, or any Hal a test wraps). Asynchronous operations are started here and their
 * outcome is delivered into XS later through `deliver` (a LaneCommand, one XS crank each).
 */
import type { FlashValue, Hal, HashAlgorithm, HttpRequest, LogLevel, MqttConnectOptions, MqttSession } from "../hal/types";
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
  private readonly sessions = new Map<number, MqttSession>();
  private nextSession = 1;
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
      case "mqtt.connect":
        started = this.connect(args[0] as MqttConnectOptions);
        break;
      case "mqtt.subscribe":
        started = this.session(args[0]).subscribe(args[1] as string, args[2] as 0 | 1);
        break;
      case "mqtt.publish":
        started = this.session(args[0]).publish(args[1] as string, args[2] as Uint8Array, args[3] as 0 | 1);
        break;
      case "mqtt.close": {
        const session = this.session(args[0]);
        started = session.close();
        break;
      }
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

  private async connect(options: MqttConnectOptions): Promise<number> {
    const id = this.nextSession++;
    const session = await this.hal.mqtt.connect(options, {
      onMessage: (topic, payload) => this.deliver({ op: "mqtt.message", session: id, topic, payload }),
      onClose: (error) => {
        this.sessions.delete(id);
        this.deliver({ op: "mqtt.close", session: id, error: error === undefined ? undefined : serializeError(error) });
      },
    });
    this.sessions.set(id, session);
    return id;
  }

  private session(id: unknown): MqttSession {
    const session = this.sessions.get(id as number);
    if (session === undefined) throw new BridgeError(`no open MQTT session ${String(id)}`);
    return session;
  }

  private deliver(command: LaneCommand): void {
    if (!this.closed) this.hooks.deliver(command);
  }

  /** Closes the MQTT sessions XS left open; later outcomes are dropped. */
  async close(): Promise<void> {
    this.closed = true;
    for (const controller of this.sleeps) controller.abort();
    this.sleeps.clear();
    const open = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.allSettled(open.map((session) => session.close()));
  }
}
