/**
 * Logger on XS's `trace` (the serial console / xsbug). The core masks secrets before it logs;
 * this adapter only formats, and bounds each line so a runaway field cannot flood the console.
 */
import type { LogLevel, Logger } from "../../firmware/contracts";

const MAX_LINE = 512;

export class TraceLogger implements Logger {
  readonly #minimum: number;
  static readonly #LEVELS: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

  constructor(minimum: LogLevel = "info") {
    this.#minimum = TraceLogger.#LEVELS[minimum];
  }

  log(level: LogLevel, event: string, fields: Record<string, string | number | boolean> = {}): void {
    if (TraceLogger.#LEVELS[level] < this.#minimum) return;
    let line = `${level} ${event}`;
    for (const name of Object.keys(fields)) line += ` ${name}=${String(fields[name])}`;
    if (line.length > MAX_LINE) line = line.slice(0, MAX_LINE) + "...";
    trace(line, "\n");
  }
}
