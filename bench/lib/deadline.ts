/**
 * The moment bench/run.ts will stop a section (BENCH_SECTION_DEADLINE, epoch ms): a section with
 * repeated runs checks it between runs and reports the runs it finished rather than being killed
 * with none, which is what a loaded machine would otherwise do to it.
 */
export function msLeft(): number {
  const deadline = Number(process.env.BENCH_SECTION_DEADLINE);
  return Number.isFinite(deadline) && deadline > 0 ? deadline - Date.now() : Number.POSITIVE_INFINITY;
}
