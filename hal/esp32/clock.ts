/**
 * Clock on Moddable's `time`, `sntp` and `timer`. The ESP32 has no battery-backed clock in this
 * design: after a reset Date.now() starts near 1970 until SNTP (or a server's Date header, via
 * correct()) sets it, which is why isSynchronized() exists.
 */
import SNTP from "sntp";
import Time from "time";
import Timer from "timer";
import type { Clock, TimerHandle } from "../../firmware/contracts";

/** Before this instant (2024-01-01T00:00:00Z) the wall clock cannot be right. */
export const PLAUSIBLE_EPOCH_MS = 1_704_067_200_000;

export class SntpClock implements Clock {
  readonly #servers: readonly string[];
  readonly #syncTimeoutMs: number;
  #synchronized = false;
  #lastTicks = Time.ticks;
  #monotonic = 0;

  constructor(servers: readonly string[], syncTimeoutMs = 15_000) {
    if (servers.length === 0) throw new RangeError("at least one SNTP server is needed");
    this.#servers = servers;
    this.#syncTimeoutMs = syncTimeoutMs;
  }

  nowMs(): number {
    return Date.now();
  }

  /** Time.ticks is a 32-bit millisecond counter that wraps after ~49 days; this does not. */
  monotonicMs(): number {
    const ticks = Time.ticks;
    this.#monotonic += (ticks - this.#lastTicks) >>> 0;
    this.#lastTicks = ticks;
    return this.#monotonic;
  }

  isSynchronized(): boolean {
    return this.#synchronized || Date.now() >= PLAUSIBLE_EPOCH_MS;
  }

  /** Tries each server in turn (the SNTP client's fail-over), bounded by one timeout. */
  sync(): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let index = 0;
      let done = false;
      // On timeout the SNTP client is left to finish its own retries (its close() is not in
      // the typings); a late answer still sets the clock, which does no harm.
      const finish = (ok: boolean) => {
        if (done) return;
        done = true;
        Timer.clear(timer);
        resolve(ok);
      };
      const timer = Timer.set(() => finish(false), this.#syncTimeoutMs);
      try {
        new SNTP({ host: this.#servers[0] }, (message, value) => {
          if (message === SNTP.time && typeof value === "number" && value * 1000 >= PLAUSIBLE_EPOCH_MS) {
            Time.set(value);
            this.#synchronized = true;
            finish(true);
          } else if (message === SNTP.error) {
            index += 1;
            if (index < this.#servers.length && !done) return this.#servers[index];
            finish(false);
          }
        });
      } catch {
        finish(false);
      }
    });
  }

  correct(referenceMs: number): void {
    if (!Number.isFinite(referenceMs) || referenceMs < PLAUSIBLE_EPOCH_MS) {
      throw new RangeError(`refusing to set the clock to ${referenceMs}`);
    }
    Time.set(Math.floor(referenceMs / 1000));
    this.#synchronized = true;
  }

  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      Timer.set(() => resolve(), Math.max(0, Math.floor(ms)));
    });
  }

  setTimer(ms: number, fire: () => void): TimerHandle {
    return Timer.set(() => fire(), Math.max(0, Math.floor(ms)));
  }

  clearTimer(handle: TimerHandle): void {
    Timer.clear(handle as ReturnType<typeof Timer.set>);
  }
}
