/**
 * OTA section of the benchmarks: a firmware rollout over a fleet of simulated devices in this
 * process (Node HAL, real sockets, each with its two emulated application slots in memory and
 * its NVS in a flash file), against the mock platform on loopback. Every device comes online on
 * 1.0.0; one BatchUpdateFirmware (FirmwareOriVersion 1.0.0) sends the 300 KiB image; each device
 * downloads it in 16 KiB Range chunks, restarts into the new slot, confirms it online and reports
 * done. Reported: time from the task to each device's status 6 (p50/p95/p99), the whole
 * rollout's time, failures by status, and bytes served (devices × image, plus any chunk fetched
 * again after a request timed out under load).
 *
 * Prints one JSON SectionOutput on stdout. Run: node --import tsx bench/ota.ts
 * BENCH_QUICK=1 runs 50 devices instead of 1,000.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NodeApplicationSlots } from "../hal/node/app-slots";
import { createNodeHttpClient } from "../hal/node/http";
import { createNodeSocketTransport } from "../hal/node/socket";
import { startPlatform } from "../simulator/platform/index";
import { startSimDevice, type SimDevice } from "../simulator/sim-device";
import { UPDATE_STATUS } from "../simulator/platform/ota/firmware-registry";
import { printWhenRunAsScript, type BenchRow, type SectionOutput } from "./lib/row";
import { spread } from "./lib/stats";

const DEVICES = process.env.BENCH_QUICK === "1" ? 50 : 1000;
const IMAGE_BYTES = 300 * 1024;
const PRODUCT = { productId: "BENCHOTA01", productSecret: "benchOtaProductSecretR4t7" };
/** Devices booting at once (the fleet's default order of magnitude for one process). */
const BOOT_CONCURRENCY = 100;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export async function runOtaSection(): Promise<SectionOutput> {
  const dir = mkdtempSync(join(tmpdir(), "exs-bench-ota-"));
  const names = Array.from({ length: DEVICES }, (_, index) => `ota${String(index).padStart(5, "0")}`);
  const platform = await startPlatform({ memory: true, config: { products: [{ ...PRODUCT, dynamicRegistration: true, autoCreate: false, authType: "psk", devices: names }] } });
  // Shared transports, as the fleet shares them.
  const http = createNodeHttpClient({});
  const socket = createNodeSocketTransport({});
  const running = new Map<string, SimDevice>();
  const powerOn = (name: string, slots: NodeApplicationSlots): SimDevice => {
    slots.boot();
    const device = startSimDevice({
      flashFile: join(dir, `${name}.flash`), flashDurable: false, storageKey: new Uint8Array(32).fill(7),
      registerUrl: `${platform.httpUrl}/device/register`, mqttUrl: platform.mqttUrl,
      factoryInfo: { ...PRODUCT, deviceName: name, authMode: "psk" }, logger: { log: () => undefined }, http, socket, slots,
      boot: {
        backoff: { baseMs: 200, capMs: 5000, maxAttempts: 10 },
        ota: { restart: () => void device.close().then(() => running.set(name, powerOn(name, slots))) },
      },
    });
    return device;
  };
  try {
    for (let start = 0; start < names.length; start += BOOT_CONCURRENCY) {
      const batch = names.slice(start, start + BOOT_CONCURRENCY);
      await Promise.all(batch.map(async (name) => {
        const device = powerOn(name, new NodeApplicationSlots({ factoryVersion: "1.0.0" }));
        running.set(name, device);
        await device.task.online;
      }));
    }
    const reported = () => names.filter((name) => platform.registry.firmware.reportedVersion(PRODUCT.productId, name) === "1.0.0").length;
    while (reported() < DEVICES) await new Promise((resolve) => setTimeout(resolve, 50));

    const image = randomBytes(IMAGE_BYTES);
    const md5 = createHash("md5").update(image).digest("hex");
    platform.registry.firmware.putObject(PRODUCT.productId, "2.0.0", image, md5, Date.now());
    platform.registry.firmware.addFirmware({ productId: PRODUCT.productId, version: "2.0.0", name: "bench", description: "", md5, fileSize: IMAGE_BYTES, fwType: "", userDefined: "", createdAt: Date.now() });
    const started = Date.now();
    platform.ota.startTask({
      productId: PRODUCT.productId, version: "2.0.0", upgradeMode: "originalVersion", originalVersion: "1.0.0", upgradeMethod: 0,
      timeoutSeconds: 900, rateLimit: 0, delaySeconds: 0, overrideMode: 0, maxRetry: 0, retryIntervalMinutes: 0, userDefine: "", fwType: "", createdAt: started,
    }, names.map((deviceName) => ({ deviceName, oriVersion: "1.0.0", notBefore: started })));
    const doneAt = new Map<string, number>();
    const byStatus: Record<string, number> = {};
    const deadline = started + 10 * 60_000;
    while (Date.now() < deadline) {
      let settled = 0;
      for (const name of names) {
        const update = platform.ota.currentUpdate(PRODUCT.productId, name);
        if (update?.status === UPDATE_STATUS.done && !doneAt.has(name)) doneAt.set(name, update.updatedAt - started);
        if (update && (update.status === UPDATE_STATUS.done || update.status === UPDATE_STATUS.failed || update.status === UPDATE_STATUS.timedOut)) settled++;
      }
      if (settled === DEVICES) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const name of names) {
      const status = String(platform.ota.currentUpdate(PRODUCT.productId, name)?.status ?? "none");
      if (status !== String(UPDATE_STATUS.done)) byStatus[status] = (byStatus[status] ?? 0) + 1;
    }
    const times = [...doneAt.values()].sort((a, b) => a - b);
    const total = times.length ? times[times.length - 1] : Date.now() - started;
    const row = (name: string, unit: string, figure: number, note?: string): BenchRow => ({ section: "ota", name, unit, figure, spread: spread([figure], 0), ...(note ? { note } : {}) });
    const failures = Object.entries(byStatus).map(([status, count]) => `${count} ended in status ${status}`).join(", ");
    return {
      section: "ota",
      rows: [
        row(`rollout of ${IMAGE_BYTES / 1024} KiB to ${DEVICES} devices: time to updated, p50`, "ms", percentile(times, 50) ?? 0),
        row("time to updated, p95", "ms", percentile(times, 95) ?? 0),
        row("time to updated, p99", "ms", percentile(times, 99) ?? 0),
        row("whole rollout (last device done)", "ms", total, failures || `${DEVICES} of ${DEVICES} done`),
        row("firmware bytes served", "MB", Math.round(platform.objects.bytesServed / 1e5) / 10, `${DEVICES} x ${IMAGE_BYTES} B = ${Math.round((DEVICES * IMAGE_BYTES) / 1e5) / 10} MB`),
      ],
      details: { devices: DEVICES, done: times.length, failuresByStatus: byStatus },
    };
  } finally {
    for (const device of running.values()) await device.close().catch(() => undefined);
    await platform.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await printWhenRunAsScript(import.meta.url, runOtaSection);
