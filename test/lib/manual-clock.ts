/**
 * A Clock (firmware/contracts.ts) whose time moves only when a test says so: timers and sleeps
 * fire in order of their due time inside advance(). Tests of timeouts and keep-alive assert
 * what happens at a given instant without waiting for it or depending on the machine's load.
 */
import type { Clock, TimerHandle } from "../../firmware/contracts";

interface Timer {
  dueMs: number;
  seq: number;
  fire(): void;
}

export class ManualClock implements Clock {
  private monotonic = 0;
  private wallOffsetMs: number;
  private synchronized: boolean;
  private seq = 0;
  private readonly timers = new Set<Timer>();

  constructor(options: { wallStartMs?: number; synchronized?: boolean } = {}) {
    this.wallOffsetMs = options.wallStartMs ?? Date.now();
    this.synchronized = options.synchronized ?? true;
  }

  nowMs(): number {
    return this.wallOffsetMs + this.monotonic;
  }

  monotonicMs(): number {
    return this.monotonic;
  }

  isSynchronized(): boolean {
    return this.synchronized;
  }

  async sync(): Promise<boolean> {
    this.synchronized = true;
    return true;
  }

  correct(referenceMs: number): void {
    this.wallOffsetMs = referenceMs - this.monotonic;
    this.synchronized = true;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimer(ms, resolve));
  }

  setTimer(ms: number, fire: () => void): TimerHandle {
    const timer: Timer = { dueMs: this.monotonic + Math.max(0, ms), seq: this.seq++, fire };
    this.timers.add(timer);
    return timer;
  }

  clearTimer(handle: TimerHandle): void {
    this.timers.delete(handle as Timer);
  }

  /** Timers not yet fired or cleared, by due time (monotonic ms). */
  pendingDueTimes(): number[] {
    return [...this.timers].map((timer) => timer.dueMs).sort((a, b) => a - b);
  }

  /**
   * Moves time forward by `ms`, firing each timer due on the way at its own instant and letting
   * the promise jobs and I/O callbacks it starts run before the next one.
   */
  async advance(ms: number): Promise<void> {
    const target = this.monotonic + ms;
    for (;;) {
      await settle();
      const next = [...this.timers].filter((timer) => timer.dueMs <= target).sort((a, b) => a.dueMs - b.dueMs || a.seq - b.seq)[0];
      if (!next) break;
      this.timers.delete(next);
      this.monotonic = next.dueMs;
      next.fire();
    }
    this.monotonic = target;
    await settle();
  }
}

/** Lets pending promise jobs and setImmediate callbacks (the in-memory broker's answers) run. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}
