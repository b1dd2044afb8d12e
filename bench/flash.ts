/**
 * Flash section of the benchmarks: what a boot costs the device's flash (NVS wear) and what the
 * stored record takes, for a PSK product and a certificate product, against the mock platform
 * on loopback (in this process: these are counts, not timings). Each device boots twice on its
 * own flash file: cold (factory-fresh: registers, stores the record) and warm (same file:
 * reads the record, writes nothing). Repeated over several devices; the median and min/max are
 * reported (the counts are deterministic; a spread other than zero would be a finding).
 *
 * Prints one JSON SectionOutput on stdout. Run: node --import tsx bench/flash.ts
 * BENCH_QUICK=1 runs fewer devices.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPlatform, type RunningPlatform } from "../simulator/platform/index";
import { startSimDevice } from "../simulator/sim-device";
import { inspectFlash, type FlashReport } from "../firmware/record-store";
import type { AuthMode } from "../firmware/device-info";
import { spread } from "./lib/stats";
import { printWhenRunAsScript, type BenchRow, type SectionOutput } from "./lib/row";

const RUNS = process.env.BENCH_QUICK === "1" ? 3 : 5;
const PSK = { productId: "BENCHPSK01", productSecret: "benchPskProductSecretR4t7" };
const CERT = { productId: "BENCHCRT01", productSecret: "benchCertProductSecretM2x" };

interface BootCost { coldWrites: number; warmWrites: number; warmHttp: number; slotBytes: number; storedBytes: number; keysPerSlot: number }

/** The bytes the current record's slot holds (sealed head plus chunks), and over both slots. */
function recordBytes(report: FlashReport): { slotBytes: number; storedBytes: number; keysPerSlot: number } {
  const bytes = (slot: FlashReport["slots"][number]) => (slot.headBytes ?? 0) + (slot.chunkBytes ?? 0);
  const current = report.slots.find((slot) => slot.current);
  return {
    slotBytes: current ? bytes(current) : 0,
    storedBytes: report.slots.reduce((sum, slot) => sum + bytes(slot), 0),
    keysPerSlot: current ? 1 + (current.chunkCount ?? 0) : 0,
  };
}

async function bootCost(platform: RunningPlatform, dir: string, authMode: AuthMode, deviceName: string, ca?: string): Promise<BootCost> {
  const product = authMode === "psk" ? PSK : CERT;
  const flashFile = join(dir, `${authMode}-${deviceName}.flash`);
  const options = {
    flashFile,
    registerUrl: `${platform.httpUrl}/device/register`,
    mqttUrl: authMode === "psk" ? platform.mqttUrl : platform.mqttTlsUrl!,
    ca,
    factoryInfo: { ...product, deviceName, authMode },
    logger: { log: () => undefined },
    boot: { backoff: { baseMs: 50, capMs: 500, maxAttempts: 3 } },
  };
  const cold = startSimDevice(options);
  await cold.task.online.finally(() => cold.close());
  const stored = recordBytes(inspectFlash(cold.hal));
  const warm = startSimDevice(options);
  await warm.task.online.finally(() => warm.close());
  return { coldWrites: cold.counters.flashWrites, warmWrites: warm.counters.flashWrites, warmHttp: warm.counters.httpRequests, ...stored };
}

function rowsFor(label: string, costs: BootCost[]): BenchRow[] {
  const of = (pick: (cost: BootCost) => number) => spread(costs.map(pick), 0);
  const coldWrites = of((cost) => cost.coldWrites);
  const warmWrites = of((cost) => cost.warmWrites);
  const slotBytes = of((cost) => cost.slotBytes);
  const storedBytes = of((cost) => cost.storedBytes);
  const keys = of((cost) => cost.keysPerSlot);
  return [
    { section: "flash", name: `${label}: flash writes per cold boot`, unit: "writes", figure: coldWrites.median, spread: coldWrites,
      note: `record written once (${keys.median} key${keys.median === 1 ? "" : "s"}), then mirrored into the other slot` },
    { section: "flash", name: `${label}: flash writes per warm boot`, unit: "writes", figure: warmWrites.median, spread: warmWrites, goal: "0", pass: warmWrites.max === 0 },
    { section: "flash", name: `${label}: bytes per record (one slot, sealed)`, unit: "bytes", figure: slotBytes.median, spread: slotBytes,
      note: `${storedBytes.median} bytes over both slots` },
  ];
}

export async function runFlashBench(): Promise<SectionOutput> {
  const dir = mkdtempSync(join(tmpdir(), "explorer-xs-bench-flash-"));
  let serverCert: string | undefined;
  let certSkipped: string | undefined;
  try {
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", join(dir, "server.key"), "-out", join(dir, "server.pem"), "-days", "2",
      "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
    serverCert = readFileSync(join(dir, "server.pem"), "utf8");
  } catch (error) {
    certSkipped = `no openssl to make the platform's TLS certificate: ${(error as Error).message.split("\n")[0]}`;
  }
  const names = Array.from({ length: RUNS }, (_, index) => `flash${index}`);
  const platform = await startPlatform({
    memory: true,
    log: () => undefined,
    tls: serverCert ? { key: readFileSync(join(dir, "server.key")), cert: serverCert } : undefined,
    config: { products: [
      { ...PSK, dynamicRegistration: true, authType: "psk", devices: names },
      { ...CERT, dynamicRegistration: true, authType: "cert", devices: names },
    ] },
  });
  try {
    const psk: BootCost[] = [];
    const cert: BootCost[] = [];
    for (const name of names) psk.push(await bootCost(platform, dir, "psk", name));
    if (serverCert) for (const name of names) cert.push(await bootCost(platform, dir, "cert", name, serverCert));
    const rows = [...rowsFor("PSK device", psk), ...(cert.length ? rowsFor("cert device", cert) : [])];
    return { section: "flash", rows, details: { devices: RUNS, certSkipped, psk: psk[0], cert: cert[0] } };
  } finally {
    await platform.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await printWhenRunAsScript(import.meta.url, runFlashBench);
