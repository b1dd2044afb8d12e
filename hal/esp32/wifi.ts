/**
 * Wi-Fi bring-up with retries. With `ssid=... password=...` on the mcconfig command line,
 * Moddable's setup/network module may already have joined before main runs; then up() returns
 * at once. Otherwise each attempt waits for an IP for config.wifiAttemptMs, and failures back
 * off with full jitter (firmware/backoff) drawn from the hardware RNG. After the link is up a
 * lost IP triggers the same loop in the background.
 */
import Net from "net";
import Timer from "timer";
import WiFi from "wifi";
import { backoffDelayMs, type BackoffPolicy } from "../../firmware/backoff";
import type { Logger } from "../../firmware/contracts";
import { hardwareRandomFraction } from "./random";

export interface WifiOptions {
  ssid?: string;
  password?: string;
  attemptTimeoutMs: number;
  backoff: BackoffPolicy;
}

export function hasAddress(): boolean {
  const ip = Net.get("IP");
  return typeof ip === "string" && ip !== "" && ip !== "0.0.0.0";
}

function wait(ms: number): Promise<void> {
  return new Promise((resolve) => Timer.set(() => resolve(), ms));
}

export class WifiLink {
  readonly #options: WifiOptions;
  readonly #log: Logger;
  #monitor: WiFi | undefined;
  #reconnecting = false;

  constructor(options: WifiOptions, log: Logger) {
    this.#options = options;
    this.#log = log;
  }

  /** Resolves once the station has an IP address; retries until then (or maxAttempts). */
  async up(): Promise<void> {
    if (hasAddress()) return this.#watch();
    if (!this.#options.ssid) throw new Error("no Wi-Fi SSID: build with mcconfig ... ssid=<name> password=<secret>");
    for (let attempt = 0; ; attempt++) {
      if (await this.#attempt()) {
        this.#log.log("info", "wifi.up", { attempt: attempt + 1, ip: Net.get("IP") });
        return this.#watch();
      }
      const limit = this.#options.backoff.maxAttempts;
      if (limit !== undefined && attempt + 1 >= limit) throw new Error(`Wi-Fi "${this.#options.ssid}" not joined after ${limit} attempts`);
      const delay = backoffDelayMs(this.#options.backoff, attempt, hardwareRandomFraction);
      this.#log.log("warn", "wifi.retry", { attempt: attempt + 1, delayMs: delay });
      await wait(delay);
    }
  }

  /** One join: resolves true on an IP address, false on disconnect or timeout. */
  #attempt(): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let settled = false;
      let monitor: WiFi | undefined;
      const finish = (ok: boolean) => {
        if (settled) return;
        settled = true;
        Timer.clear(timer);
        monitor?.close();
        if (!ok) WiFi.disconnect();
        resolve(ok);
      };
      const timer = Timer.set(() => finish(false), this.#options.attemptTimeoutMs);
      try {
        monitor = new WiFi({ ssid: this.#options.ssid ?? "", password: this.#options.password }, (message) => {
          if (message === WiFi.gotIP) finish(true);
          else if (message === WiFi.disconnected) finish(false);
        });
      } catch (error) {
        this.#log.log("warn", "wifi.error", { message: error instanceof Error ? error.message : String(error) });
        finish(false);
      }
    });
  }

  /** Rejoins in the background when the IP is lost. */
  #watch(): void {
    if (this.#monitor) return;
    this.#monitor = new WiFi(undefined, (message) => {
      if ((message === WiFi.lostIP || message === WiFi.disconnected) && !this.#reconnecting) {
        this.#log.log("warn", "wifi.lost", {});
        this.#reconnecting = true;
        this.#monitor?.close();
        this.#monitor = undefined;
        this.up()
          .catch((error) => this.#log.log("error", "wifi.gave-up", { message: error instanceof Error ? error.message : String(error) }))
          .finally(() => {
            this.#reconnecting = false;
          });
      }
    });
  }
}
