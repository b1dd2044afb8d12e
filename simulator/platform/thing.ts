/**
 * The data plane: the data-template protocol on `$thing/up|down/property|event|action/<pid>/<dn>`
 * (docs/PROTOCOL.md §8), the time service on `$sys/operation` (§9), and the calls the Cloud API
 * makes on a device: control, action calls, messages to custom topics, the latest reported values.
 *
 * The broker hands it every publish an authenticated device made on a topic the ACL allowed; it
 * answers through the broker. State that outlives a connection (reported values, pending control,
 * report_info, action calls) lives in the registry.
 */
import { randomUUID } from "node:crypto";
import { checkDeviceUsage, fitsDevice, MAX_DEVICE_MESSAGE_BYTES, reportedEntries } from "./data-bounds";
import { isObject, parseJsonObject, type Json } from "./json-object";
import type { DeviceIdentity } from "./mqtt-auth";
import { deviceTopics, parseThingTopic } from "./mqtt-auth";
import type { PlatformLog } from "./platform-log";
import type { ActionCall, ControlMessage, DeviceInfoReport, ReportedProperty, Registry } from "./registry";
import { TemplateGuard, type DeviceRefusal } from "./thing-model/guard";

/** Data-template messages larger than this are not parsed (a device has 16 KiB for down messages). */
export const MAX_TEMPLATE_MESSAGE_BYTES = 16 * 1024;
/** Action calls waiting for their action_reply at once, per platform. */
export const MAX_PENDING_ACTIONS = 1024;
/** Control replies remembered for the console's events (recentControlReply). */
const RECENT_REPLIES = 1024;
export const DEFAULT_ACTION_TIMEOUT_MS = 5_000;
export const MAX_ACTION_TIMEOUT_MS = 60_000;

/**
 * Reply code for a request the mock cannot take (missing clientToken, params not an object, unknown
 * get_status type). The mock's own choice: Tencent documents no code for these; 406 is the code its
 * platform was seen to send for a malformed event ("Param count not match").
 */
export const MOCK_BAD_REQUEST_CODE = 406;

export type ThingErrorCode = "device-not-found" | "device-offline" | "action-timeout" | "topic-not-allowed" | "invalid" | "busy" | "closed";

export class ThingError extends Error {
  constructor(readonly code: ThingErrorCode, message: string) {
    super(message);
    this.name = "ThingError";
  }
}

/** What the data plane needs from the broker. */
export interface DeviceLink {
  /** Connected to any node (presence, with a cluster). */
  isOnline(productId: string, deviceName: string): Promise<boolean>;
  publishToDevice(topic: string, payload: string | Buffer, qos: 0 | 1): Promise<void>;
}

export interface ThingOptions {
  registry: Registry;
  link: DeviceLink;
  now: () => number;
  log: PlatformLog;
  /**
   * An action_reply this node recorded for a call it is not waiting for: with a cluster, the node
   * whose CallDeviceActionSync waits is told (redis-cluster.ts) and calls `actionAnswered`.
   */
  announceActionReply?: (clientToken: string) => void;
}

export interface ControlOptions {
  /** Refuse (device-offline) instead of keeping the control pending for the device's next get_status. */
  requireOnline?: boolean;
}

export type SentControl = ControlMessage & { delivered: boolean };
export type AnsweredAction = ActionCall & { reply: NonNullable<ActionCall["reply"]> };

/** Text fields from devices are kept and logged only this long. */
function clip(value: unknown, length = 256): string {
  return typeof value === "string" ? value.slice(0, length) : "";
}

