/**
 * The boot task: turns the device-info record in flash into an online device.
 *
 *   booting -> [registering -> registered] -> connecting -> online
 *                     \______ backoff ______/        \__ backoff (drop) __/
 *
 * Retryable errors wait with capped, fully jittered exponential backoff; fatal errors end the
 * task in `failed:<code>` with the core's actionable message, and are never retried. The
 * stored secret is never wiped here: a refused CONNECT leaves flash untouched.
 * Engine-neutral: it sees the platform only through the Hal.
 */
import type { Hal } from "./contracts";
import { HalMqttError, HalNetworkError, FlashError } from "./contracts";
import { DEFAULT_BACKOFF, backoffDelayMs, type BackoffPolicy } from "./backoff";
import { encodeControlReply, parseDownMessage } from "./data-template";
import { needsRegistration, validateDeviceInfo, type DeviceInfo } from "./device-info";
import { dynregDevice, DEFAULT_REGISTER_URL } from "./dynreg";
import { DynregError, ExplorerError, type ErrorCode } from "./errors";
import { parseHttpDate } from "./http-date";
import { asCoreLog, createCoreLog, type CoreLog } from "./log";
import { buildMqttCredentials } from "./mqtt-credentials";
import { connectMqtt } from "./mqtt/client";
import { SUBACK_FAILURE } from "./mqtt/packet";
import type { MqttSession } from "./mqtt/session";
import { loadDevInfo, setDevInfo, storeDevInfo } from "./record-store";
import { TemplateSession, type ActionHandler, type ClockCheck, type DeviceStatus } from "./template-session";
import { OtaTask, type OtaTaskOptions } from "./ota-task";
import { thingTopics } from "./topics";
import { FIRMWARE_VERSION } from "./version";
import type { EventType } from "./data-template";

export type BootState =
  | "booting"
  | "registering"
  | "registered"
  | "connecting"
  | "online"
  | "backoff"
  | "stopped"
  | `failed:${ErrorCode}`;

export interface BootOptions {
  /** Registration endpoint; default https://ap-guangzhou.gateway.tencentdevices.com/device/register */
  registerUrl?: string;
  /** Broker; default mqtts://<ProductId>.iotcloud.tencentdevices.com:8883 */
  mqttUrl?: string;
  /** Request signature algorithm; default hmacsha256. */
  signAlgorithm?: "hmacsha256" | "hmacsha1";
  /** MQTT password algorithm; default hmacsha256. */
  passwordAlgorithm?: "hmacsha256" | "hmacsha1";
  /** Identity used when flash holds no record yet (the factory's ProductId, ProductSecret, DeviceName). */
  factoryInfo?: DeviceInfo;
  /** Properties sent in the first report. */
  initialReport?: Record<string, unknown>;
  /**
   * Called for every control message, and at the first online of each boot for control the
   * platform kept while the device was away (get_status); throw to refuse it. Control accepted
   * (no throw) is answered with control_reply code 0 and then reported, as the C SDK's
   * data_template_sample does, so the platform's reported values follow it.
   */
  onControl?: (params: Record<string, unknown>) => void;
  /** Called for every action; its result is the action_reply's `response`, a throw answers code 1. */
  onAction?: ActionHandler;
  /** Sent once per boot in report_info, after `fw_ver`: module_hardinfo, module_softinfo, mac, imei... */
  deviceInfo?: Record<string, string | number>;
  /** report_info's fw_ver; default this firmware's version. */
  firmwareVersion?: string;
  keepAliveSeconds?: number;
  /** How long to wait for a report_reply before treating the session as broken. */
  replyTimeoutMs?: number;
  /** One bound on the whole first-online sync (its requests go out together); default replyTimeoutMs. */
  syncTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Retry policy; its maxAttempts applies until the device is first online, never after. */
  backoff?: BackoffPolicy;
  /** Firmware update tuning (issue 22); OTA runs when the HAL has application slots. */
  ota?: Pick<OtaTaskOptions, "chunkBytes" | "requestTimeoutMs" | "attemptsPerChunk" | "retryDelayMs" | "progressStepPercent" | "restart">;
}

export interface BootEvent {
  state: BootState;
  /** Milliseconds since the task started (monotonic clock). */
  elapsedMs: number;
  /** Human-readable detail: never a secret. */
  detail?: string;
}

