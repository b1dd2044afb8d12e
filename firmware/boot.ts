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
import type { Hal } from "../hal/types";
import { HalMqttError, HalNetworkError, FlashError } from "../hal/types";
import { DEFAULT_BACKOFF, backoffDelayMs, type BackoffPolicy } from "./backoff";
import { encodeControlReply, encodeReport, parseDownMessage } from "./data-template";
import { needsRegistration, validateDeviceInfo, type DeviceInfo } from "./device-info";
import { dynregDevice, DEFAULT_REGISTER_URL } from "./dynreg";
import { DynregError, ExplorerError, type ErrorCode } from "./errors";
import { parseHttpDate } from "./http-date";
import { buildMqttCredentials } from "./mqtt-credentials";
import { connectMqtt } from "./mqtt/client";
import type { MqttSession } from "./mqtt/session";
import { getDevInfo, loadDevInfo, setDevInfo } from "./record-store";
import { thingTopics } from "./topics";

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
  /** Called for every control message; throw to answer with a non-zero code. */
  onControl?: (params: Record<string, unknown>) => void;
  keepAliveSeconds?: number;
  /** How long to wait for a report_reply before treating the session as broken. */
  replyTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Retry policy; its maxAttempts applies until the device is first online, never after. */
  backoff?: BackoffPolicy;
}

export interface BootEvent {
  state: BootState;
  /** Milliseconds since the task started (monotonic clock). */
  elapsedMs: number;
  /** Human-readable detail: never a secret. */
  detail?: string;
}

export interface BootTask {
  readonly state: BootState;
  /** Resolves when first online with the first report acknowledged, or rejects with the fatal ExplorerError. */
  readonly online: Promise<void>;
  onState(listener: (event: BootEvent) => void): void;
  /** Publishes a property report and resolves on its report_reply. */
  report(params: Record<string, unknown>): Promise<void>;
  stop(): Promise<void>;
}

interface PendingReply {
  resolve(): void;
  reject(error: Error): void;
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
  private readonly pending = new Map<string, PendingReply>();
  private session: MqttSession | undefined;
  private info: DeviceInfo | undefined;
  private tokenCounter = 0;
  private stopping = false;
  private wasOnline = false;
  private wakeStop: (() => void) | undefined;

  constructor(private readonly hal: Hal, private readonly options: BootOptions) {
    this.startedMs = hal.clock.monotonicMs();
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.online = new Promise<void>((resolve, reject) => {
      this.resolveOnline = resolve;
      this.rejectOnline = reject;
    });
    // A caller that only watches states must not see an unhandled rejection.
    this.online.catch(() => undefined);
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
    if (!this.session || !this.info) throw new ExplorerError("network", "the device is not online");
    await this.publishReport(this.session, this.info, params);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeStop?.();
    const session = this.session;
    this.session = undefined;
    if (session) await session.close().catch(() => undefined);
    for (const reply of this.pending.values()) reply.reject(new Stopped("stopped"));
    this.pending.clear();
    // A failed task keeps its failed:<code> state: that is what a runner or an LED must show.
    if (!this.state.startsWith("failed:")) this.setState("stopped");
    this.rejectOnline(new ExplorerError("network", "stopped before coming online"));
  }

  private setState(state: BootState, detail?: string): void {
    this.state = state;
    const event: BootEvent = { state, elapsedMs: Math.round(this.hal.clock.monotonicMs() - this.startedMs), detail };
    this.hal.log.log(state.startsWith("failed:") ? "error" : "info", "boot.state", detail ? { state, detail } : { state });
    for (const listener of this.listeners) listener(event);
  }

  private fail(error: unknown): void {
    if (this.stopping || error instanceof Stopped) return;
    const failure = toExplorerError(error);
    this.setState(`failed:${failure.code}`, failure.message);
    this.rejectOnline(failure);
  }

  private async run(): Promise<void> {
    this.setState("booting");
    let info = this.readDeviceInfo();
    if (needsRegistration(info)) info = await this.registerWithRetries(info);
    this.info = info;
    await this.stayConnected(info);
  }

