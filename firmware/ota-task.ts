/**
 * The device's firmware update task (docs/PROTOCOL.md §14), beside the data-template session.
 *
 * At every login: subscribes `$ota/update` (optional: a refusal turns OTA off for that session),
 * reports the outcome of the last update if this boot settled one (a trial image now online is
 * confirmed and reported `done`; a boot that fell back to the previous image reports `fail`),
 * then `report_version`. On `update_firmware` it checks what it was sent, downloads the image
 * through the HAL's HTTP client in `Range` chunks into the inactive application slot, resuming
 * from the bytes the slot already holds (after a dropped connection or a power cut), checks size
 * and MD5 as the bytes stream in, reports progress in bounded steps, and restarts into the new
 * image, which confirms itself once online.
 *
 * Engine-neutral: MQTT through MqttSession, HTTP through HttpClient, time through the Clock.
 */
import type { ApplicationSlots, Clock, HttpClient, ImageDescriptor, Logger } from "./contracts";
import { HalNetworkError } from "./contracts";
import { utf8Decode, utf8Encode } from "./encoding";
import { Md5 } from "./md5";
import type { MqttSession } from "./mqtt/session";

/** report_progress `result_code`s of a failure (C SDK `IOT_OTAReportType`, docs/PROTOCOL.md §14). */
export const OTA_RESULT = { timeout: -1, notFound: -2, authFail: -3, md5Mismatch: -4, updateFail: -5 } as const;
export type OtaResultCode = (typeof OTA_RESULT)[keyof typeof OTA_RESULT];

/** As the platform takes versions: 1-32 characters of [A-Za-z0-9._-]. */
const VERSION = /^[A-Za-z0-9._-]{1,32}$/;
const MD5_HEX = /^[0-9a-f]{32}$/;
/** update_firmware larger than this is not parsed (Tencent's are under 512 bytes). */
const MAX_UPDATE_MESSAGE_BYTES = 2048;
const MAX_URL_LENGTH = 1024;

export interface OtaTaskOptions {
  productId: string;
  deviceName: string;
  slots: ApplicationSlots;
  http: HttpClient;
  clock: Clock;
  log: Logger;
  /** Bytes asked per Range request; default 16 KiB (what an ESP32 buffers comfortably). */
  chunkBytes?: number;
  /** One Range request's whole-exchange timeout; default 15 s. */
  requestTimeoutMs?: number;
  /** Tries per chunk before the update fails as timed out (the staged bytes are kept); default 5. */
  attemptsPerChunk?: number;
  /** Wait before retrying a chunk; default 1 s. */
  retryDelayMs?: number;
  /** Progress is reported each time the percent crosses a multiple of this; default 10. */
  progressStepPercent?: number;
  /** Restarts into the new image; default slots.restart(). */
  restart?: () => void;
}

export interface UpdateCommand extends ImageDescriptor {
  url: string;
}

