/**
 * The fault run's scoreboard: every case of every family is counted here, and a root `after`
 * hook prints one table when mocha ends (cases, survived, data lost, the seed of any failure).
 * Each fault test file imports this module, so the hook is registered once for the whole run.
 */
export interface CaseResult {
  family: string;
  label: string;
  survived: boolean;
  /** An activated secret went missing or changed: must never happen. */
  dataLost?: boolean;
  /** fast-check seed (and path) that reproduces a failing property. */
  seed?: string;
  detail?: string;
}

interface FamilyRow {
  cases: number;
  survived: number;
  dataLost: number;
  failures: string[];
}

/** The run's fast-check seed: FAULT_SEED reproduces a run; otherwise fresh, and printed with the table. */
export const FUZZ_SEED = process.env.FAULT_SEED ? Number(process.env.FAULT_SEED) : (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0;

const families = new Map<string, FamilyRow>();

function row(family: string): FamilyRow {
  let found = families.get(family);
  if (!found) families.set(family, (found = { cases: 0, survived: 0, dataLost: 0, failures: [] }));
  return found;
}

export function recordCase(result: CaseResult): void {
  const r = row(result.family);
  r.cases++;
  if (result.survived) r.survived++;
  else r.failures.push(`${result.label}${result.seed ? ` (seed ${result.seed})` : ""}${result.detail ? `: ${result.detail}` : ""}`);
  if (result.dataLost) r.dataLost++;
}

/** Counts `count` property runs of a fast-check family at once. */
export function recordProperty(family: string, count: number, failure?: { seed: string; detail: string }): void {
  const r = row(family);
  r.cases += count;
  if (failure) {
    r.survived += count - 1;
    r.failures.push(`seed ${failure.seed}: ${failure.detail}`);
  } else {
    r.survived += count;
  }
}

export function formatTable(): string {
  const header = ["family", "cases", "survived", "data lost", "reproduce failure"];
  const rows = [...families.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([family, r]) => [
    family, String(r.cases), String(r.survived), String(r.dataLost), r.failures.length ? r.failures.slice(0, 3).join("; ").slice(0, 200) : "-",
  ]);
  const total = [...families.values()].reduce((sum, r) => ({ cases: sum.cases + r.cases, survived: sum.survived + r.survived, dataLost: sum.dataLost + r.dataLost }), { cases: 0, survived: 0, dataLost: 0 });
  rows.push(["TOTAL", String(total.cases), String(total.survived), String(total.dataLost), ""]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((cells) => cells[i].length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i])).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

// A root-level hook: registered once, when the first fault test file imports this module.
after(function printFaultTable() {
  if (families.size === 0) return;
  console.log(`\nFault matrix and fuzzing results (fast-check seed ${FUZZ_SEED}; rerun with FAULT_SEED=${FUZZ_SEED})\n${formatTable()}\n`);
});
