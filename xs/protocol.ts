/**
 * Message shapes of the XS bridge. Two directions, both JSON (see codec.ts):
 *
 * - XS -> host, through XS's synchronous `issueCommand`: a `HostRequest`. Synchronous HAL calls
 *   (flash, crypto, clock reads, log, storageKey, socket writes and closes, timers) are answered
 *   in the reply. Asynchronous ones (HTTP, socket connects, sleep, SNTP sync) carry a `settle`
 *   id: the reply only says "started", and the host delivers the outcome later as a `settle`
 *   command into XS. Socket bytes, socket ends and timer firings arrive as commands too. XS never
 *   blocks on network I/O, so a racing timer or incoming bytes behave as on the device.
 * - host -> XS, through `worker.issueCommand` (the child serialises them): a `LaneCommand`.
 *   Each runs as one XS crank; promise jobs run to completion before the crank ends.
 */
import type { SerializedError } from "./codec";

export interface HostRequest {
  op: string;
  args: unknown[];
  /** Present for an asynchronous operation: the id its `settle` command will carry. */
  settle?: number;
}

export type HostReply = { ok: unknown } | { error: SerializedError };

export type LaneCommand =
  | { op: "settle"; id: number; ok?: unknown; error?: SerializedError }
  | { op: "socket.data"; socket: number; bytes: Uint8Array }
  | { op: "socket.close"; socket: number; error?: SerializedError }
  | { op: "timer"; id: number }
  | { op: "invoke"; id: number; name: string; args: unknown[] };

/** Ops XS sends that are not HAL calls: results of `invoke` and program events. */
export const RESULT_OP = "lane.result";
export const EVENT_OP = "lane.event";

// ---- Host process <-> child process (Node IPC). Payloads are codec.ts JSON text. ---------

/** xsnap's meter reading after one crank (see xsnap-worker.c fxWriteOkay). */
export interface CrankMeter {
  /** Metered computation steps of this crank. */
  compute: number;
  /** Bytes of chunk space XS has allocated so far (cumulative, grows in 4 MiB steps). */
  allocate: number;
  /** Heap slots in use at the end of the crank. */
  currentHeapCount: number;
}

export type ToChild =
  | { type: "start"; bundle: string; meteringLimit: number }
  | { type: "command"; payload: string }
  | { type: "answer"; id: number; payload: string }
  | { type: "snapshot"; id: number }
  | { type: "close" };

export type FromChild =
  | { type: "started"; meter: CrankMeter }
  | { type: "request"; id: number; payload: string }
  | { type: "crank"; meter: CrankMeter }
  | { type: "snapshot"; id: number; bytes: number }
  | { type: "fatal"; message: string };
