/**
 * The OTA data plane (docs/PROTOCOL.md §14): what devices publish on `$ota/report/<pid>/<dn>`
 * (report_version, report_progress) and what the platform sends on `$ota/update/<pid>/<dn>`
 * (report_version_rsp, update_firmware), and the update tasks the Cloud API starts: each
 * device's update goes pending → sent → downloading → burning → done (or failed, or timed out),
 * with its percent. A device offline when its update is due gets it after its next
 * report_version, as Tencent's platform re-sends an unfinished update to a device that reports a
 * version other than the target. Timeouts are applied when a status is read or reported, so no
 * timer runs per device; only the rate limit of a batch task keeps one timer per minute of it.
 */
import { isObject, parseJsonObject, type Json } from "../json-object";
import type { DeviceIdentity } from "../mqtt-auth";
import type { PlatformLog } from "../platform-log";
import type { Registry } from "../registry";
import type { DeviceLink } from "../thing";
import { type DeviceUpdate, type FirmwareTask, type NewTask, type TaskDevice, UPDATE_STATUS, isActive } from "./firmware-registry";
import { FIRMWARE_VERSION_PATTERN, ObjectStore } from "./object-store";

/** OTA messages larger than this are not parsed (the C SDK's are under 256 bytes). */
export const MAX_OTA_MESSAGE_BYTES = 1024;
/** result_msg kept from a device's fail report. */
const MAX_RESULT_MSG = 128;

export interface OtaServiceOptions {
  registry: Registry;
  link: DeviceLink;
  store: ObjectStore;
  now: () => number;
  log: PlatformLog;
}

/** The C SDK sends numbers as strings ("percent":"10", "result_code":"-4"); both are taken. */
function integerOf(value: unknown): number | undefined {
  const number = typeof value === "string" && /^-?\d{1,9}$/.test(value) ? Number(value) : value;
  return typeof number === "number" && Number.isSafeInteger(number) ? number : undefined;
}

export class OtaService {
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private closed = false;

  constructor(private readonly options: OtaServiceOptions) {}

  /** Whether a device publish is on the device's OTA report topic (then `handle` takes it). */
  takes(identity: DeviceIdentity, topic: string): boolean {
    return topic === `$ota/report/${identity.productId}/${identity.deviceName}`;
  }

  /** Handles a device publish on its OTA report topic (`takes`). */
  async handle(identity: DeviceIdentity, payload: Buffer, clientId: string): Promise<void> {
    const message = parseJsonObject(payload, MAX_OTA_MESSAGE_BYTES);
    const type = typeof message?.type === "string" ? message.type.slice(0, 32) : undefined;
    const report = message?.report;
    let outcome: string;
    if (!message || type === undefined || !isObject(report)) outcome = "not an OTA report";
    else if (type === "report_version") outcome = await this.onReportVersion(identity, report);
    else if (type === "report_progress") outcome = await this.onReportProgress(identity, report);
    else outcome = "unknown type";
    this.options.log({ event: "ota", clientId, type, outcome });
  }

  // ------------------------------------------------------------------------------ device to platform

  private async onReportVersion(identity: DeviceIdentity, report: Json): Promise<string> {
    const { productId, deviceName } = identity;
    const version = report.version;
    if (typeof version !== "string" || !FIRMWARE_VERSION_PATTERN.test(version)) {
      // The mock's own refusal: Tencent documents no code for a bad version.
      this.send(identity, { type: "report_version_rsp", result_code: -1, result_msg: "version must be 1-32 characters of [A-Za-z0-9._-]", version: typeof version === "string" ? version.slice(0, 32) : "" });
      return "bad version";
    }
    const now = this.options.now();
    await this.options.registry.firmware.recordVersion(productId, deviceName, version, now);
    this.send(identity, { type: "report_version_rsp", result_code: 0, result_msg: "success", version });
    const update = await this.currentUpdate(productId, deviceName);
    if (!update || !isActive(update.status)) return "version recorded";
    if (update.dstVersion === version) {
      // The device runs the target: done, whether or not it reported "done" before rebooting.
      await this.options.registry.firmware.setStatus(update, UPDATE_STATUS.done, 100, now);
      return "update done";
    }
    // Not yet burning: (re)send, with a fresh URL, what it has not finished.
    if (update.status !== UPDATE_STATUS.burning && update.notBefore <= now) {
      await this.deliver(update);
      return "update sent";
    }
    return "version recorded";
  }