/** What the first online of a boot did (docs/PROTOCOL.md §8, §9); a step that failed is named in `problems`. */
export interface FirstOnlineSync {
  infoReported: boolean;
  status?: DeviceStatus;
  /** Pending control found by get_status, applied through onControl and cleared. */
  appliedControl?: Record<string, unknown>;
  clock?: ClockCheck;
  problems: string[];
  /**
   * The answers that never came within the sync's one timeout: "report_info_reply",
   * "get_status_reply", "clear_control_reply", "report_reply", "$sys time" (the answer on `$sys/operation/result`).
   */
  missing: string[];
}

export interface BootTask {
  readonly state: BootState;
  /** Resolves when first online with the first report acknowledged, or rejects with the fatal ExplorerError. */
  readonly online: Promise<void>;
  /**
   * Resolves once the first online of this boot has sent report_info, asked get_status, applied
   * and cleared any pending control, and checked the clock; rejects only if stopped before.
   */
  readonly synced: Promise<FirstOnlineSync>;
  onState(listener: (event: BootEvent) => void): void;
  /** Publishes a property report and resolves on its report_reply. */
  report(params: Record<string, unknown>): Promise<void>;
  /** Posts an event and resolves on its event_reply (code 0). */
  postEvent(eventId: string, params: Record<string, unknown>, type?: EventType): Promise<void>;
  stop(): Promise<void>;
}

class Stopped extends Error {}

export { DEFAULT_REGISTER_URL };

/** Starts the boot task; it runs until online-and-beyond, a fatal error, or stop(). */
export function bootDevice(hal: Hal, options: BootOptions = {}): BootTask {
  return new BootRunner(hal, options).start();
}

class BootRunner implements BootTask {
  state: BootState = "booting";
  readonly online: Promise<void>;
  private resolveOnline!: () => void;
  private rejectOnline!: (error: Error) => void;
  private readonly listeners: Array<(event: BootEvent) => void> = [];
  private readonly startedMs: number;
  private readonly backoff: BackoffPolicy;
  private session: MqttSession | undefined;
  private info: DeviceInfo | undefined;
  private tokenCounter = 0;
  private stopping = false;
  private wasOnline = false;
  private wakeStop: (() => void) | undefined;
  /** Everything below the task logs through this: it masks what the device must never print. */
  private readonly log: CoreLog;
  private readonly hal: Hal;
  // ---- data template past the first report (issue 14) ----
  readonly synced: Promise<FirstOnlineSync>;
  private resolveSynced!: (sync: FirstOnlineSync) => void;
  private rejectSynced!: (error: Error) => void;
  private firstSync: "pending" | "running" | "done" = "pending";
  private template: TemplateSession | undefined;
  private ota: OtaTask | undefined;
  /** Control applied live since this login: get_status may still list it until our control_reply lands. */
  private liveControl: Record<string, string> = {};

  constructor(portHal: Hal, private readonly options: BootOptions) {
    // A port that already logs through a CoreLog (hal/esp32/main.ts: one device per process) is
    // used as it is: a second layer would hold a second copy of every needle and mask each line
    // twice (about 2 KB of the ESP32 heap online). The secrets registered here then mask the
    // port's own lines too.
    this.log = asCoreLog(portHal.log) ?? createCoreLog(portHal.log);
    this.hal = { ...portHal, log: this.log };
    this.log.protect(options.factoryInfo?.productSecret);
    this.startedMs = portHal.clock.monotonicMs();
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.online = new Promise<void>((resolve, reject) => {
      this.resolveOnline = resolve;
      this.rejectOnline = reject;
    });
    // A caller that only watches states must not see an unhandled rejection.
    this.online.catch(() => undefined);
    this.synced = new Promise<FirstOnlineSync>((resolve, reject) => {
      this.resolveSynced = resolve;
      this.rejectSynced = reject;
    });
    this.synced.catch(() => undefined);
  }

  start(): this {
    // Start on the next microtask, so listeners added right after bootDevice() see "booting".
    Promise.resolve()
      .then(() => this.run())
      .catch((error) => this.fail(error));
    return this;
  }

  onState(listener: (event: BootEvent) => void): void {
    this.listeners.push(listener);
  }

