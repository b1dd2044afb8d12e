/**
 * The Node logger: one JSON line per event, for the simulator's logs and timelines.
 *
 * The core masks secrets before logging (firmware/log.ts); this is a second, defensive pass. Any
 * field whose name looks like a secret is masked with maskSecret whatever its value, so a mistake
 * upstream costs a masked value instead of a leaked credential. Tests that look for leaks turn
 * it off (`redact: false`): they must see what the core hands a port, as a board would print it.
 */
import { maskSecret } from "../../firmware/encoding";
import type { Logger, LogLevel } from "../../firmware/contracts";

export type LogFields = Record<string, string | number | boolean>;

export interface NodeLoggerOptions {
  /** Receives each line, without a trailing newline. Default: process.stdout. */
  sink?: (line: string) => void;
  /** Events below this level are dropped. Default "info". */
  level?: LogLevel;
  /** Added to every line as "device". */
  deviceName?: string;
  /** Clock for the "ts" field (ms since the epoch). Default Date.now: the host's, not the device's. */
  now?: () => number;
  /** Mask secret-named fields here too (default true). */
  redact?: boolean;
}

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Field names that may hold a credential: masked whatever their value. */
const SECRET_FIELD = /psk|secret|passw|pwd|key|cert|token|credential|auth/i;

export function isSecretFieldName(name: string): boolean {
  return SECRET_FIELD.test(name);
}

/** The fields with every secret-looking one masked. */
export function redactFields(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [name, value] of Object.entries(fields)) {
    out[name] = isSecretFieldName(name) ? maskSecret(String(value)) : value;
  }
  return out;
}

export function createNodeLogger(options: NodeLoggerOptions = {}): Logger {
  const sink = options.sink ?? ((line: string) => process.stdout.write(line + "\n"));
  const threshold = LEVEL_RANK[options.level ?? "info"];
  if (threshold === undefined) throw new RangeError(`unknown log level ${String(options.level)}`);
  const now = options.now ?? Date.now;
  return {
    log(level, event, fields) {
      const rank = LEVEL_RANK[level];
      if (rank === undefined || rank < threshold) return;
      const entry: Record<string, string | number | boolean> = { ts: new Date(now()).toISOString(), level };
      if (options.deviceName !== undefined) entry.device = options.deviceName;
      entry.event = event;
      if (fields) {
        // A field may not overwrite ts/level/device/event: it is kept under a prefixed name.
        for (const [name, value] of Object.entries(options.redact === false ? fields : redactFields(fields))) entry[name in entry ? `field.${name}` : name] = value;
      }
      sink(JSON.stringify(entry));
    },
  };
}

export interface MemoryLogger extends Logger {
  /** Every line written, in order. */
  readonly lines: string[];
  /** The lines parsed back into objects. */
  entries(): Record<string, unknown>[];
}

/** A logger that keeps its lines in memory, for tests. Logs every level unless told otherwise. */
export function createMemoryLogger(options: Omit<NodeLoggerOptions, "sink"> = {}): MemoryLogger {
  const lines: string[] = [];
  const logger = createNodeLogger({ level: "debug", ...options, sink: (line) => lines.push(line) });
  return {
    lines,
    log: logger.log,
    entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