  private async onReportProgress(identity: DeviceIdentity, report: Json): Promise<string> {
    const progress = report.progress;
    const version = report.version;
    if (!isObject(progress) || typeof version !== "string") return "no progress or version";
    const update = await this.currentUpdate(identity.productId, identity.deviceName);
    if (!update || !isActive(update.status) || update.dstVersion !== version) return "no update under way for this version";
    const { firmware } = this.options.registry;
    const now = this.options.now();
    switch (progress.state) {
      case "downloading": {
        const percent = Math.max(0, Math.min(100, integerOf(progress.percent) ?? 0));
        await firmware.setStatus(update, percent >= 100 ? UPDATE_STATUS.downloaded : UPDATE_STATUS.downloading, percent, now);
        return "downloading";
      }
      case "burning":
        await firmware.setStatus(update, UPDATE_STATUS.burning, 100, now);
        return "burning";
      case "done":
        await firmware.setStatus(update, UPDATE_STATUS.done, 100, now);
        return "done";
      case "fail": {
        const code = integerOf(progress.result_code) ?? -1;
        const message = typeof progress.result_msg === "string" ? progress.result_msg.slice(0, MAX_RESULT_MSG) : "";
        await firmware.setStatus(update, UPDATE_STATUS.failed, update.percent, now, code, message);
        return "failed";
      }
      default:
        return "unknown state";
    }
  }

  // ------------------------------------------------------------------------------ platform to device

  private send(identity: DeviceIdentity, body: Json): void {
    const topic = `$ota/update/${identity.productId}/${identity.deviceName}`;
    this.options.link.publishToDevice(topic, JSON.stringify(body), 1).catch((error: unknown) => {
      this.options.log({ event: "ota", topic, outcome: "not sent", detail: error instanceof Error ? error.message : String(error) });
    });
  }

  /** Publishes update_firmware for an update with a freshly signed URL, and marks it sent. */
  private async deliver(update: DeviceUpdate): Promise<void> {
    const { firmware } = this.options.registry;
    const image = await firmware.getFirmware(update.productId, update.dstVersion);
    if (!image) return;
    await firmware.markSent(update, this.options.now());
    this.send(update, {
      file_size: image.fileSize,
      md5sum: image.md5,
      type: "update_firmware",
      url: this.options.store.downloadUrl(update.productId, update.dstVersion),
      version: update.dstVersion,
    });
  }

  // ------------------------------------------------------------------------------ tasks

  /**
   * The device's latest update, timed out first if its task's timeout has passed since it was
   * sent without the device finishing.
   */
  async currentUpdate(productId: string, deviceName: string): Promise<DeviceUpdate | undefined> {
    const update = await this.options.registry.firmware.latestUpdate(productId, deviceName);
    return update && await this.expire(update);
  }

  /** Applies the task's timeout to an update read from the registry. */
  async expire(update: DeviceUpdate): Promise<DeviceUpdate> {
    if (!isActive(update.status) || update.status === UPDATE_STATUS.pending || update.sentAt === undefined) return update;
    const task = await this.options.registry.firmware.getTask(update.taskId);
    const now = this.options.now();
    if (!task || now - update.sentAt <= task.timeoutSeconds * 1000) return update;
    await this.options.registry.firmware.setStatus(update, UPDATE_STATUS.timedOut, update.percent, now, -1, "time_out");
    return { ...update, status: UPDATE_STATUS.timedOut, retcode: -1, errMsg: "time_out", updatedAt: now };
  }

  /**
   * Creates a task and sends its due updates to the devices online now; the rest go out as
   * their minute of the rate limit comes, or after the device's next report_version.
   */
  async startTask(task: NewTask, devices: ReadonlyArray<TaskDevice>): Promise<FirmwareTask> {
    const created = await this.options.registry.firmware.createTask(task, devices, this.options.now());
    const slices = new Map<number, string[]>();
    for (const device of devices) {
      const names = slices.get(device.notBefore) ?? [];
      names.push(device.deviceName);
      slices.set(device.notBefore, names);
    }
    for (const [notBefore, names] of slices) {
      const wait = notBefore - this.options.now();
      if (wait <= 0) {
        await this.dispatch(created, names);
        continue;
      }
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (!this.closed) this.dispatch(created, names).catch((error: unknown) => this.options.log({ event: "ota", outcome: "not sent", detail: error instanceof Error ? error.message : String(error) }));
      }, wait);
      timer.unref?.();
      this.timers.add(timer);
    }
    return created;
  }

  private async dispatch(task: FirmwareTask, deviceNames: ReadonlyArray<string>): Promise<void> {
    for (const deviceName of deviceNames) {
      if (!await this.options.link.isOnline(task.productId, deviceName)) continue;
      const update = await this.options.registry.firmware.latestUpdate(task.productId, deviceName);
      if (update?.taskId === task.taskId && update.status === UPDATE_STATUS.pending) await this.deliver(update);
    }
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
