/**
 * `npm run bench`: runs every benchmark section in its own child process with its own time
 * bound (and the whole within TOTAL_BUDGET_MS), prints one table, and writes
 * bench/results.json. A section that fails or overruns is killed (with its children) and
 * reported as such; the others still run.
 *
 * Each row is a median over repeated runs with its spread (min..max); throughput and memory
 * rows carry the ceiling measured in the same run and the ratio to it (goal: at least 0.5).
 *
 * Options: --only a,b    run only these sections (startup, flash, platform, http-ceiling, connect-ceiling, fleet, ota, xs, moddable)
 *          --large       run the large sections instead (fleet-100k, registry-1m; tens of minutes)
 *          --out FILE    write the results there instead of bench/results.json
 *          --markdown    print the table as Markdown (for BENCHMARKS.md)
 * Environment: BENCH_QUICK=1 shrinks every section (a smoke run, not a measurement).
 */
import { spawn } from "node:child_process";
import { cpus, freemem, loadavg, totalmem } from "node:os";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchRow, SectionOutput } from "./lib/row";
import { round, spread } from "./lib/stats";

const HERE = dirname(fileURLToPath(import.meta.url));
const TOTAL_BUDGET_MS = 9.5 * 60_000;
const LARGE_BUDGET_MS = 60 * 60_000;

interface Section {
  name: string;
  file: string;
  timeoutMs: number;
  /** Only under --large (100k devices, a 1M-device registry). */
  large?: boolean;
  /** Turns the script's stdout JSON into table rows. */
  toRows(output: unknown): BenchRow[];
}

const ownRows = (output: unknown) => (output as SectionOutput).rows;

/**
 * Every section, in running order. To add one (e.g. Moddable heap figures), write a script that
 * prints one JSON SectionOutput line (bench/lib/row.ts, printWhenRunAsScript) and add a line here: bench/run.ts runs
 * it in its own process group with its own bound, and its rows join the table.
 */
const SECTIONS: Section[] = [
  { name: "startup", file: "startup.ts", timeoutMs: 120_000, toRows: ownRows },
  { name: "flash", file: "flash.ts", timeoutMs: 60_000, toRows: ownRows },
  { name: "platform", file: "platform.ts", timeoutMs: 120_000, toRows: platformRows },
  { name: "http-ceiling", file: "http-ceiling.ts", timeoutMs: 90_000, toRows: ownRows },
  { name: "connect-ceiling", file: "connect-ceiling.ts", timeoutMs: 90_000, toRows: ownRows },
  { name: "fleet", file: "fleet.ts", timeoutMs: 300_000, toRows: ownRows },
  { name: "ota", file: "ota.ts", timeoutMs: 300_000, toRows: ownRows },
  { name: "xs", file: "xs.ts", timeoutMs: 90_000, toRows: xsRows },
  { name: "moddable", file: "moddable.ts", timeoutMs: 900_000, toRows: moddableRows },
  { name: "fleet-100k", file: "fleet-large.ts", timeoutMs: 30 * 60_000, toRows: ownRows, large: true },
  { name: "registry-1m", file: "registry-growth.ts", timeoutMs: 25 * 60_000, toRows: ownRows, large: true },
];

// ---------------------------------------------------------------------------------------------
// Adapters for the sections whose scripts other parts of the project own.
// ---------------------------------------------------------------------------------------------

interface PlatformFigure { median: number; runs: number[]; failed: number; concurrency: number; perPlatformCpuSecond?: number }

function platformRows(output: unknown): BenchRow[] {
  const result = output as { registrationsPerSecond: PlatformFigure; connectsPerSecond: PlatformFigure };
  const row = (name: string, figure: PlatformFigure): BenchRow => {
    const stats = spread(figure.runs, 0);
    return {
      section: "platform", name: `${name} (${figure.concurrency} in flight, separate load process)`, unit: "/s",
      figure: stats.median, spread: stats, goal: ">= 2000/s", pass: stats.median >= 2000,
      note: [figure.perPlatformCpuSecond ? `${figure.perPlatformCpuSecond} per platform CPU-second` : "", figure.failed ? `${figure.failed} failed` : ""].filter(Boolean).join("; ") || undefined,
    };
  };
  return [row("registrations/s", result.registrationsPerSecond), row("authenticated MQTT connects/s", result.connectsPerSecond)];
}

