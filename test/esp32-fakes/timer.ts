/** Moddable `timer` on Node timers: set(callback, ms) and clear(timer). */
export default class Timer {
  private constructor(readonly handle: NodeJS.Timeout) {}
  static set(callback: (timer: Timer) => void, interval = 0): Timer {
    const timer: Timer = new Timer(setTimeout(() => callback(timer), interval));
    return timer;
  }
  static clear(timer: Timer | undefined | null): void {
    if (timer) clearTimeout(timer.handle);
  }
}
