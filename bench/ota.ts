/**
 * OTA section of the benchmarks: a firmware rollout over a fleet of simulated devices in this
 * process, against the mock platform on loopback, run by the same code as `explorer-xs fleet
 * --ota` (simulator/fleet.ts with firmwareVersion, simulator/fleet-ota.ts): every device comes
 * online on 1.0.0 (Node HAL, real sockets, its two emulated application slots and its NVS in
 * memory); a 300 KiB image is uploaded through the Cloud API and one BatchUpdateFirmware sends
 * it; each device downloads it in 16 KiB Range chunks, restarts into the new slot and confirms it
 * online. Reported: time from the task to each device's confirmation (p50/p95/p99), the whole
 * rollout's time, failures by cause, and bytes served (devices × image, plus any chunk fetched
 * again after a request timed out under load), checked against the object store's own count.
 *
 * Prints one JSON SectionOutput on stdout. Run: node --import tsx bench/ota.ts
 * BENCH_QUICK=1 runs 50 devices instead of 1,000.
 */
import { callCloudApi } from "../simulator/cloud-api-client";
import { deviceName, runFleet } from "../simulator/fleet";
import { rollout } from "../simulator/fleet-ota";
import { startPlatform } from "../simulator/platform/index";
import { printWhenRunAsScript, type BenchRow, type SectionOutput } from "./lib/row";
import { spread } from "./lib/stats";

const DEVICES = process.env.BENCH_QUICK === "1" ? 50 : 1000;
const IMAGE_BYTES = 300 * 1024;
const PRODUCT = { productId: "BENCHOTA01", productSecret: "benchOtaProductSecretR4t7" };
/** Devices booting at once (the fleet's default order of magnitude for one process). */
const BOOT_CONCURRENCY = 100;

export async function runOtaSection(): Promise<SectionOutput> {
  const names = Array.from({ length: DEVICES }, (_, index) => deviceName("ota", index));
  const platform = await startPlatform({ memory: true, log: () => undefined, config: { products: [{ ...PRODUCT, dynamicRegistration: true, autoCreate: false, authType: "psk", devices: names }] } });
  try {
    const summary = await runFleet({
      count: DEVICES, concurrency: BOOT_CONCURRENCY, prefix: "ota", ...PRODUCT, workers: 0,
      registerUrl: `${platform.httpUrl}/device/register`, mqttUrl: platform.mqttUrl,
      firmwareVersion: "1.0.0",
      whileOnline: rollout({
        call: (action, params) => callCloudApi({ url: platform.httpUrl, ...platform.apiCredentials }, action, params),
        productId: PRODUCT.productId, fromVersion: "1.0.0", version: "2.0.0", imageBytes: IMAGE_BYTES, timeoutSeconds: 900, pollMs: 250,
      }),
    });
    const ota = summary.ota!;
    const row = (name: string, unit: string, figure: number, note?: string): BenchRow => ({ section: "ota", name, unit, figure, spread: spread([figure], 0), ...(note ? { note } : {}) });
    const failures = Object.entries(ota.failuresByCause).map(([cause, count]) => `${count} ${cause}`).join(", ");
    const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;
    return {
      section: "ota",
      rows: [
        row(`rollout of ${IMAGE_BYTES / 1024} KiB to ${DEVICES} devices: time to updated, p50`, "ms", ota.timeToUpdatedMs.p50),
        row("time to updated, p95", "ms", ota.timeToUpdatedMs.p95),
        row("time to updated, p99", "ms", ota.timeToUpdatedMs.p99),
        row("whole rollout (every device ended)", "ms", ota.rolloutMs, failures || `${ota.updated} of ${DEVICES} updated`),
        row("firmware bytes served", "MB", mb(ota.bytesServed), `${DEVICES} x ${IMAGE_BYTES} B = ${mb(DEVICES * IMAGE_BYTES)} MB; the object store counted ${mb(platform.objects.bytesServed)} MB`),
      ],
      details: { devices: DEVICES, online: summary.online, updated: ota.updated, failuresByCause: ota.failuresByCause, bootFailuresByCause: summary.failuresByCause },
    };
  } finally {
    await platform.close();
  }
}

await printWhenRunAsScript(import.meta.url, runOtaSection);