/** Checks update_firmware as the C SDK reads it (`qcloud_otalib_get_params`); a string names what is wrong. */
export function parseUpdateCommand(payload: Uint8Array): UpdateCommand | { refused: string; version?: string } | undefined {
  if (payload.length > MAX_UPDATE_MESSAGE_BYTES) return { refused: "update_firmware too large" };
  let message: unknown;
  try {
    message = JSON.parse(utf8Decode(payload));
  } catch {
    return undefined;
  }
  if (typeof message !== "object" || message === null || (message as { type?: unknown }).type !== "update_firmware") return undefined;
  const { version, url, md5sum, file_size } = message as Record<string, unknown>;
  if (typeof version !== "string" || !VERSION.test(version)) return { refused: "version is not 1-32 characters of [A-Za-z0-9._-]" };
  const size = typeof file_size === "string" && /^\d{1,10}$/.test(file_size) ? Number(file_size) : file_size;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size <= 0) return { refused: "file_size is not a positive integer", version };
  if (typeof md5sum !== "string" || !MD5_HEX.test(md5sum.toLowerCase())) return { refused: "md5sum is not 32 hexadecimal digits", version };
  if (typeof url !== "string" || url.length > MAX_URL_LENGTH || !/^https?:\/\/[^/?#]+/i.test(url)) return { refused: "url is not an http(s) URL", version };
  return { version, size, md5: md5sum.toLowerCase(), url };
}

class UpdateFailure extends Error {
  constructor(readonly code: OtaResultCode, message: string, readonly keepStaged: boolean) {
    super(message);
  }
}

export class OtaTask {
  readonly topics: { report: string; update: string };
  private session: MqttSession | undefined;
  private current: UpdateCommand | undefined;
  private readonly chunkBytes: number;

  constructor(private readonly options: OtaTaskOptions) {
    this.topics = { report: `$ota/report/${options.productId}/${options.deviceName}`, update: `$ota/update/${options.productId}/${options.deviceName}` };
    this.chunkBytes = options.chunkBytes ?? 16 * 1024;
  }

  /** The update under way, if any. */
  get updating(): ImageDescriptor | undefined {
    return this.current;
  }

  /**
   * After each login (the first report acknowledged): subscribe, settle the last update, report
   * the running version. Resolves false when the platform refused the subscription (OTA off).
   */
  async attach(session: MqttSession): Promise<boolean> {
    try {
      await session.subscribe(this.topics.update, 1);
    } catch (error) {
      this.options.log.log("warn", "ota.unavailable", { reason: error instanceof Error ? error.message : String(error) });
      return false;
    }
    this.session = session;
    const { slots } = this.options;
    const rolledBack = slots.takeRollback();
    if (rolledBack) {
      this.options.log.log("warn", "ota.rolled-back", { version: rolledBack.version, reason: rolledBack.reason });
      await this.report(rolledBack.version, { state: "fail", result_code: String(OTA_RESULT.updateFail), result_msg: `rolled back: ${rolledBack.reason}` }, 1);
    }
    if (slots.onTrial()) {
      // Online on the new image: it is good. Confirmed before reporting, so a cut now keeps it.
      slots.confirm();
      this.options.log.log("info", "ota.confirmed", { version: slots.runningVersion() });
      await this.report(slots.runningVersion(), { state: "done", result_code: "0", result_msg: "" }, 1);
    }
    await this.publish({ type: "report_version", report: { version: slots.runningVersion() } }, 1);
    return true;
  }

  detach(): void {
    this.session = undefined;
  }

  /** Takes a message on the update topic; false for any other topic. */
  handle(topic: string, payload: Uint8Array): boolean {
    if (topic !== this.topics.update) return false;
    const command = parseUpdateCommand(payload);
    if (command === undefined) return true; // report_version_rsp and anything else: nothing to do
    if ("refused" in command) {
      this.refuse(command.version, command.refused);
      return true;
    }
    if (this.current) {
      // The platform re-sends an unfinished update after each report_version: the same one is not news.
      if (this.current.version !== command.version) this.refuse(command.version, `the update to ${this.current.version} is under way`);
      return true;
    }
    const { slots } = this.options;
    if (command.version === slots.runningVersion()) return this.refuse(command.version, "already running this version"), true;
    if (command.size > slots.capacity()) return this.refuse(command.version, `${command.size} bytes exceed the ${slots.capacity()}-byte slot`), true;
    this.current = command;
    this.run(command)
      // A power cut or a port fault in the slot: stop here, keeping what is written for the next boot.
      .catch((error: unknown) => this.options.log.log("error", "ota.stopped", { version: command.version, reason: error instanceof Error ? error.message : String(error) }))
      .finally(() => (this.current = undefined));
    return true;
  }

  private refuse(version: string | undefined, reason: string): void {
    this.options.log.log("warn", "ota.refused", { version: version ?? "", reason });
    if (version !== undefined) void this.report(version, { state: "fail", result_code: String(OTA_RESULT.updateFail), result_msg: reason }, 1);
  }

  private async run(command: UpdateCommand): Promise<void> {
    const { slots, log } = this.options;
    try {
      const written = await this.download(command);
      if (written.hex() !== command.md5) throw new UpdateFailure(OTA_RESULT.md5Mismatch, "MD5 mismatch", false);
      await this.report(command.version, { state: "burning", result_code: "0", result_msg: "" }, 1);
      slots.finish();
      log.log("info", "ota.staged", { version: command.version, bytes: command.size });
      (this.options.restart ?? (() => slots.restart()))();
    } catch (error) {
      if (!(error instanceof UpdateFailure)) throw error;
      log.log("warn", "ota.failed", { version: command.version, code: error.code, reason: error.message });
      if (!error.keepStaged) slots.abort();
      await this.report(command.version, { state: "fail", result_code: String(error.code), result_msg: error.message }, 1);
    }
  }

  /** Downloads the rest of the image into the slot; resolves with the MD5 of the whole image. */
  private async download(command: UpdateCommand): Promise<Md5> {
    const { slots } = this.options;
    const md5 = new Md5();
    const staged = slots.staged();
    let offset = 0;
    if (staged && staged.image.version === command.version && staged.image.md5 === command.md5 && staged.image.size === command.size && staged.written <= command.size) {
      // Resume: the digest is rebuilt from what the slot holds.
      for (let at = 0; at < staged.written; at += this.chunkBytes) md5.update(slots.read(at, Math.min(this.chunkBytes, staged.written - at)));
      offset = staged.written;
      this.options.log.log("info", "ota.resume", { version: command.version, from: offset });
    } else {
      slots.begin({ version: command.version, size: command.size, md5: command.md5 });
    }
    const step = this.options.progressStepPercent ?? 10;
    let reported = Math.floor((offset * 100) / command.size / step) * step;
    await this.report(command.version, { state: "downloading", percent: String(reported), result_code: "0", result_msg: "" }, 0);
    while (offset < command.size) {
      const bytes = await this.fetchChunk(command, offset, Math.min(command.size, offset + this.chunkBytes) - 1);
      slots.write(bytes);
      md5.update(bytes);
      offset += bytes.length;
      const percent = Math.floor((offset * 100) / command.size);
      if (percent >= reported + step || offset === command.size) {
        reported = offset === command.size ? 100 : percent - (percent % step);
        await this.report(command.version, { state: "downloading", percent: String(reported), result_code: "0", result_msg: "" }, 0);
      }
    }
    return md5;
  }

  /** Bytes first..last of the image, retried on network errors and 5xx; never more than asked. */
  private async fetchChunk(command: UpdateCommand, first: number, last: number): Promise<Uint8Array> {
    const attempts = this.options.attemptsPerChunk ?? 5;
    let lastProblem = "";
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) await this.options.clock.sleep(this.options.retryDelayMs ?? 1000);
      try {
        const response = await this.options.http.request({
          method: "GET", url: command.url, headers: { Range: `bytes=${first}-${last}` },
          timeoutMs: this.options.requestTimeoutMs ?? 15_000, maxResponseBytes: last - first + 1,
        });
        if (response.status === 404) throw new UpdateFailure(OTA_RESULT.notFound, "firmware not found (HTTP 404)", false);
        if (response.status === 401 || response.status === 403) throw new UpdateFailure(OTA_RESULT.authFail, `download refused (HTTP ${response.status})`, true);
        if (response.status === 416) throw new UpdateFailure(OTA_RESULT.updateFail, "the file is shorter than file_size", false);
        if (response.status >= 500) {
          lastProblem = `HTTP ${response.status}`;
          continue;
        }
        const start = response.status === 206 ? contentRangeStart(response.headers["content-range"]) : response.status === 200 ? 0 : undefined;
        if (start !== first) throw new UpdateFailure(OTA_RESULT.updateFail, `unexpected answer to a Range request (HTTP ${response.status})`, true);
        const total = response.status === 206 ? contentRangeTotal(response.headers["content-range"]) : undefined;
        if (total !== undefined && total !== command.size) throw new UpdateFailure(OTA_RESULT.updateFail, `the file has ${total} bytes, not file_size ${command.size}`, false);
        if (response.body.length === 0) throw new UpdateFailure(OTA_RESULT.updateFail, "the file is shorter than file_size", false);
        return response.body;
      } catch (error) {
        if (error instanceof UpdateFailure) throw error;
        if (error instanceof HalNetworkError && error.code === "too-large") throw new UpdateFailure(OTA_RESULT.updateFail, "the server sent more than asked (file longer than file_size)", false);
        if (!(error instanceof HalNetworkError)) throw error;
        lastProblem = `${error.code}: ${error.message}`;
      }
    }
    throw new UpdateFailure(OTA_RESULT.timeout, `download failed after ${attempts} tries (${lastProblem})`, true);
  }

  private report(version: string, progress: Record<string, string>, qos: 0 | 1): Promise<void> {
    return this.publish({ type: "report_progress", report: { progress, version } }, qos);
  }

  /** Publishes on the report topic; a lost session only loses the message (the platform re-sends the update). */
  private async publish(body: unknown, qos: 0 | 1): Promise<void> {
    const session = this.session;
    if (!session) return;
    try {
      await session.publish(this.topics.report, utf8Encode(JSON.stringify(body)), qos);
    } catch (error) {
      this.options.log.log("warn", "ota.report.lost", { reason: error instanceof Error ? error.message : String(error) });
    }
  }
}

function contentRangeStart(header: string | undefined): number | undefined {
  const match = /^bytes (\d{1,15})-\d{1,15}\/(\d{1,15}|\*)$/.exec(header ?? "");
  return match ? Number(match[1]) : undefined;
}

function contentRangeTotal(header: string | undefined): number | undefined {
  const match = /^bytes \d{1,15}-\d{1,15}\/(\d{1,15})$/.exec(header ?? "");
  return match ? Number(match[1]) : undefined;
}
