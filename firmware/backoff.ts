/**
 * Exponential backoff with full jitter (the AWS architecture blog's "full jitter"): the n-th
 * wait is uniform in [0, min(cap, base * 2^n)], so a fleet that fails together does not retry
 * together.
 */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
  /** Give up after this many consecutive failures (undefined: never). */
  maxAttempts?: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, capMs: 60_000 };

/** `random` returns a number in [0, 1); injected so tests and engines can supply their own. */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, random: () => number): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * Math.pow(2, Math.min(attempt, 30)));
  return Math.floor(random() * ceiling);
}
