/**
 * `explorer-xs flash show|export FILE`: what a simulated device's flash holds.
 * The record is opened with the device's own storage key (the `<FILE>.efuse` sidecar).
 */
import type { Command } from "commander";
import { existsSync } from "node:fs";
import type { FlashReport } from "../../firmware/record-store";
import { UsageError, writeSecretFile } from "../cli-errors";

/** The flash modules, loaded by these commands only: `--help` and the other commands stay cheap. */
async function flashModules() {
  const [{ createNodeHal }, { openFlashFile }, { efusePathFor }, { inspectFlash, loadDevInfo }, { toTencentDeviceInfo }] = await Promise.all([
    import("../../hal/node/index"), import("../../hal/node/flash"), import("../../hal/node/efuse"), import("../../firmware/record-store"), import("../device-info-file"),
  ]);
  return { createNodeHal, openFlashFile, efusePathFor, inspectFlash, loadDevInfo, toTencentDeviceInfo };
}

async function openForReading(file: string) {
  const { createNodeHal, openFlashFile, efusePathFor } = await flashModules();
  if (!existsSync(file)) throw new UsageError(`${file} does not exist`);
  if (!existsSync(efusePathFor(file))) {
    throw new UsageError(`${efusePathFor(file)} is missing: without the device's storage key the sealed record cannot be opened`);
  }
  const flash = openFlashFile(file);
  return { flash, hal: createNodeHal({ flashFile: file, flash, logger: { log: () => undefined } }) };
}

export function register(program: Command): void {
  const flash = program.command("flash").description("inspect or export a simulated device's flash file");

  flash
    .command("show")
    .description("slots, sequence numbers, validity, sizes and write counts; secrets masked")
    .argument("<file>", "the device's flash file")
    .option("--json", "print as JSON")
    .action(async (file: string, options: { json?: boolean }) => {
      const { flash: nvs, hal } = await openForReading(file);
      const { inspectFlash } = await flashModules();
      const report = inspectFlash(hal);
      const stats = nvs.stats();
      const app = await appSlots(nvs);
      if (options.json) {
        process.stdout.write(JSON.stringify({ ...report, writes: { total: stats.totalWrites, wear: stats.wear }, ...(app ? { appSlots: app } : {}) }, null, 2) + "\n");
        return;
      }
      process.stdout.write(formatReport(file, report, stats.totalWrites, stats.wear) + "\n");
      if (app) process.stdout.write(formatAppSlots(app) + "\n");
    });

  flash
    .command("export")
    .description("write the record as Tencent's device_info.json (secrets in clear: keep the file safe)")
    .argument("<file>", "the device's flash file")
    .option("--out <path>", "where to write (default: standard output)")
    .action(async (file: string, options: { out?: string }) => {
      const { hal } = await openForReading(file);
      const { loadDevInfo, toTencentDeviceInfo } = await flashModules();
      const load = loadDevInfo(hal);
      if (load.status !== "ok") {
        throw new UsageError(load.status === "empty" ? `${file} holds no device record` : `${file} holds no readable record: ${load.reason}`);
      }
      const text = JSON.stringify(toTencentDeviceInfo(load.info), null, 2) + "\n";
      if (options.out) {
        writeSecretFile(options.out, text, "--out");
        process.stderr.write(`wrote ${options.out} (contains secrets, mode 0600)\n`);
      } else process.stdout.write(text);
    });
}

/** The application slots of a flash file that has them (a device run with --firmware-version). */
async function appSlots(nvs: import("../../hal/node/flash").NodeFlash) {
  if (nvs.appRegion() === undefined) return undefined;
  const { NodeApplicationSlots } = await import("../../hal/node/app-slots");
  try {
    return NodeApplicationSlots.open(nvs, { factoryVersion: "" }).view();
  } catch (error) {
    throw new UsageError(`the application slots of this flash are unreadable: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function formatAppSlots(view: import("../../hal/node/app-slots").SlotsView): string {
  const lines = [`application slots: app${view.active} boots, ${view.writes} slot writes`];
  view.slots.forEach((slot, index) => {
    const size = slot.state === "empty" ? "" : `, ${slot.written}/${slot.size || slot.written} B`;
    lines.push(`  app${index}: ${slot.state}${slot.version ? ` ${slot.version}` : ""}${size}`);
  });
  return lines.join("\n");
}

function formatReport(file: string, report: FlashReport, totalWrites: number, wear: Record<string, number>): string {
  const lines = [`${file}: record ${report.status}${report.current ? `, current slot ${report.current}` : ""}${report.reason ? ` (${report.reason})` : ""}`];
  for (const slot of report.slots) {
    const parts = [`slot ${slot.slot}: ${slot.state}`];
    if (slot.seq !== undefined) parts.push(`seq ${slot.seq}`);
    if (slot.layout) parts.push(slot.layout === "chunked" ? `${slot.chunkCount} chunks, ${slot.chunkBytes} B + head ${slot.headBytes} B` : `${slot.headBytes} B`);
    if (slot.current) parts.push("current");
    if (slot.reason) parts.push(slot.reason);
    lines.push("  " + parts.join(", "));
    if (slot.record) {
      const r = slot.record;
      // One label per value: "auth psk, device secret ********2A==" (it used to read "psk psk ...").
      const secret = r.deviceSecret ? `device secret ${r.deviceSecret}` : r.clientCert ? `client ${r.clientCert.replace(/^\(|\)$/g, "")}` : "no secret yet";
      lines.push(`    ${r.productId}/${r.deviceName}: auth ${r.authMode}, ${secret}`);
    }
  }
  if (report.strayKeys.length) lines.push(`  stray keys: ${report.strayKeys.join(", ")}`);
  lines.push(`  writes: ${totalWrites} in all; per key: ${Object.entries(wear).map(([key, count]) => `${key}=${count}`).join(", ") || "none"}`);
  return lines.join("\n");
}