  async report(params: Record<string, unknown>): Promise<void> {
    if (!this.session || !this.template) throw new ExplorerError("network", "the device is not online");
    await this.template.report(params);
  }

  async postEvent(eventId: string, params: Record<string, unknown>, type?: EventType): Promise<void> {
    if (!this.session || !this.template) throw new ExplorerError("network", "the device is not online");
    await this.template.postEvent(eventId, params, type);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeStop?.();
    const session = this.session;
    this.session = undefined;
    if (session) await session.close().catch(() => undefined);
    this.template?.detach(new Stopped("stopped"));
    if (this.firstSync !== "done") this.rejectSynced(new ExplorerError("network", "stopped before the first online sync"));
    // A failed task keeps its failed:<code> state: that is what a runner or an LED must show.
    if (!this.state.startsWith("failed:")) this.setState("stopped");
    this.rejectOnline(new ExplorerError("network", "stopped before coming online"));
  }

  private setState(state: BootState, detail?: string): void {
    this.state = state;
    // Listeners print details too (an LED runner, a console): they get them masked, as the log does.
    const shown = detail === undefined ? undefined : this.log.mask(detail);
    const event: BootEvent = { state, elapsedMs: Math.round(this.hal.clock.monotonicMs() - this.startedMs), detail: shown };
    this.log.log(state.startsWith("failed:") ? "error" : "info", "boot.state", shown ? { state, detail: shown } : { state });
    for (const listener of this.listeners) listener(event);
  }

  private fail(error: unknown): void {
    if (this.stopping || error instanceof Stopped) return;
    const failure = this.masked(toExplorerError(error));
    this.setState(`failed:${failure.code}`, failure.message);
    this.rejectOnline(failure);
  }

  /** The error itself when its message holds no secret, else a copy with the message masked. */
  private masked(failure: ExplorerError): ExplorerError {
    const message = this.log.mask(failure.message);
    return message === failure.message ? failure : new ExplorerError(failure.code, message);
  }

  private async run(): Promise<void> {
    this.setState("booting");
    let info = this.readDeviceInfo();
    if (needsRegistration(info)) info = await this.registerWithRetries(info);
    this.info = info;
    this.template = this.createTemplateSession(info);
    this.ota = this.createOtaTask(info);
    await this.stayConnected(info);
  }

  private readDeviceInfo(): DeviceInfo {
    const load = loadDevInfo(this.hal);
    if (load.status === "unreadable") {
      // Both slots fail to open: fall back to the factory identity. Re-registration recovers a
      // device that never activated; an activated one ends in the named "device-activated" state.
      this.log.log("error", "flash.record.unreadable", { reason: load.reason });
    }
    if (load.status === "ok" && !load.mirrored) this.restoreMirror(load.info);
    const info = load.status === "ok" ? load.info : this.options.factoryInfo;
    if (info) this.protect(info);
    if (!info) throw new ExplorerError("invalid-device-info", "flash holds no device info and no factory identity was given: provision ProductId, ProductSecret and DeviceName");
    return validateDeviceInfo(info);
  }

  /**
   * A power cut between a registration's two mirrored writes leaves the secret in one slot only;
   * a later corruption of that slot would then lose an activated secret for good. Copy it into the
   * other slot again. A normal boot finds both slots equal in the load and skips this.
   */
  private restoreMirror(info: DeviceInfo): void {
    if (needsRegistration(info)) return;
    try {
      setDevInfo(this.hal, info, { mirror: true });
    } catch (error) {
      // The record in hand still works: go online, and say the copy failed.
      this.log.log("warn", "flash.mirror.failed", { reason: toExplorerError(error).message });
    }
  }

  // ----------------------------------------------------------------------------- registration