  private readDeviceInfo(): DeviceInfo {
    const load = loadDevInfo(this.hal);
    if (load.status === "unreadable") {
      // Both slots fail to open: fall back to the factory identity. Re-registration recovers a
      // device that never activated; an activated one ends in the named "device-activated" state.
      this.hal.log.log("error", "flash.record.unreadable", { reason: load.reason });
    }
    if (load.status === "ok" && !load.mirrored) this.restoreMirror(load.info);
    const info = load.status === "ok" ? load.info : this.options.factoryInfo;
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
      this.hal.log.log("warn", "flash.mirror.failed", { reason: toExplorerError(error).message });
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
          this.hal.log.log("warn", "clock.corrected", { source: "http-date" });
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
    setDevInfo(this.hal, registered, { mirror: true });
    const readBack = getDevInfo(this.hal);
    if (!readBack || !sameSecret(readBack, registered)) {
      throw new ExplorerError("storage", "the registered secret did not read back from flash: the record store or flash is faulty");
    }
    this.setState("registered", registered.authMode === "cert" ? "certificate stored" : "device secret stored");
    return readBack;
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
          for (const reply of this.pending.values()) reply.reject(new ExplorerError("network", "connection lost"));
          this.pending.clear();
          markLost(error ?? new HalNetworkError("reset", "connection closed"));
        },
      },
    );
    if (this.stopping) {
      await session.close().catch(() => undefined);
      throw new Stopped("stopped");
    }
    this.session = session;
    // Subscribe and report back to back: the broker handles them in order, so the reply to the
    // report arrives after the subscription without waiting a round trip for SUBACK first.
    const subscribed = session.subscribe(topics.propertyDown, 1);
    const reported = this.publishReport(session, info, this.options.initialReport ?? {});
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
    this.hal.log.log("info", "report.acknowledged", { clientId: credentials.clientId });
    return { lost };
  }

  private publishReport(session: MqttSession, info: DeviceInfo, params: Record<string, unknown>): Promise<void> {
    const clientToken = this.nextClientToken();
    const upTopic = thingTopics(info.productId, info.deviceName).propertyUp;
    const acknowledged = new Promise<void>((resolve, reject) => this.pending.set(clientToken, { resolve, reject }));
    const timeoutMs = this.options.replyTimeoutMs ?? 10_000;
    const timedOut = this.hal.clock.sleep(timeoutMs).then(() => {
      if (!this.pending.has(clientToken)) return;
      this.pending.delete(clientToken);
      throw new ExplorerError("timeout", `no report_reply within ${timeoutMs} ms`);
    });
    timedOut.catch(() => undefined);
    const payload = encodeReport(clientToken, Math.floor(this.hal.clock.nowMs() / 1000), params);
    return session.publish(upTopic, payload, 0).then(() => Promise.race([acknowledged, timedOut]));
  }

  private onDownMessage(topic: string, payload: Uint8Array, upTopic: string): void {
    const message = parseDownMessage(payload);
    if (message.kind === "report_reply") {
      const reply = this.pending.get(message.clientToken);
      if (!reply) return;
      this.pending.delete(message.clientToken);
      if (message.code === 0) reply.resolve();
      else reply.reject(new ExplorerError("server-error", `report refused with code ${message.code} (${message.status})`));
    } else if (message.kind === "control") {
      let code = 0;
      let status = "success";
      try {
        this.options.onControl?.(message.params);
      } catch (error) {
        code = 1;
        status = error instanceof Error ? error.message : "control refused";
      }
      this.hal.log.log("info", "control.received", { clientToken: message.clientToken, code });
      this.session?.publish(upTopic, encodeControlReply(message.clientToken, code, status), 0).catch(() => undefined);
    } else if (message.kind === "invalid") {
      this.hal.log.log("warn", "mqtt.message.ignored", { topic, reason: message.reason });
    }
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

/** Maps anything thrown below the task to the core's error taxonomy. */
export function toExplorerError(error: unknown): ExplorerError {
  if (error instanceof ExplorerError) return error;
  if (error instanceof HalNetworkError) return new ExplorerError(error.code === "timeout" ? "timeout" : "network", error.message);
  if (error instanceof HalMqttError) {
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
