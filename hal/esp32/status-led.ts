/** Drives the status LED (config.ledPin) with the blink pattern of the current boot state. */
import Digital from "pins/digital";
import Timer from "timer";
import type { BootState } from "../../firmware/boot";
import { blinkPatternFor } from "./led";

export class StatusLed {
  readonly #pin: Digital | undefined;
  readonly #on: number;
  #timer: ReturnType<typeof Timer.set> | undefined;

  /** No pin configured: every call is a no-op. */
  constructor(pin: number | undefined, activeLow: boolean) {
    this.#on = activeLow ? 0 : 1;
    this.#pin = pin === undefined ? undefined : new Digital(pin, Digital.Output);
    this.#write(false);
  }

  show(state: BootState | "wifi"): void {
    if (!this.#pin) return;
    Timer.clear(this.#timer);
    this.#timer = undefined;
    const { onMs, offMs } = blinkPatternFor(state);
    if (onMs === 0 || offMs === 0) return this.#write(onMs > 0);
    let lit = true;
    this.#write(lit);
    const step = () => {
      lit = !lit;
      this.#write(lit);
      this.#timer = Timer.set(step, lit ? onMs : offMs);
    };
    this.#timer = Timer.set(step, onMs);
  }

  #write(lit: boolean): void {
    this.#pin?.write(lit ? this.#on : 1 - this.#on);
  }
}