  private async registerWithRetries(factory: DeviceInfo): Promise<DeviceInfo> {
    if (!this.hal.clock.isSynchronized()) await this.hal.clock.sync();
    let clockCorrected = false;
    for (let attempt = 0; ; attempt++) {
      this.checkStopping();
      this.setState("registering", attempt > 0 ? `attempt ${attempt + 1}` : undefined);
      try {
        const result = await dynregDevice(this.hal, factory, {
          registerUrl: this.options.registerUrl ?? DEFAULT_REGISTER_URL,
          algorithm: this.options.signAlgorithm,
        });
        this.checkStopping();
        return this.storeRegistration(result.deviceInfo);
      } catch (error) {
        if (error instanceof Stopped) throw error;
        const failure = toExplorerError(error);
        // A refused timestamp means our clock is off: correct it from the server's Date once,
        // then retry at once, as AWS SDKs do for RequestTimeTooSkewed.
        const serverMs = failure instanceof DynregError ? parseHttpDate(failure.serverDate) : undefined;
        if (failure.code === "timestamp-rejected" && !clockCorrected && serverMs !== undefined) {
          clockCorrected = true;
          this.hal.clock.correct(serverMs);
          this.log.log("warn", "clock.corrected", { source: "http-date" });
          attempt--;
          continue;
        }
        if (!failure.retryable) throw failure;
        await this.waitBackoff(attempt, failure);
      }
    }
  }

  private storeRegistration(registered: DeviceInfo): DeviceInfo {
    // Mirrored into both slots: a later corruption of one slot must not fall back to the
    // secret-less factory record, since an activated device cannot register again.
    // Both slots are read back from flash as they are written: what they hold is what the next boot reads.
    const load = storeDevInfo(this.hal, registered, { mirror: true });
    const readBack = load.status === "ok" ? load.info : undefined;
    if (!readBack || !sameSecret(readBack, registered)) {
      throw new ExplorerError("storage", "the registered secret did not read back from flash: the record store or flash is faulty");
    }
    this.protect(readBack);
    this.setState("registered", registered.authMode === "cert" ? "certificate stored" : "device secret stored");
    return readBack;
  }

  /** Registers the secrets a device-info record holds with the log, before anything can print them. */
  private protect(info: DeviceInfo): void {
    this.log.protect(info.productSecret, info.deviceSecret, info.clientCert, info.clientKey);
  }

  // ----------------------------------------------------------------------------- MQTT session

  private async stayConnected(info: DeviceInfo): Promise<void> {
    for (let attempt = 0; ; ) {
      this.checkStopping();
      this.setState("connecting", attempt > 0 ? `attempt ${attempt + 1}` : undefined);
      let lost: Promise<Error>;
      try {
        ({ lost } = await this.connectOnce(info));
        attempt = 0;
      } catch (error) {
        if (error instanceof Stopped) throw error;
        const failure = toExplorerError(error);
        if (!failure.retryable) throw failure;
        await this.waitBackoff(attempt++, failure);
        continue;
      }
      const reason = await lost;
      this.checkStopping();
      this.session = undefined;
      await this.waitBackoff(attempt++, toExplorerError(reason));
    }
  }

  /** Connects, subscribes and reports; resolves with a promise of the session's end. */
  private async connectOnce(info: DeviceInfo): Promise<{ lost: Promise<Error> }> {
    const clock = this.hal.clock;
    const credentials = buildMqttCredentials(this.hal.crypto, info, {
      algorithm: this.options.passwordAlgorithm,
      nowSeconds: clock.isSynchronized() ? clock.nowMs() / 1000 : undefined,
      mqttUrl: this.options.mqttUrl,
      keepAliveSeconds: this.options.keepAliveSeconds,
      connectTimeoutMs: this.options.connectTimeoutMs,
    });
    this.log.protect(credentials.password);
    const topics = thingTopics(info.productId, info.deviceName);
    let markLost!: (error: Error) => void;
    const lost = new Promise<Error>((resolve) => (markLost = resolve));
    const session = await connectMqtt(
      this.hal,
      {
        url: credentials.url,
        clientId: credentials.clientId,
        username: credentials.username,
        password: credentials.password,
        keepAliveSeconds: credentials.keepAliveSeconds,
        connectTimeoutMs: credentials.connectTimeoutMs,
        // Certificate products prove who they are in the TLS handshake, not with the password.
        clientCertificate: info.authMode === "cert" && info.clientCert && info.clientKey ? { certPem: info.clientCert, keyPem: info.clientKey } : undefined,
      },
      {
        onMessage: (topic, payload) => this.onDownMessage(topic, payload, topics.propertyUp),
        onClose: (error) => {
          // Every report and request still waiting on this session fails now, the same way.
          this.template?.detach(new ExplorerError("network", "connection lost"));
          this.ota?.detach();
          markLost(error ?? new HalNetworkError("reset", "connection closed"));
        },
      },
    ).catch((error: unknown) => {
      throw explainRefusal(error, info, credentials.url);
    });
    if (this.stopping) {
      await session.close().catch(() => undefined);
      throw new Stopped("stopped");
    }
    this.session = session;
    // Subscribe and report back to back: the broker handles them in order, so the reply to the
    // report arrives after the subscription without waiting a round trip for SUBACK first.
    const subscribed = this.subscribeDownTopics(session, topics.propertyDown);
    const reported = this.template!.report(this.options.initialReport ?? {});
    try {
      await subscribed;
      this.setState("online", `${credentials.clientId} subscribed to ${topics.propertyDown}`);
      await reported;
    } catch (error) {
      reported.catch(() => undefined);
      await session.close().catch(() => undefined);
      throw error;
    }
    this.wasOnline = true;
    this.resolveOnline();
    this.afterLogin();
    // OTA is optional: a refused subscription only turns it off for this session.
    void this.ota?.attach(session).catch((error: unknown) => this.hal.log.log("warn", "ota.attach.failed", { reason: toExplorerError(error).message }));
    this.log.log("info", "report.acknowledged", { clientId: credentials.clientId });
    return { lost };
  }

