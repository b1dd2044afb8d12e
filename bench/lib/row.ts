/**
 * One line of the benchmark table, as every section reports it to bench/run.ts: the figure
 * (median of repeated runs) with its spread, and, for throughput and memory, the ceiling it is
 * compared with (measured in the same run) and the ratio between them.
 */
import { pathToFileURL } from "node:url";
import type { Spread } from "./stats";

export interface BenchRow {
  section: string;
  name: string;
  unit: string;
  /** The figure: the median of `runs`. */
  figure: number;
  spread: Spread;
  ceiling?: { name: string; figure: number; spread: Spread };
  /** figure / ceiling, oriented so that 1 means "as good as the ceiling" (inverted for memory). */
  ratio?: number;
  /** What counts as passing, in words, and whether this run passed it. */
  goal?: string;
  pass?: boolean;
  note?: string;
}

/** What a section prints as its single line of JSON on stdout. */
export interface SectionOutput {
  section: string;
  rows: BenchRow[];
  details?: unknown;
}

/**
 * Runs `section` and prints its output as one line of JSON when `moduleUrl` (the caller's
 * import.meta.url) is the script node was started with: how bench/run.ts runs each section.
 */
export async function printWhenRunAsScript(moduleUrl: string, section: () => Promise<unknown>): Promise<void> {
  if (!process.argv[1] || pathToFileURL(process.argv[1]).href !== moduleUrl) return;
  process.stdout.write(JSON.stringify(await section()) + "\n");
}
