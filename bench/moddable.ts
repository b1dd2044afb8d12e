/**
 * bench section "moddable": the XS heap the firmware image needs, measured with Moddable's own
 * instrumentation on the Moddable lane's lin build (tools/moddable/lane.ts), with the image's
 * preloading: live slot heap, chunk heap and stack after a full GC once booted (all modules
 * loaded, nothing run), once online (first report acknowledged; the first-online sync of the
 * data template has just sent report_info and waits for its reply) and once that sync is done,
 * and the most the heaps held on the way online (garbage included, sampled every turn). Cold
 * boots of a PSK product over http+mqtt and over https+mqtts, and of a certificate product over
 * https+mqtts.
 *
 * lin runs a 64-bit XS whose slots are 32 bytes; the ESP32's are 16. The ESP32 figure is
 * slots x 16 + chunk bytes as measured (an upper bound: chunks holding slot arrays shrink too).
 * Goal (issue 12): a PSK device online needs at most 46 KB, half of the 94,208-byte static
 * budget of Moddable's ESP32 targets.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startPlatform } from "../simulator/platform/index";
import { bootLane, buildLaneImage, ESP32_SLOT_BYTES, HeadlessDisplay, laneHeap as heapLine, laneTls, LIN_SLOT_BYTES } from "../tools/moddable/lane";
import { locateSdk, SdkUnavailableError } from "../tools/moddable/sdk";
import type { BenchRow, SectionOutput } from "./lib/row";
import { spread } from "./lib/stats";

const RUNS = process.env.BENCH_QUICK ? 1 : 3;
const GOAL_BYTES = 46 * 1024;

type Heap = ReturnType<typeof heapLine>;
const PSK = { productId: "BENCHPSK01", productSecret: "YmVuY2hQc2tTZWNyZXQwMQ" };
const CERT = { productId: "BENCHCRT01", productSecret: "YmVuY2hDZXJ0U2VjcmV0MQ" };


const esp32 = (slotBytes: number, chunkBytes: number) => (slotBytes / LIN_SLOT_BYTES) * ESP32_SLOT_BYTES + chunkBytes;

async function main(): Promise<SectionOutput> {
  let sdk;
  try {
    sdk = await locateSdk({ needSimulator: true, log: (line) => process.stderr.write(`${line}\n`) });
  } catch (error) {
    if (error instanceof SdkUnavailableError) return { section: "moddable", rows: [], details: { skipped: error.message } };
    throw error;
  }
  const image = await buildLaneImage(sdk, (line) => process.stderr.write(`${line}\n`));
  const tls = laneTls();
  const names = Array.from({ length: RUNS }, (_, index) => `b${index}`);
  const platform = await startPlatform({
    memory: true,
    tls: { key: tls.keyPem, cert: tls.certChainPem },
    // Moddable's TLS client presents RSA client keys only (docs/ESP32.md).
    deviceKeyType: "rsa",
    config: {
      products: [
        { ...PSK, dynamicRegistration: true, autoCreate: false, authType: "psk", devices: names.flatMap((name) => [`plain${name}`, `tls${name}`]) },
        { ...CERT, dynamicRegistration: true, autoCreate: false, authType: "cert", devices: names.map((name) => `cert${name}`) },
      ],
    },
  });
  const display = await HeadlessDisplay.start();
  const work = mkdtempSync(path.join(tmpdir(), "explorer-xs-bench-moddable-"));
  const cases = [
    { label: "PSK, http+mqtt", product: PSK, device: "plain", authMode: "psk", registerUrl: `${platform.httpUrl}/device/register`, mqttUrl: platform.mqttUrl },
    { label: "PSK, https+mqtts", product: PSK, device: "tls", authMode: "psk", registerUrl: `${platform.httpsUrl}/device/register`, mqttUrl: platform.mqttTlsUrl! },
    { label: "certificate, https+mqtts", product: CERT, device: "cert", authMode: "cert", registerUrl: `${platform.httpsUrl}/device/register`, mqttUrl: platform.mqttTlsUrl! },
  ];
  const rows: BenchRow[] = [];
  try {
    for (const entry of cases) {
      const samples: Array<{ boot: Heap; online: Heap; synced: Heap }> = [];
      for (const name of names) {
        const deviceName = `${entry.device}${name}`;
        const run = await bootLane({
          sdk, image, display, dir: path.join(work, deviceName), until: /^lane\.(synced|failed|halt)\b/,
          preferences: { factory: { ...entry.product, deviceName, authMode: entry.authMode, registerUrl: entry.registerUrl, mqttUrl: entry.mqttUrl } },
        });
        if (run.end !== "lane.synced") throw new Error(`${entry.label}: the boot ended with ${run.end}:\n${run.lines.slice(-20).join("\n")}`);
        samples.push({ boot: heapLine(run.lines, "boot"), online: heapLine(run.lines, "online"), synced: heapLine(run.lines, "synced") });
      }
      const row = (name: string, values: number[], unit: string, goal?: { text: string; pass: (median: number) => boolean }, note?: string): BenchRow => {
        const stats = spread(values, 0);
        return { section: "moddable", name: `${entry.label}: ${name}`, unit, figure: stats.median, spread: stats, goal: goal?.text, pass: goal?.pass(stats.median), note };
      };
      const isPsk = entry.authMode === "psk";
      rows.push(
        row("heap after boot, ESP32 bytes (live slots x 16 + chunks)", samples.map((s) => esp32(s.boot.slotBytes, s.boot.chunkBytes)), "B"),
        row("heap online, ESP32 bytes (live slots x 16 + chunks)", samples.map((s) => esp32(s.online.slotBytes, s.online.chunkBytes)), "B",
          isPsk ? { text: "<= 46 KB (47,104 B)", pass: (median) => median <= GOAL_BYTES } : undefined,
          `lin: ${samples[0].online.slotBytes / LIN_SLOT_BYTES} slots, ${samples[0].online.chunkBytes} B chunks`),
        row("heap once the first-online sync is done, ESP32 bytes", samples.map((s) => esp32(s.synced.slotBytes, s.synced.chunkBytes)), "B", undefined,
          `lin: ${samples[0].synced.slotBytes / LIN_SLOT_BYTES} slots, ${samples[0].synced.chunkBytes} B chunks`),
        row("peak on the way online, ESP32 bytes (garbage included)", samples.map((s) => esp32(s.online.peakSlotBytes, s.online.peakChunkBytes)), "B"),
        row("XS stack peak, ESP32 bytes", samples.map((s) => (Math.max(s.online.peakStackBytes, s.online.stackBytes) / LIN_SLOT_BYTES) * ESP32_SLOT_BYTES), "B"),
      );
    }
  } finally {
    display.stop();
    await platform.close();
    rmSync(work, { recursive: true, force: true });
  }
  return { section: "moddable", rows, details: { runs: RUNS, linSlotBytes: LIN_SLOT_BYTES, esp32SlotBytes: ESP32_SLOT_BYTES } };
}

main().then(
  (output) => {
    process.stdout.write(JSON.stringify(output) + "\n");
    process.exit(0);
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