  private onDownMessage(topic: string, payload: Uint8Array, upTopic: string): void {
    if (this.ota?.handle(topic, payload)) return;
    const message = topic === this.template?.topics.sysResult ? undefined : parseDownMessage(payload);
    if (this.template?.handle(topic, message, payload) || !message) return;
    if (message.kind === "control") {
      let code = 0;
      let status = "success";
      try {
        this.options.onControl?.(message.params);
        this.noteLiveControl(message.params);
      } catch (error) {
        code = 1;
        status = error instanceof Error ? error.message : "control refused";
      }
      this.log.log("info", "control.received", { clientToken: message.clientToken, code });
      const session = this.session;
      session?.publish(upTopic, encodeControlReply(message.clientToken, code, status), 0).catch(() => undefined);
      if (code === 0 && session) this.reportApplied(message.params);
    } else if (message.kind === "invalid") {
      this.log.log("warn", "mqtt.message.ignored", { topic, reason: message.reason });
    }
  }

  // ----------------------------------------------------------------------------- data template (issue 14)

  private createTemplateSession(info: DeviceInfo): TemplateSession {
    return new TemplateSession({
      productId: info.productId, deviceName: info.deviceName, clock: this.hal.clock, log: this.hal.log,
      replyTimeoutMs: this.options.replyTimeoutMs ?? 10_000,
      nextToken: () => this.nextClientToken(),
      onAction: this.options.onAction,
    });
  }

  private createOtaTask(info: DeviceInfo): OtaTask | undefined {
    const slots = this.hal.slots;
    if (!slots) return undefined;
    return new OtaTask({
      productId: info.productId, deviceName: info.deviceName, slots, http: this.hal.http, clock: this.hal.clock, log: this.hal.log,
      ...this.options.ota,
    });
  }

  /** The property down topic, then events, actions and the time result, all before "online". */
  private subscribeDownTopics(session: MqttSession, propertyDown: string): Promise<void> {
    this.template?.attach(session);
    this.liveControl = {};
    const property = session.subscribe(propertyDown, 1).catch((error: unknown) => {
      throw refusedSubscription(error, propertyDown);
    });
    const extras = this.template ? this.template.subscribeExtras(session) : Promise.resolve();
    return Promise.all([property, extras]).then(() => undefined);
  }

  /** After each login: the first-online sync until it has run once this boot, else a clock check. */
  private afterLogin(): void {
    if (this.firstSync === "pending") {
      this.firstSync = "running";
      void this.runFirstSync();
      return;
    }
    if (this.firstSync === "done") {
      this.template?.checkClock().catch((error: unknown) => this.hal.log.log("warn", "clock.check.failed", { reason: toExplorerError(error).message }));
    }
  }