/** XS prints the section format itself (bench/xs.ts, three lanes per run); a skipped lane says why. */
function xsRows(output: unknown): BenchRow[] {
  const xs = output as SectionOutput & { details?: { skipped?: string } };
  if (xs.rows.length === 0 && xs.details?.skipped) {
    return [{ section: "xs", name: "XS lane", unit: "", figure: Number.NaN, spread: spread([Number.NaN]), note: `skipped: ${xs.details.skipped}` }];
  }
  return xs.rows;
}

/** The Moddable lane's heap figures (bench/moddable.ts); without an SDK it says why it skipped. */
function moddableRows(output: unknown): BenchRow[] {
  const result = output as SectionOutput & { details?: { skipped?: string } };
  if (result.rows.length === 0 && result.details?.skipped) {
    return [{ section: "moddable", name: "Moddable lane heap", unit: "", figure: Number.NaN, spread: spread([Number.NaN]), note: `skipped: ${result.details.skipped}` }];
  }
  return result.rows;
}

// ---------------------------------------------------------------------------------------------
// Running one section.
// ---------------------------------------------------------------------------------------------

/** Process groups of running sections, killed if the bench itself is interrupted. */
const runningGroups = new Set<number>();

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try { process.kill(-pid, "SIGKILL"); } catch { /* the group is gone already */ }
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    for (const pid of runningGroups) killGroup(pid);
    process.stderr.write(`bench: ${signal}, sections stopped\n`);
    process.exit(130);
  });
}

/**
 * Runs a section script once in its own process group (its platform, servers and load
 * processes included), killing the group if it overruns, and once it is done so that nothing
 * a section started can outlive it.
 */
function runScript(file: string, timeoutMs: number): Promise<unknown> {
  // The section may read its own deadline (bench/lib/deadline.ts), kept a little before the kill.
  const env = { ...process.env, BENCH_SECTION_DEADLINE: String(Date.now() + timeoutMs - 15_000) };
  const child = spawn(process.execPath, ["--import", "tsx", join(HERE, file)], { stdio: ["ignore", "pipe", "inherit"], detached: true, env });
  if (child.pid !== undefined) runningGroups.add(child.pid);
  let stdout = "";
  child.stdout!.on("data", (chunk) => (stdout += chunk));
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, timeoutMs);
    child.once("error", (error) => { clearTimeout(timer); reject(error); });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      killGroup(child.pid);
      if (child.pid !== undefined) runningGroups.delete(child.pid);
      if (timedOut) return reject(new Error(`overran its ${Math.round(timeoutMs / 1000)} s bound and was killed`));
      if (code !== 0) return reject(new Error(`exited with ${code ?? signal}`));
      try {
        resolve(JSON.parse(stdout.trim()));
      } catch {
        const lines = stdout.trim().split("\n");
        try { resolve(JSON.parse(lines[lines.length - 1])); } catch { reject(new Error(`printed no JSON: ${stdout.slice(0, 200)}`)); }
      }
    });
  });
}

interface SectionResult { name: string; status: "ok" | "failed"; seconds: number; error?: string; rows: BenchRow[]; raw?: unknown }

async function runSection(section: Section, deadline: number): Promise<SectionResult> {
  const started = performance.now();
  try {
    const left = deadline - Date.now();
    if (left < 5000) throw new Error("no time left in the bench's overall budget");
    const output = await runScript(section.file, Math.min(section.timeoutMs, left));
    return { name: section.name, status: "ok", seconds: round((performance.now() - started) / 1000), rows: section.toRows(output), raw: output };
  } catch (error) {
    const message = (error as Error).message;
    process.stderr.write(`bench: section ${section.name} ${message}\n`);
    return { name: section.name, status: "failed", seconds: round((performance.now() - started) / 1000), error: message, rows: [] };
  }
}

// ---------------------------------------------------------------------------------------------
// Machine, table, results file.
// ---------------------------------------------------------------------------------------------

function machine() {
  let cpuModel = cpus()[0]?.model ?? "unknown";
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? cpuModel;
  } catch { /* not Linux */ }
  return {
    cpus: cpus().length,
    cpuModel,
    memoryGb: round(totalmem() / 1024 ** 3, 1),
    freeMemoryGb: round(freemem() / 1024 ** 3, 1),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverageAtStart: loadavg().map((load) => round(load, 2)),
  };
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return "-";
  return Math.abs(value) >= 100 ? String(Math.round(value)) : String(round(value, 2));
}

