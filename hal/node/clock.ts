/**
 * The Node clock: a simulated device RTC over the host's clock.
 *
 * A device's wall clock is Date.now() + offset. `skewMs` starts the offset off zero, modelling
 * an ESP32 whose RTC was never set (or drifted), which is what makes the platform reject
 * signed requests until the device syncs or corrects its clock. sync() stands in for SNTP.
 */
import { performance } from "node:perf_hooks";
import type { Clock, TimerHandle } from "../../firmware/contracts";

export interface NodeClockOptions {
  /** Initial error of the wall clock in ms (positive: the device runs ahead). Default 0. */
  skewMs?: number;
  /** Whether the clock counts as set at start. Default: true without skew, false with one. */
  synchronized?: boolean;
  /** Whether the simulated SNTP server answers; when false, sync() resolves false. Default true. */
  sntpReachable?: boolean;
}

/** setTimeout cannot wait longer than this (about 24.8 days). */
export const MAX_SLEEP_MS = 2 ** 31 - 1;

/** Rejects a sleep that was cancelled because the device is stopping. */
export class SleepCancelledError extends Error {
  constructor(message = "sleep cancelled") {
    super(message);
    this.name = "SleepCancelledError";
  }
}

export interface NodeClock extends Clock {
  /** Like sleep(ms), also rejecting with SleepCancelledError when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Rejects every pending sleep with SleepCancelledError and clears every timer, so a stopped device holds none. */
  cancelAll(): void;
  /** The current wall-clock error in ms (0 once synced). For the simulator's timelines. */
  offsetMs(): number;
}

interface PendingSleep {
  timer: NodeJS.Timeout;
  cancel(): void;
}

export function createNodeClock(options: NodeClockOptions = {}): NodeClock {
  const skewMs = options.skewMs ?? 0;
  if (!Number.isFinite(skewMs)) throw new RangeError("skewMs must be a finite number");
  let offset = skewMs;
  let synchronized = options.synchronized ?? skewMs === 0;
  const sntpReachable = options.sntpReachable ?? true;
  const sleeping = new Set<PendingSleep>();
  const timers = new Set<NodeJS.Timeout>();

  return {
    nowMs: () => Date.now() + offset,
    monotonicMs: () => performance.now(),
    isSynchronized: () => synchronized,
    offsetMs: () => offset,

    async sync() {
      if (!sntpReachable) return false;
      offset = 0;
      synchronized = true;
      return true;
    },

    correct(referenceMs: number) {
      if (!Number.isFinite(referenceMs) || referenceMs < 0) throw new RangeError("referenceMs must be a finite, non-negative time");
      offset = referenceMs - Date.now();
      synchronized = true;
    },

    sleep(ms: number, signal?: AbortSignal) {
      if (!Number.isFinite(ms) || ms < 0 || ms > MAX_SLEEP_MS) {
        return Promise.reject(new RangeError(`sleep duration must be within 0..${MAX_SLEEP_MS} ms, got ${ms}`));
      }
      if (signal?.aborted) return Promise.reject(new SleepCancelledError());
      return new Promise<void>((resolve, reject) => {
        const onAbort = () => entry.cancel();
        const finish = () => {
          sleeping.delete(entry);
          signal?.removeEventListener("abort", onAbort);
        };
        const entry: PendingSleep = {
          // Kept referenced on purpose: a sleeping device is still a running device.
          timer: setTimeout(() => {
            finish();
            resolve();
          }, ms),
          cancel() {
            clearTimeout(entry.timer);
            finish();
            reject(new SleepCancelledError());
          },
        };
        sleeping.add(entry);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    },

    setTimer(ms: number, fire: () => void): TimerHandle {
      if (!Number.isFinite(ms) || ms < 0 || ms > MAX_SLEEP_MS) throw new RangeError(`timer delay must be within 0..${MAX_SLEEP_MS} ms, got ${ms}`);
      const timer = setTimeout(() => {
        timers.delete(timer);
        fire();
      }, ms);
      timers.add(timer);
      return timer;
    },

    clearTimer(handle: TimerHandle) {
      const timer = handle as NodeJS.Timeout;
      if (!timers.delete(timer)) return;
      clearTimeout(timer);
    },

    cancelAll() {
      for (const entry of [...sleeping]) entry.cancel();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}