  /**
   * As the C SDK's data_template_sample after IOT_Template_Construct: report_info, get_status
   * (control kept while the device was away applied through onControl, cleared with
   * clear_control and reported) and the platform's time against the device clock. The three
   * requests go out together and one timeout bounds the whole sync: a platform that answers none
   * costs one timeout, not three. An answer that never came is named in `missing`; a lost
   * session leaves the sync for the next login.
   */
  private async runFirstSync(): Promise<void> {
    const template = this.template;
    if (!template) return;
    const sync: FirstOnlineSync = { infoReported: false, problems: [], missing: [] };
    // Each step's name -> the answer it waits for now; a finished step leaves the table. Plain
    // promise chains, not an async function per step: all three are in flight at once, and on
    // the ESP32 every suspended frame and promise of theirs is heap (docs/ESP32.md).
    const awaiting: Record<string, string> = { report_info: "report_info_reply", get_status: "get_status_reply", clock: "$sys time" };
    let running = Object.keys(awaiting).length;
    let lost = false;
    let over = false;
    let allDone!: () => void;
    const done = new Promise<void>((resolve) => (allDone = resolve));
    const end = (name: string, error?: unknown): void => {
      const awaited = awaiting[name];
      delete awaiting[name];
      if (error !== undefined && !over) {
        const failure = toExplorerError(error);
        if (error instanceof Stopped || failure.code === "network") {
          lost = true;
        } else {
          if (failure.code === "timeout" && awaited) sync.missing.push(awaited);
          sync.problems.push(`${name}: ${failure.message}`);
          this.hal.log.log("warn", "template.sync.step.failed", { step: name, reason: failure.message });
        }
      }
      if (--running === 0) allDone();
    };
    const clock = this.hal.clock;
    const timeoutMs = this.options.syncTimeoutMs ?? this.options.replyTimeoutMs ?? 10_000;
    const timer = clock.setTimer(timeoutMs, allDone);
    template.reportInfo({ fw_ver: this.options.firmwareVersion ?? this.hal.slots?.runningVersion() ?? FIRMWARE_VERSION, ...this.options.deviceInfo }).then(
      () => {
        sync.infoReported = true;
        end("report_info");
      },
      (error: unknown) => end("report_info", error),
    );
    template.getStatus().then(
      (status) => this.applyPendingControl(template, status, sync, awaiting, () => over),
    ).then(() => end("get_status"), (error: unknown) => end("get_status", error));
    template.checkClock().then(
      (checked) => {
        if (!over) sync.clock = checked;
        end("clock");
      },
      (error: unknown) => end("clock", error),
    );
    await done;
    clock.clearTimer(timer);
    over = true;
    if (lost) {
      // The session went away mid-sync: the next login runs it again.
      this.firstSync = "pending";
      return;
    }
    for (const [name, answer] of Object.entries(awaiting)) {
      sync.missing.push(answer);
      sync.problems.push(`${name}: no ${answer} within the sync's ${timeoutMs} ms`);
      this.hal.log.log("warn", "template.sync.step.failed", { step: name, reason: `no ${answer} within ${timeoutMs} ms` });
    }
    this.firstSync = "done";
    this.hal.log.log("info", "template.synced", { problems: sync.problems.length, missing: sync.missing.length });
    this.resolveSynced(sync);
  }

  /**
   * The rest of the sync's get_status step once its answer came: control kept while the device
   * was away is applied through onControl (minus what arrived live since login), cleared with
   * clear_control and reported; `awaiting.get_status` names the answer it waits for at each turn.
   */
  private async applyPendingControl(template: TemplateSession, status: DeviceStatus, sync: FirstOnlineSync, awaiting: Record<string, string>, isOver: () => boolean): Promise<void> {
    if (isOver()) return;
    sync.status = status;
    const control = status.control;
    if (!control || Object.keys(control).length === 0) return;
    const rest = this.notAppliedLive(control);
    if (Object.keys(rest).length > 0) {
      this.options.onControl?.(rest);
      this.hal.log.log("info", "control.pending.applied", { count: Object.keys(rest).length });
    }
    awaiting.get_status = "clear_control_reply";
    await template.clearControl();
    if (Object.keys(rest).length === 0) return;
    if (!isOver()) sync.appliedControl = rest;
    awaiting.get_status = "report_reply";
    if (this.session) await template.report(rest);
  }

  /** The new state after live control, as data_template_sample reports its changed properties after control_reply. */
  private reportApplied(params: Record<string, unknown>): void {
    if (Object.keys(params).length === 0 || !this.template) return;
    this.template.report(params).catch((error: unknown) => {
      this.hal.log.log("warn", "control.report.failed", { reason: toExplorerError(error).message });
    });
  }