interface PendingAction {
  resolve(call: AnsweredAction): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export class ThingService {
  private readonly pendingActions = new Map<string, PendingAction>();
  private closed = false;

  /** The product's data template checks (issue 24); a product without one passes. */
  private readonly template: TemplateGuard;

  constructor(private readonly options: ThingOptions) {
    this.template = new TemplateGuard(options.registry);
  }

  /** Entry point for every device publish the broker let through. */
  async handle(identity: DeviceIdentity, topic: string, payload: Buffer, clientId: string): Promise<void> {
    const { productId: pid, deviceName: dn } = identity;
    const thing = parseThingTopic(topic);
    if (thing?.direction === "up") return this.onThingMessage(identity, thing.kind, payload, clientId);
    if (topic === `$sys/operation/${pid}/${dn}`) return this.onSysOperation(identity, payload, clientId);
    // Default custom topics ({pid}/{dn}/data, /event): delivered by aedes to their subscribers; noted here.
    this.options.log({ event: "custom", clientId, topic: topic.slice(0, 200), bytes: payload.length });
  }

  // ------------------------------------------------------------------------------ device to platform

  private async onThingMessage(identity: DeviceIdentity, kind: "property" | "event" | "action", payload: Buffer, clientId: string): Promise<void> {
    const message = parseJsonObject(payload, MAX_TEMPLATE_MESSAGE_BYTES);
    const method = typeof message?.method === "string" ? message.method.slice(0, 64) : undefined;
    if (!message || method === undefined) {
      this.options.log({ event: "thing", clientId, kind, outcome: message ? "no method" : "not a JSON object" });
      return;
    }
    const clientToken = typeof message.clientToken === "string" ? message.clientToken : undefined;
    const outcome = await this.dispatch(identity, kind, method, message, clientToken) ?? "unknown method";
    this.options.log({ event: "thing", clientId, kind, method, clientToken: (clientToken ?? "").slice(0, 64), outcome });
  }

  /** The handler of `method` on a `kind` topic; undefined for a method that kind does not have. */
  private async dispatch(identity: DeviceIdentity, kind: "property" | "event" | "action", method: string, message: Json, token: string | undefined): Promise<string | undefined> {
    if (kind === "property") {
      switch (method) {
        case "report": return this.onReport(identity, message, token);
        case "report_info": return this.onReportInfo(identity, message, token);
        case "get_status": return this.onGetStatus(identity, message, token);
        case "clear_control": return this.onClearControl(identity, token);
        case "control_reply": return this.onControlReply(identity, message, token);
        default: return undefined;
      }
    }
    if (kind === "event") {
      switch (method) {
        case "event_post": return this.onEventPost(identity, "event_reply", message, token);
        case "events_post": return this.onEventPost(identity, "events_reply", message, token);
        default: return undefined;
      }
    }
    return method === "action_reply" ? this.onActionReply(identity, message, token) : undefined;
  }

  /** Answers on the device's down topic of the same kind; a reply that cannot be sent is only logged. */
  private reply(identity: DeviceIdentity, kind: "property" | "event", body: Json): void {
    const topic = `$thing/down/${kind}/${identity.productId}/${identity.deviceName}`;
    let text = JSON.stringify(body);
    // Never more than the device can receive: the refusal says why its data did not come.
    if (!fitsDevice(text)) {
      text = JSON.stringify({ method: body.method, clientToken: body.clientToken, code: MOCK_BAD_REQUEST_CODE, status: `the reply would exceed the ${MAX_DEVICE_MESSAGE_BYTES} bytes a device receives` });
    }
    this.options.link.publishToDevice(topic, text, 0).catch((error: unknown) => {
      this.options.log({ event: "thing", topic, outcome: "reply not sent", detail: error instanceof Error ? error.message : String(error) });
    });
  }

  /** The common refusal: code MOCK_BAD_REQUEST_CODE with the reason in status. */
  private refuse(identity: DeviceIdentity, kind: "property" | "event", method: string, token: string | undefined, reason: string): string {
    this.reply(identity, kind, { method, clientToken: token ?? "", code: MOCK_BAD_REQUEST_CODE, status: reason });
    return reason;
  }

  /** A refusal the data template decided, with Tencent's code and status (docs/PROTOCOL.md §13). */
  private refuseByTemplate(identity: DeviceIdentity, kind: "property" | "event", method: string, token: string, refusal: DeviceRefusal): string {
    this.reply(identity, kind, { method, clientToken: token, code: refusal.code, status: refusal.status, ...(kind === "event" ? { data: {} } : {}) });
    return refusal.detail;
  }

  private async onReport(identity: DeviceIdentity, message: Json, token: string | undefined): Promise<string> {
    if (token === undefined) return this.refuse(identity, "property", "report_reply", token, "clientToken missing");
    if (!isObject(message.params)) return this.refuse(identity, "property", "report_reply", token, "params must be an object");
    const refused = await this.template.report(identity.productId, message.params);
    if (refused) return this.refuseByTemplate(identity, "property", "report_reply", token, refused);
    const deviceTimestamp = typeof message.timestamp === "number" && Number.isSafeInteger(message.timestamp) ? message.timestamp : undefined;
    // Bounded per device (data-bounds.ts): a report past a bound is refused whole, nothing of it kept.
    const entries = reportedEntries(message.params);
    const tooLarge = typeof entries === "string" ? entries
      : await this.options.registry.recordReportWithin(identity.productId, identity.deviceName, entries, this.options.now(), deviceTimestamp, checkDeviceUsage);
    if (tooLarge !== undefined) return this.refuse(identity, "property", "report_reply", token, tooLarge);
    this.reply(identity, "property", { method: "report_reply", clientToken: token, code: 0, status: "success" });
    return "ok";
  }

  private async onReportInfo(identity: DeviceIdentity, message: Json, token: string | undefined): Promise<string> {
    if (token === undefined) return this.refuse(identity, "property", "report_info_reply", token, "clientToken missing");
    if (!isObject(message.params)) return this.refuse(identity, "property", "report_info_reply", token, "params must be an object");
    await this.options.registry.recordDeviceInfo(identity.productId, identity.deviceName, message.params, this.options.now());
    this.reply(identity, "property", { method: "report_info_reply", clientToken: token, code: 0, status: "success" });
    return "ok";
  }

  /**
   * get_status_reply: `data.reported` holds the latest reported values, `data.control` the control
   * not yet acknowledged or cleared. With `type` "report" or "control" only that part is sent, and
   * the type is echoed, as Tencent's Java SDK logs show; without a type (the C SDK's request) both.
   */
  private async onGetStatus(identity: DeviceIdentity, message: Json, token: string | undefined): Promise<string> {
    if (token === undefined) return this.refuse(identity, "property", "get_status_reply", token, "clientToken missing");
    const type = message.type;
    if (type !== undefined && type !== "report" && type !== "control") {
      return this.refuse(identity, "property", "get_status_reply", token, "type must be report or control");
    }
    const data: Json = {};
    if (type !== "control") {
      const reported = await this.options.registry.latestReported(identity.productId, identity.deviceName);
      if (Object.keys(reported).length > 0) data.reported = Object.fromEntries(Object.entries(reported).map(([name, p]) => [name, p.value]));
    }
    if (type !== "report") {
      const control = await this.options.registry.pendingControl(identity.productId, identity.deviceName);
      if (control) data.control = control;
    }
    this.reply(identity, "property", {
      method: "get_status_reply", clientToken: token, code: 0, status: "success", ...(type !== undefined ? { type } : {}), data,
    });
    return "ok";
  }

  private async onClearControl(identity: DeviceIdentity, token: string | undefined): Promise<string> {
    if (token === undefined) return this.refuse(identity, "property", "clear_control_reply", token, "clientToken missing");
    await this.options.registry.settlePendingControl(identity.productId, identity.deviceName, undefined, this.options.now());
    this.reply(identity, "property", { method: "clear_control_reply", clientToken: token, code: 0, status: "success" });
    return "ok";
  }

  /** Recorded against the control it answers; a successful one settles that control's params. */
  private async onControlReply(identity: DeviceIdentity, message: Json, token: string | undefined): Promise<string> {
    const { registry, now } = this.options;
    if (token === undefined) return "clientToken missing";
    const code = typeof message.code === "number" ? message.code : -1;
    const status = clip(message.status);
    const control = await registry.getControl(token);
    if (!control || control.reply || control.productId !== identity.productId || control.deviceName !== identity.deviceName) return "unknown clientToken";
    // Settled before the reply is recorded: whoever sees the reply sees the pending control without its params.
    if (code === 0) await registry.settlePendingControl(identity.productId, identity.deviceName, control.params, now());
    if (!await registry.recordControlReply(identity.productId, identity.deviceName, token, code, status, now())) return "unknown clientToken";
    this.rememberReply(token, { code, status });
    return "recorded";
  }

  private async onEventPost(identity: DeviceIdentity, replyMethod: "event_reply" | "events_reply", message: Json, token: string | undefined): Promise<string> {
    if (token === undefined) return this.refuse(identity, "event", replyMethod, token, "clientToken missing");
    const events = replyMethod === "event_reply" ? [message] : message.events;
    if (!Array.isArray(events) || events.length === 0) return this.refuse(identity, "event", replyMethod, token, "events must be a non-empty array");
    for (const event of events) {
      if (!isObject(event) || typeof event.eventId !== "string" || event.eventId.length === 0) return this.refuse(identity, "event", replyMethod, token, "eventId missing");
      if (event.params !== undefined && !isObject(event.params)) return this.refuse(identity, "event", replyMethod, token, "params must be an object");
      const refused = await this.template.event(identity.productId, event.eventId, isObject(event.params) ? event.params : {});
      if (refused) return this.refuseByTemplate(identity, "event", replyMethod, token, refused);
    }
    // The shape of Tencent's success reply, status empty and data {}, as its SDKs' logs show.
    this.reply(identity, "event", { method: replyMethod, clientToken: token, code: 0, status: "", data: {} });
    return "ok";
  }

  private async onActionReply(identity: DeviceIdentity, message: Json, token: string | undefined): Promise<string> {
    if (token === undefined) return "clientToken missing";
    const reply = {
      code: typeof message.code === "number" ? message.code : -1,
      status: clip(message.status),
      response: isObject(message.response) ? message.response : {},
    };
    if (!await this.options.registry.recordActionReply(identity.productId, identity.deviceName, token, reply, this.options.now())) return "unknown clientToken";
    const call = await this.options.registry.getAction(token);
    const misfit = call && await this.template.actionResponse(identity.productId, call.actionId, reply.response);
    if (!this.settleAction(token, call)) this.options.announceActionReply?.(token);
    return misfit ? `recorded; response does not fit the data template: ${misfit.message}` : "recorded";
  }

  /** Resolves this node's CallDeviceActionSync waiting for `token`, if any; true when one was. */
  private settleAction(token: string, call: ActionCall | undefined): boolean {
    const pending = this.pendingActions.get(token);
    if (!pending || !call?.reply) return false;
    this.pendingActions.delete(token);
    clearTimeout(pending.timer);
    pending.resolve(call as AnsweredAction);
    return true;
  }

  /** Another node recorded the action_reply of `token` (in the shared registry). */
  async actionAnswered(token: string): Promise<void> {
    if (!this.pendingActions.has(token)) return;
    this.settleAction(token, await this.options.registry.getAction(token));
  }

  /** The last control replies this node recorded, by token, for the console's events (bounded). */
  private readonly recentReplies = new Map<string, { code: number; status: string }>();

  private rememberReply(token: string, reply: { code: number; status: string }): void {
    this.recentReplies.set(token, reply);
    if (this.recentReplies.size > RECENT_REPLIES) this.recentReplies.delete(this.recentReplies.keys().next().value!);
  }

  /** A control reply this node recorded lately: the console's event names its code synchronously. */
  recentControlReply(clientToken: string): { code: number; status: string } | undefined {
    return this.recentReplies.get(clientToken);
  }

  /**
   * `$sys/operation` get time: answered on `$sys/operation/result` with the platform's time in
   * seconds and, for the device's NTP-style estimate, ntptime1/ntptime2 (receive and send, ms).
   */
  private onSysOperation(identity: DeviceIdentity, payload: Buffer, clientId: string): void {
    const message = parseJsonObject(payload, MAX_TEMPLATE_MESSAGE_BYTES);
    const wantsTime = message?.type === "get" && Array.isArray(message.resource) && message.resource.includes("time");
    if (!wantsTime) {
      this.options.log({ event: "sys", clientId, outcome: "unsupported request" });
      return;
    }
    const received = this.options.now();
    const body = { type: "get", time: Math.floor(received / 1000), ntptime1: received, ntptime2: this.options.now() };
    const topic = `$sys/operation/result/${identity.productId}/${identity.deviceName}`;
    this.options.link.publishToDevice(topic, JSON.stringify(body), 0).catch(() => undefined);
    this.options.log({ event: "sys", clientId, outcome: "time sent" });
  }

  // ------------------------------------------------------------------------------ platform to device

  private async requireDevice(productId: string, deviceName: string): Promise<void> {
    if (!await this.options.registry.getDevice(productId, deviceName)) throw new ThingError("device-not-found", `device ${productId}/${deviceName} does not exist`);
  }

  /**
   * Sends `control` to the device and keeps its params pending until the device acknowledges it
   * (control_reply code 0) or sends clear_control; a device offline now finds them in its next
   * get_status_reply (`data.control`).
   */
  async control(productId: string, deviceName: string, params: Json, options: ControlOptions = {}): Promise<SentControl> {
    const { registry, now } = this.options;
    await this.requireDevice(productId, deviceName);
    if (!isObject(params)) throw new ThingError("invalid", "params must be an object");
    await this.template.control(productId, params);
    const online = await this.options.link.isOnline(productId, deviceName);
    if (options.requireOnline && !online) throw new ThingError("device-offline", `device ${productId}/${deviceName} is not connected`);
    const message: ControlMessage = { clientToken: `ctl-${randomUUID()}`, productId, deviceName, params, sentAt: now() };
    const body = JSON.stringify({ method: "control", clientToken: message.clientToken, params });
    if (!fitsDevice(body)) throw new ThingError("invalid", `the control message would exceed the ${MAX_DEVICE_MESSAGE_BYTES} bytes a device receives`);
    await registry.recordControl(message);
    await registry.addPendingControl(productId, deviceName, params, message.sentAt);
    if (online) {
      this.options.link.publishToDevice(`$thing/down/property/${productId}/${deviceName}`, body, 1).catch(() => undefined);
    }
    return { ...message, delivered: online };
  }

  /**
   * Calls an action and resolves with the device's action_reply (recorded with the call), or
   * rejects with ThingError "action-timeout" after `timeoutMs`.
   */
  async callAction(productId: string, deviceName: string, actionId: string, params: Json, timeoutMs = DEFAULT_ACTION_TIMEOUT_MS): Promise<AnsweredAction> {
    const { registry, now } = this.options;
    const closed = () => new ThingError("closed", "the platform is stopping");
    if (this.closed) return Promise.reject(closed());
    try {
      await this.requireDevice(productId, deviceName);
      if (typeof actionId !== "string" || !/^[A-Za-z0-9_]{1,64}$/.test(actionId)) throw new ThingError("invalid", "actionId must be 1-64 letters, digits or _");
      if (!isObject(params)) throw new ThingError("invalid", "params must be an object");
      await this.template.actionCall(productId, actionId, params);
      // The registry answers asynchronously: the platform may have begun stopping meanwhile.
      if (this.closed) throw closed();
      if (!await this.options.link.isOnline(productId, deviceName)) throw new ThingError("device-offline", `device ${productId}/${deviceName} is not connected`);
      if (this.pendingActions.size >= MAX_PENDING_ACTIONS) throw new ThingError("busy", `${MAX_PENDING_ACTIONS} action calls are already waiting`);
    } catch (error) {
      throw this.closed ? closed() : error;
    }
    const wait = Math.min(Math.max(1, Math.floor(timeoutMs)), MAX_ACTION_TIMEOUT_MS);
    const sentAt = now();
    const call = { clientToken: `act-${randomUUID()}`, productId, deviceName, actionId, params, sentAt };
    // timestamp in seconds: Tencent's C SDK refuses an action without one (data_template_action.c, _on_action_handle_callback).
    const body = JSON.stringify({ method: "action", clientToken: call.clientToken, actionId, timestamp: Math.floor(sentAt / 1000), params });
    if (!fitsDevice(body)) return Promise.reject(new ThingError("invalid", `the action call would exceed the ${MAX_DEVICE_MESSAGE_BYTES} bytes a device receives`));
    try {
      await registry.recordAction(call);
    } catch (error) {
      throw this.closed ? closed() : error;
    }
    if (this.closed) throw closed();
    const answered = new Promise<AnsweredAction>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingActions.delete(call.clientToken);
        reject(new ThingError("action-timeout", `no action_reply from ${productId}/${deviceName} within ${wait} ms`));
      }, wait);
      this.pendingActions.set(call.clientToken, { resolve, reject, timer });
    });
    this.options.link.publishToDevice(`$thing/down/action/${productId}/${deviceName}`, body, 1).catch(() => undefined);
    return answered;
  }

  /**
   * Publishes to one of the device's custom topics it may subscribe (`{pid}/{dn}/data`,
   * `{pid}/{dn}/control`), as the Cloud API's PublishMessage does; resolves with whether the device
   * was online (MQTT keeps nothing for a device that is not).
   */
  async publish(productId: string, deviceName: string, topic: string, payload: string | Buffer, qos: 0 | 1 = 0): Promise<{ delivered: boolean }> {
    await this.requireDevice(productId, deviceName);
    const rule = deviceTopics({ productId, deviceName }).get(topic);
    if (!topic.startsWith(`${productId}/${deviceName}/`) || !rule?.subscribe) {
      throw new ThingError("topic-not-allowed", `${topic.slice(0, 200)} is not a custom topic ${productId}/${deviceName} subscribes`);
    }
    if (qos !== 0 && qos !== 1) throw new ThingError("invalid", "qos must be 0 or 1");
    const delivered = await this.options.link.isOnline(productId, deviceName);
    await this.options.link.publishToDevice(topic, payload, qos);
    return { delivered };
  }

  async latestReported(productId: string, deviceName: string): Promise<Record<string, ReportedProperty>> {
    return await this.options.registry.latestReported(productId, deviceName);
  }

  async pendingControl(productId: string, deviceName: string): Promise<Json | undefined> {
    return await this.options.registry.pendingControl(productId, deviceName);
  }

  /** What the device last sent in report_info (firmware version, module info), if anything. */
  async deviceInfo(productId: string, deviceName: string): Promise<DeviceInfoReport | undefined> {
    return await this.options.registry.deviceInfo(productId, deviceName);
  }

  /** Rejects every waiting action call; later calls are refused. */
  close(): void {
    this.closed = true;
    for (const [token, pending] of this.pendingActions) {
      clearTimeout(pending.timer);
      pending.reject(new ThingError("closed", "the platform stopped before the action_reply"));
      this.pendingActions.delete(token);
    }
  }
}