function table(rows: BenchRow[], markdown: boolean): string {
  const header = ["section", "figure", "median", "spread min..max", "ceiling (median)", "ratio", "goal", "pass"];
  const lines = rows.map((row) => [
    row.section,
    row.name,
    `${formatNumber(row.figure)} ${row.unit}`,
    `${formatNumber(row.spread.min)}..${formatNumber(row.spread.max)}`,
    row.ceiling ? `${formatNumber(row.ceiling.figure)} (${row.ceiling.name})` : "",
    row.ratio !== undefined ? String(row.ratio) : "",
    row.goal ?? "",
    row.pass === undefined ? "" : row.pass ? "PASS" : "FAIL",
  ]);
  if (markdown) {
    const escape = (cell: string) => cell.replace(/\|/g, "\\|");
    const withNotes = [[...header, "note"], [...header, "note"].map(() => "---"), ...lines.map((line, index) => [...line, rows[index].note ?? ""])];
    return withNotes.map((cells) => `| ${cells.map(escape).join(" | ")} |`).join("\n");
  }
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column].length)));
  const render = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column])).join("  ").trimEnd();
  return [render(header), widths.map((width) => "-".repeat(width)).join("  "), ...lines.map(render)].join("\n");
}

function parseArgs(argv: string[]): { only?: string[]; out: string; markdown: boolean; large: boolean } {
  let only: string[] | undefined;
  let markdown = false;
  let large = false;
  let out = join(HERE, "results.json");
  for (let index = 0; index < argv.length; index++) {
    if (argv[index] === "--only") only = (argv[++index] ?? "").split(",").filter(Boolean);
    else if (argv[index] === "--out") out = argv[++index] ?? out;
    else if (argv[index] === "--markdown") markdown = true;
    else if (argv[index] === "--large") large = true;
    else throw new Error(`unknown option ${argv[index]} (use --only a,b, --large, --out FILE, --markdown)`);
  }
  const unknown = only?.filter((name) => !SECTIONS.some((section) => section.name === name)) ?? [];
  if (unknown.length) throw new Error(`unknown section ${unknown.join(", ")}; sections: ${SECTIONS.map((section) => section.name).join(", ")}`);
  return { only, out, markdown, large };
}

const args = parseArgs(process.argv.slice(2));
const startedAt = new Date();
const machineAtStart = machine();
const deadline = Date.now() + (args.large ? LARGE_BUDGET_MS : TOTAL_BUDGET_MS);
const results: SectionResult[] = [];
for (const section of SECTIONS) {
  if (args.only ? !args.only.includes(section.name) : Boolean(section.large) !== args.large) continue;
  process.stderr.write(`bench: ${section.name}...\n`);
  results.push(await runSection(section, deadline));
}
const rows = results.flatMap((result) => result.rows);
const document = {
  date: startedAt.toISOString(),
  command: `npm run bench${process.argv.length > 2 ? " -- " + process.argv.slice(2).join(" ") : ""}${process.env.BENCH_QUICK === "1" ? " (BENCH_QUICK=1)" : ""}`,
  machine: machineAtStart,
  loadAverageAtEnd: loadavg().map((load) => round(load, 2)),
  totalSeconds: round((Date.now() - startedAt.getTime()) / 1000),
  sections: results.map(({ raw: _raw, rows: _rows, ...summary }) => summary),
  rows,
  raw: Object.fromEntries(results.map((result) => [result.name, result.raw])),
};
writeFileSync(args.out, JSON.stringify(document, null, 2) + "\n");
process.stdout.write(table(rows, args.markdown) + "\n\n");
for (const result of results) process.stdout.write(`${result.name}: ${result.status} in ${result.seconds} s${result.error ? ` (${result.error})` : ""}\n`);
process.stdout.write(`total ${document.totalSeconds} s; load average (1, 5, 15 min) ${machineAtStart.loadAverageAtStart.join(", ")} at start, ${document.loadAverageAtEnd.join(", ")} at end (${machineAtStart.cpus} CPUs); results in ${args.out}\n`);
process.exitCode = results.every((result) => result.status === "ok") ? 0 : 1;