  private noteLiveControl(params: Record<string, unknown>): void {
    for (const [name, value] of Object.entries(params)) this.liveControl[name] = JSON.stringify(value);
  }

  private notAppliedLive(control: Record<string, unknown>): Record<string, unknown> {
    const rest: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(control)) {
      if (this.liveControl[name] !== JSON.stringify(value)) rest[name] = value;
    }
    return rest;
  }

  private nextClientToken(): string {
    this.tokenCounter++;
    return `exs-${this.tokenCounter}-${Math.floor(this.hal.clock.monotonicMs())}`;
  }

  // ----------------------------------------------------------------------------- waiting

  private async waitBackoff(attempt: number, cause: ExplorerError): Promise<void> {
    // maxAttempts bounds the way to the first "online" only: a device that has been online keeps
    // reconnecting for as long as it runs, as a board in the field must.
    const max = this.wasOnline ? undefined : this.backoff.maxAttempts;
    if (max !== undefined && attempt + 1 >= max) {
      throw new ExplorerError(cause.code, `${cause.message} (gave up after ${attempt + 1} attempts)`);
    }
    const delayMs = backoffDelayMs(this.backoff, attempt, Math.random);
    this.setState("backoff", `${cause.code}: ${cause.message}; retry in ${delayMs} ms`);
    await Promise.race([this.hal.clock.sleep(delayMs), new Promise<void>((resolve) => (this.wakeStop = resolve))]);
    this.checkStopping();
  }

  private checkStopping(): void {
    if (this.stopping) throw new Stopped("stopped");
  }
}

function sameSecret(a: DeviceInfo, b: DeviceInfo): boolean {
  return a.deviceSecret === b.deviceSecret && a.clientCert === b.clientCert && a.clientKey === b.clientKey;
}

/**
 * The property topic is the one subscription a device cannot do without (control and every
 * reply arrive on it): a refusal is retried, named for what it is, not for the secret.
 */
function refusedSubscription(error: unknown, topic: string): unknown {
  if (!(error instanceof HalMqttError) || error.returnCode !== SUBACK_FAILURE) return error;
  return new ExplorerError(
    "mqtt-subscribe-refused",
    `the broker refused the subscription to ${topic} (SUBACK 0x80): the device cannot receive control or replies without it; check the product's topic permissions in the console (retrying)`,
  );
}

/**
 * A certificate device refused over mqtt:// (no TLS, so no client certificate to present): the
 * person must change the broker URL, not the device secret the generic refusal points at.
 */
function explainRefusal(error: unknown, info: DeviceInfo, url: string): unknown {
  if (!(error instanceof HalMqttError) || error.returnCode === 3 || info.authMode !== "cert" || !url.startsWith("mqtt:")) return error;
  return new ExplorerError(
    "mqtt-refused",
    `broker refused the connection (return code ${error.returnCode}) at ${url}: a certificate device presents its client certificate only over TLS: use an mqtts:// broker URL (Tencent's port 8883)`,
  );
}

/** Maps anything thrown below the task to the core's error taxonomy. */
export function toExplorerError(error: unknown): ExplorerError {
  if (error instanceof ExplorerError) return error;
  if (error instanceof HalNetworkError) {
    // An unusable stored certificate or key fails the same way on every attempt: stop, named.
    if (error.code === "credentials") {
      return new ExplorerError("invalid-device-info", `${error.message}: the stored client certificate or key is unusable; delete the device in the console and register it again`);
    }
    return new ExplorerError(error.code === "timeout" ? "timeout" : "network", error.message);
  }
  if (error instanceof HalMqttError) {
    if (error.returnCode === SUBACK_FAILURE) return new ExplorerError("mqtt-subscribe-refused", error.message);
    // CONNACK 3 is "server unavailable": worth retrying. 1, 2, 4, 5 need a person.
    if (error.returnCode === 3) return new ExplorerError("mqtt-refused-transient", "broker unavailable (CONNACK 3)");
    return new ExplorerError(
      "mqtt-refused",
      `broker refused the connection (return code ${error.returnCode}): check the device secret and that the device still exists in the console`,
    );
  }
  if (error instanceof FlashError) return new ExplorerError("storage", `flash: ${error.message}`);
  const message = error instanceof Error ? error.message : String(error);
  return new ExplorerError("internal", `unexpected error: ${message}`);
}
