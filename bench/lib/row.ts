/**
 * One line of the benchmark table, as every section reports it to bench/run.ts: the figure
 * (median of repeated runs) with its spread, and, for throughput and memory, the ceiling it is
 * compared with (measured in the same run) and the ratio between them.
 */
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
