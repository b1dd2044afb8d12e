/**
 * Keeps `npm run bench` from rotting: runs bench/run.ts end to end on its smallest section
 * (flash, BENCH_QUICK=1) in its own process and checks the results file it writes. Asserts
 * the shape and the flash counts, never a timing.
 */
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { BenchRow } from "../bench/lib/row";
import { median, quartiles, spread } from "../bench/lib/stats";
import { pairedRow } from "../bench/lib/paired";

const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

describe("bench smoke (bench/run.ts --only flash)", function () {
  this.timeout(60_000);
  let dir: string;

  before(() => { dir = mkdtempSync(join(tmpdir(), "explorer-xs-bench-smoke-")); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("prints a table and writes results with median, spread and machine", async () => {
    const out = join(dir, "results.json");
    const { stdout } = await run(process.execPath, ["--import", "tsx", "bench/run.ts", "--only", "flash", "--out", out],
      { cwd: ROOT, env: { ...process.env, BENCH_QUICK: "1" }, timeout: 50_000 });
    assert.match(stdout, /flash writes per warm boot/);
    assert.match(stdout, /flash: ok/);
    const results = JSON.parse(readFileSync(out, "utf8")) as { machine: { cpus: number; cpuModel: string }; sections: Array<{ name: string; status: string }>; rows: BenchRow[] };
    assert.deepEqual(results.sections.map((section) => [section.name, section.status]), [["flash", "ok"]]);
    assert.ok(results.machine.cpus >= 1 && results.machine.cpuModel.length > 0);
    const row = (name: string) => results.rows.find((candidate) => candidate.name === name);
    const warm = row("PSK device: flash writes per warm boot");
    assert.ok(warm, "warm boot row present");
    assert.equal(warm.figure, 0);
    assert.equal(warm.pass, true);
    assert.ok(warm.spread.runs.length >= 3, "a median of several runs, not one sample");
    assert.equal(row("PSK device: flash writes per cold boot")?.figure, 2, "record written once and mirrored");
    const bytes = row("PSK device: bytes per record (one slot, sealed)");
    assert.ok(bytes && bytes.figure > 0 && bytes.spread.min <= bytes.figure && bytes.figure <= bytes.spread.max);
  });

  it("the start-up section times the compiled CLI, a cold device and its bare ceiling, and says why the Python SDK row is skipped", async () => {
    const out = join(dir, "startup.json");
    await run(process.execPath, ["--import", "tsx", "bench/run.ts", "--only", "startup", "--out", out],
      { cwd: ROOT, env: { ...process.env, BENCH_QUICK: "1", PYTHON: "python3-not-installed-here" }, timeout: 110_000 });
    const results = JSON.parse(readFileSync(out, "utf8")) as { sections: Array<{ name: string; status: string }>; rows: BenchRow[] };
    assert.deepEqual(results.sections.map((section) => [section.name, section.status]), [["startup", "ok"]]);
    const [help, cold, python] = results.rows;
    assert.match(help.name, /explorer-xs --help/);
    assert.ok(help.figure > 0 && help.ceiling!.figure > 0 && help.pass !== undefined, "both sides timed, goal judged");
    assert.match(cold.name, /device --once/);
    assert.ok(cold.figure > 0 && cold.ceiling!.figure > 0);
    assert.match(python.note ?? "", /^skipped: /, "a missing Python SDK is a named skip, not a failure");
  }).timeout(120_000);

  it("refuses an unknown section by name", async () => {
    await assert.rejects(run(process.execPath, ["--import", "tsx", "bench/run.ts", "--only", "nosuch", "--out", join(dir, "x.json")], { cwd: ROOT, timeout: 30_000 }),
      (error: Error & { stderr?: string }) => /unknown section nosuch/.test(error.stderr ?? ""));
  });
});

describe("bench statistics (bench/lib/stats.ts)", () => {
  it("takes the middle value, or the mean of the two middle ones, whatever the order", () => {
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.ok(Number.isNaN(median([])));
  });

  it("reports the spread of the runs beside the median, rounded, runs kept in their order", () => {
    assert.deepEqual(spread([3.14159, 1.01, 2.5]), { median: 2.5, min: 1, max: 3.1, runs: [3.1, 1, 2.5] });
  });

  it("interpolates quartiles between samples", () => {
    assert.deepEqual(quartiles([1, 2, 3, 4, 5]), { q1: 2, q3: 4 });
    assert.deepEqual(quartiles([1, 2, 3, 4]), { q1: 1.75, q3: 3.25 });
  });
});

describe("bench paired ceiling rows (bench/lib/paired.ts)", () => {
  const load = (ok: number, elapsedMs: number, serverCpuSeconds?: number) => ({ ok, failed: 0, elapsedMs, serverCpuSeconds });

  it("takes the median of the per-pair ratios, not the ratio of the medians, and judges it against 0.5", () => {
    // Pair rates 100/400, 300/400, 200/300: ratios 0.25, 0.75, 0.67 -> median 0.67 (medians alone would give 200/400).
    const row = pairedRow({
      section: "platform", name: "ops", unit: "/s", operation: "ops", ceilingOperation: "bare ops", ceilingName: "bare",
      pairs: [
        { figure: load(100, 1000, 0.5), ceiling: load(400, 1000, 0.5) },
        { figure: load(300, 1000, 1), ceiling: load(400, 1000, 0.5) },
        { figure: load(200, 1000, 1), ceiling: load(300, 1000, 1) },
      ],
    });
    assert.equal(row.ratio, 0.67);
    assert.equal(row.pass, true);
    assert.deepEqual([row.figure, row.ceiling?.figure], [200, 400]);
    assert.match(row.note ?? "", /per server CPU-second: 200 ops vs 800 bare ops \(ratio 0.25\)/);
  });

  it("fails a row whose median pair ratio is under 0.5", () => {
    const row = pairedRow({
      section: "platform", name: "ops", unit: "/s", operation: "ops", ceilingOperation: "bare ops", ceilingName: "bare",
      pairs: [{ figure: load(49, 1000), ceiling: load(100, 1000) }],
    });
    assert.equal(row.ratio, 0.49);
    assert.equal(row.pass, false);
  });
});
