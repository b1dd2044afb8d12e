/**
 * What the status LED shows for each boot state: a blink pattern, so a person at the bench can
 * tell "registering" from "online" from "failed" without a serial console. Engine-neutral.
 */
import type { BootState } from "../../firmware/boot";

export interface BlinkPattern {
  /** Milliseconds on, then off; offMs 0 is steady on, onMs 0 is steady off. */
  onMs: number;
  offMs: number;
}

const PATTERNS: Record<string, BlinkPattern> = {
  booting: { onMs: 100, offMs: 100 },
  registering: { onMs: 250, offMs: 250 },
  registered: { onMs: 250, offMs: 250 },
  connecting: { onMs: 500, offMs: 500 },
  online: { onMs: 1, offMs: 0 },
  backoff: { onMs: 100, offMs: 1900 },
  stopped: { onMs: 0, offMs: 1 },
};

/** Failed states blink long-short so they cannot be mistaken for progress. */
const FAILED: BlinkPattern = { onMs: 1500, offMs: 300 };

export function blinkPatternFor(state: BootState | "wifi"): BlinkPattern {
  if (state === "wifi") return PATTERNS.booting;
  if (state.startsWith("failed:")) return FAILED;
  return PATTERNS[state] ?? FAILED;
}
