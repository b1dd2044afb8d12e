/**
 * The platform's log: one JSON-able event a call. Beside it, a log for events a client can cause
 * at will (a request it abandons, say): at most one line per interval, the next one counting the
 * lines left out since, so a flood of them cannot fill the log or the console while the first
 * still shows.
 */
/** One structured event of the platform (printed as a JSON line unless --no-log). */
export type PlatformLog = (event: Record<string, unknown>) => void;

export const ABORTED_LOG_INTERVAL_MS = 1_000;

export function rateLimitedLog(log: PlatformLog, now: () => number, intervalMs = ABORTED_LOG_INTERVAL_MS): PlatformLog {
  let lastAt = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (event) => {
    const at = now();
    if (at - lastAt < intervalMs) {
      suppressed++;
      return;
    }
    lastAt = at;
    log(suppressed > 0 ? { ...event, suppressed } : event);
    suppressed = 0;
  };
}
