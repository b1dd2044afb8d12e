/**
 * Paired ceiling runs: a load process drives the project's server and a bare server in turn,
 * back to back, so noise on a shared machine hits both alike. Each pair gives a ratio; the
 * row reports the median ratio, both rates with their spread, and what each costs per
 * server CPU-second (which does not depend on what else the machine runs).
 */
import { join } from "node:path";
import type { LoadReport } from "../load/register-load";
import { cpuSecondsOf, runWorker } from "./processes";
import type { BenchRow } from "./row";
import { median, round, spread } from "./stats";

export type TimedLoad = LoadReport & { serverCpuSeconds?: number };

export interface LoadTiming {
  warmupMs: number;
  durationMs: number;
}

/** One timed load run (a forked bench/load/*.ts), with the CPU the server spent in its timed share. */
export async function timedLoad<T extends LoadTiming>(loadDir: string, file: string, task: T, serverPid: number | undefined): Promise<TimedLoad> {
  const before = cpuSecondsOf(serverPid);
  const report = await runWorker<T, LoadReport>(join(loadDir, file), task, task.warmupMs + task.durationMs + 30_000);
  const after = cpuSecondsOf(serverPid);
  // Warm-up operations are not counted, so count only the timed share of the CPU.
  const share = task.durationMs / (task.warmupMs + task.durationMs);
  return { ...report, serverCpuSeconds: before !== undefined && after !== undefined ? (after - before) * share : undefined };
}

export function rateOf(report: LoadReport, what: string): number {
  if (report.failed > 0) process.stderr.write(`${what}: ${report.failed} failed, first: ${report.firstFailure}\n`);
  return report.ok / (report.elapsedMs / 1000);
}

/** Each back-to-back pair's ratio and their median (noise between pairs cancels), with the note naming them. */
export function medianPairRatio(figures: number[], ceilings: number[]): { ratio: number; note: string } {
  const pairRatios = figures.map((figure, index) => figure / ceilings[index]);
  return {
    ratio: median(pairRatios),
    note: `ratio = median of ${pairRatios.length} back-to-back pairs (${pairRatios.map((value) => round(value, 2)).join(", ")})`,
  };
}

export interface PairedRowInput {
  section: string;
  name: string;
  unit: string;
  /** What one operation is, on each side, for the per-CPU note ("registrations", "constant answers"). */
  operation: string;
  ceilingOperation: string;
  ceilingName: string;
  pairs: Array<{ figure: TimedLoad; ceiling: TimedLoad }>;
}

export function pairedRow(input: PairedRowInput): BenchRow {
  const figures = input.pairs.map((pair) => rateOf(pair.figure, input.operation));
  const ceilings = input.pairs.map((pair) => rateOf(pair.ceiling, input.ceilingOperation));
  const { ratio, note } = medianPairRatio(figures, ceilings);
  const perCpu = (side: "figure" | "ceiling") => input.pairs.flatMap((pair) => (pair[side].serverCpuSeconds ? [pair[side].ok / pair[side].serverCpuSeconds!] : []));
  const figureCpu = perCpu("figure");
  const ceilingCpu = perCpu("ceiling");
  const failed = input.pairs.reduce((sum, pair) => sum + pair.figure.failed + pair.ceiling.failed, 0);
  const cpuNote = figureCpu.length && ceilingCpu.length
    ? `; per server CPU-second: ${Math.round(median(figureCpu))} ${input.operation} vs ${Math.round(median(ceilingCpu))} ${input.ceilingOperation} (ratio ${round(median(figureCpu) / median(ceilingCpu), 2)})`
    : "";
  const figure = spread(figures, 0);
  const top = spread(ceilings, 0);
  return {
    section: input.section, name: input.name, unit: input.unit,
    figure: figure.median, spread: figure,
    ceiling: { name: input.ceilingName, figure: top.median, spread: top },
    ratio: round(ratio, 2), goal: "ratio >= 0.5", pass: ratio >= 0.5,
    note: `${note}${cpuNote}${failed ? `; ${failed} failed` : ""}`,
  };
}
