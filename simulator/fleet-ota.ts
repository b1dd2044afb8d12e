/**
 * A firmware rollout over a running fleet (`explorer-xs fleet --ota VERSION`), through the Cloud
 * API only, as a backend drives one (docs/PROTOCOL.md §14): a generated image uploaded
 * (GetCOSURL, PUT, UploadFirmware), one BatchUpdateFirmware naming the devices that came online,
 * then DescribeFirmwareTask and DescribeFirmwareTaskDevices until every device of the task ended.
 * The platform says how each device ended; the devices say when they confirmed the new image
 * online and how many firmware bytes they received.
 */
import { randomBytes } from "node:crypto";
import { uploadFirmware, type CloudApiCall } from "./firmware-upload";
import type { FleetOtaSummary, OnlineFleet } from "./fleet";
import { percentile } from "./fleet";


/** Tencent's update status codes a device ends on (DescribeFirmwareUpdateStatusResponse.Status). */
const STATUS = { failed: 5, done: 6, timedOut: 10 } as const;
/** report_progress result codes (the C SDK's IOT_OTAReportType, firmware/ota-task.ts OTA_RESULT), by name for the summary. */
const RESULT_CODES: Readonly<Record<string, string>> = { "-1": "download-timeout", "-2": "firmware-not-found", "-3": "download-refused", "-4": "md5-mismatch", "-5": "update-failed" };
const PAGE = 100;
/** BatchUpdateFirmware names at most this many devices (the mock's OTA_LIMITS.batchDevicesMax). */
export const MAX_ROLLOUT_DEVICES = 10_000;

export interface RolloutProgress {
  /** Devices in the task. */
  total: number;
  /** Devices that ended: updated, failed or timed out. */
  ended: number;
  updated: number;
  failed: number;
}

export interface RolloutOptions {
  call: CloudApiCall;
  productId: string;
  /** The version the devices run (the fleet's factory image). */
  fromVersion: string;
  version: string;
  imageBytes: number;
  /** BatchUpdateFirmware's TimeoutInterval, 120-900 s: a device not done by then counts as timed out. */
  timeoutSeconds: number;
  onProgress?: (progress: RolloutProgress) => void;
  pollMs?: number;
}

/** The rollout as a fleet's `whileOnline`: resolves with the summary once every device of the task ended. */
export function rollout(options: RolloutOptions): (fleet: OnlineFleet) => Promise<FleetOtaSummary> {
  return async (fleet) => {
    const { call, productId, version } = options;
    const names = fleet.onlineNames;
    if (names.length === 0) throw new Error("no device came online: nothing to update");
    await uploadFirmware(call, productId, version, randomBytes(options.imageBytes), { FirmwareName: `fleet ${version}` });
    const started = Date.now();
    const { TaskId } = await call("BatchUpdateFirmware", {
      ProductID: productId, FirmwareVersion: version, DeviceNames: names, TimeoutInterval: options.timeoutSeconds,
    });
    const taskId = Number(TaskId);
    const filter = (status?: number) => [{ Key: "TaskId", Value: String(taskId) }, ...(status !== undefined ? [{ Key: "Status", Value: String(status) }] : [])];
    const count = async (status?: number) => Number((await call("DescribeFirmwareTaskDevices", { ProductID: productId, FirmwareVersion: version, Filters: filter(status), Offset: 0, Limit: 1 })).Total);
    // The platform times devices out on its own; this bound only keeps a stalled platform from holding the fleet.
    const deadline = started + (options.timeoutSeconds + 60) * 1000;
    let progress: RolloutProgress = { total: names.length, ended: 0, updated: 0, failed: 0 };
    let finished = false;
    while (!finished && Date.now() < deadline) {
      const task = await call("DescribeFirmwareTask", { ProductID: productId, FirmwareVersion: version, TaskId: taskId });
      const [total, updated, failed, timedOut] = await Promise.all([count(), count(STATUS.done), count(STATUS.failed), count(STATUS.timedOut)]);
      progress = { total, ended: updated + failed + timedOut, updated, failed: failed + timedOut };
      options.onProgress?.(progress);
      finished = Number(task.Status) === 2;
      if (!finished) await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 1000));
    }
    const rolloutMs = Date.now() - started;
    const failuresByCause = await failures(call, productId, version, filter);
    if (progress.ended < progress.total) failuresByCause.unfinished = progress.total - progress.ended;
    const devices = await fleet.otaResults();
    const times = devices.confirmedAt.map((at) => at - started).sort((a, b) => a - b);
    const round = (value: number) => Math.round(value * 10) / 10;
    return {
      version, fromVersion: options.fromVersion, imageBytes: options.imageBytes, taskId, devices: progress.total,
      updated: progress.updated, failed: progress.total - progress.updated, failuresByCause,
      timeToUpdatedMs: { p50: round(percentile(times, 50)), p95: round(percentile(times, 95)), p99: round(percentile(times, 99)), max: round(times[times.length - 1] ?? 0) },
      rolloutMs, bytesServed: devices.bytesDownloaded,
    };
  };
}

/**
 * Why devices did not end updated: `timed-out`, the device's result code for a failure
 * (`md5-mismatch`, ...), or `unfinished` for those still under way when the fleet stopped waiting.
 */
async function failures(call: CloudApiCall, productId: string, version: string, filter: (status?: number) => Array<{ Key: string; Value: string }>): Promise<Record<string, number>> {
  const causes: Record<string, number> = {};
  for (const status of [STATUS.failed, STATUS.timedOut]) {
    for (let offset = 0; ; offset += PAGE) {
      const answer = await call("DescribeFirmwareTaskDevices", { ProductID: productId, FirmwareVersion: version, Filters: filter(status), Offset: offset, Limit: PAGE });
      const devices = (answer.Devices as Array<{ Retcode?: number }> | undefined) ?? [];
      for (const device of devices) {
        const cause = status === STATUS.timedOut ? "timed-out" : RESULT_CODES[String(device.Retcode)] ?? `result-code ${String(device.Retcode)}`;
        causes[cause] = (causes[cause] ?? 0) + 1;
      }
      if (devices.length < PAGE || offset + PAGE >= Number(answer.Total)) break;
    }
  }
  return causes;
}
