/**
 * The XS side of the bridge: runs INSIDE xsnap's XS machine.
 *
 * `callHost` is a synchronous round trip through XS's `issueCommand`; `startHost` begins an
 * asynchronous host operation and returns a promise that the host settles later with a
 * `settle` command. `expose` registers the functions the Node side may `invoke`.
 */
/// <reference path="./xs-globals.d.ts" />
import { BridgeError, decodeMessage, deserializeError, encodeMessage, serializeError, type SerializedError } from "./codec";
import { EVENT_OP, RESULT_OP, type HostReply, type HostRequest, type LaneCommand } from "./protocol";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

const pending = new Map<number, Pending>();
let nextSettleId = 1;

function send(request: HostRequest): HostReply {
  const bytes = encoder.encode(encodeMessage(request));
  const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const reply = decodeMessage(decoder.decode(issueCommand(copy))) as HostReply;
  if (reply === null || typeof reply !== "object") throw new BridgeError(`malformed host reply to ${request.op}`);
  return reply;
}

/** A synchronous HAL call: returns the host's value or throws the host's error. */
export function callHost(op: string, ...args: unknown[]): unknown {
  const reply = send({ op, args });
  if ("error" in reply) throw deserializeError(reply.error);
  return reply.ok;
}

/** An asynchronous HAL call: the host settles it later, in a crank of its own. */
export function startHost(op: string, ...args: unknown[]): Promise<unknown> {
  const id = nextSettleId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    const reply = send({ op, args, settle: id });
    if ("error" in reply) {
      pending.delete(id);
      reject(deserializeError(reply.error));
    }
  });
}

export function emitEvent(name: string, data?: unknown): void {
  callHost(EVENT_OP, name, data);
}

// ---- Sockets and timers, keyed by ids chosen here ------------------------------------------

interface SocketHandlers {
  onData(bytes: Uint8Array): void;
  onClose(error?: Error): void;
}

const sockets = new Map<number, SocketHandlers>();
let nextSocketId = 1;

/** Registers a socket's handlers before its connect starts; returns its id. */
export function registerSocket(handlers: SocketHandlers): number {
  const id = nextSocketId++;
  sockets.set(id, handlers);
  return id;
}

/** Forgets a socket (closed by XS, or its connect failed); true when it was still known. */
export function forgetSocket(id: number): boolean {
  return sockets.delete(id);
}

const timers = new Map<number, () => void>();
let nextTimerId = 1;

/** A host timer that fires back into XS as a command of its own. */
export function setTimer(ms: number, fire: () => void): number {
  const id = nextTimerId++;
  timers.set(id, fire);
  callHost("clock.setTimer", id, ms);
  return id;
}

export function clearTimer(id: number): void {
  if (timers.delete(id)) callHost("clock.clearTimer", id);
}

// ---- Functions the host may invoke ---------------------------------------------------------

type Exposed = (...args: any[]) => unknown;
const exposed = new Map<string, Exposed>([
  // Lets the bench read live heap slots: the crank's heap count after a full collection.
  // Reached through globalThis: under Node's types (test entries share this file) gc is optional.
  ["lane.gc", () => (globalThis as { gc?: () => void }).gc?.()],
]);

export function expose(functions: Record<string, Exposed>): void {
  for (const [name, fn] of Object.entries(functions)) exposed.set(name, fn);
}

function reportResult(id: number, outcome: { ok: unknown } | { error: SerializedError }): void {
  callHost(RESULT_OP, id, outcome);
}

function invoke(id: number, name: string, args: unknown[]): void {
  const fn = exposed.get(name);
  if (fn === undefined) {
    reportResult(id, { error: serializeError(new BridgeError(`no exposed function ${name}`)) });
    return;
  }
  // Promise.resolve().then: a synchronous throw and an async rejection take the same path.
  Promise.resolve()
    .then(() => fn(...args))
    .then(
      (value) => reportResult(id, { ok: value === undefined ? null : value }),
      (error: unknown) => reportResult(id, { error: serializeError(error) }),
    );
}

function dispatch(command: LaneCommand): void {
  switch (command.op) {
    case "settle": {
      const entry = pending.get(command.id);
      if (entry === undefined) return; // settled after the lane forgot it: nothing waits
      pending.delete(command.id);
      if (command.error !== undefined) entry.reject(deserializeError(command.error));
      else entry.resolve(command.ok);
      return;
    }
    case "socket.data":
      sockets.get(command.socket)?.onData(command.bytes);
      return;
    case "socket.close": {
      const handlers = sockets.get(command.socket);
      sockets.delete(command.socket);
      handlers?.onClose(command.error === undefined ? undefined : deserializeError(command.error));
      return;
    }
    case "timer": {
      const fire = timers.get(command.id);
      if (fire === undefined) return; // cleared after the host had fired it
      timers.delete(command.id);
      fire();
      return;
    }
    case "invoke":
      invoke(command.id, command.name, command.args);
      return;
    default:
      throw new BridgeError(`unknown lane command ${(command as { op: string }).op}`);
  }
}

/** Installs xsnap's `handleCommand` entry point; an empty reply acknowledges each command. */
export function installCommandHandler(): void {
  (globalThis as unknown as { handleCommand(message: ArrayBuffer): ArrayBuffer }).handleCommand = (message) => {
    dispatch(decodeMessage(decoder.decode(message)) as LaneCommand);
    return new ArrayBuffer(0);
  };
}
