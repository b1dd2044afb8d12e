/**
 * The device's data-template session (docs/PROTOCOL.md §8, §9): requests answered by clientToken
 * (report, get_status, clear_control, report_info, event_post), actions answered with
 * action_reply, and the platform's time on `$sys/operation`.
 *
 * At the first online of each boot it does what the C SDK's data_template_sample does after
 * IOT_Template_Construct: report_info once, get_status, any pending control applied through
 * onControl and then cleared (clear_control), and, after login, the platform's time checked
 * against the device clock.
 *
 * Engine-neutral: it sees the broker only through MqttSession and time only through the Clock.
 */
import { HalMqttError, type Clock, type Logger } from "./contracts";
import { SUBACK_FAILURE } from "./mqtt/packet";
import type { MqttSession } from "./mqtt/session";
import {
  encodeActionReply, encodeClearControl, encodeEventPost, encodeGetStatus, encodeReport, encodeReportInfo, encodeTimeRequest,
  parseTimeResult, type DownMessage, type EventType,
} from "./data-template";
import { ExplorerError } from "./errors";
import { thingTopics, type ThingTopics } from "./topics";

/** Differences between the device clock and the platform's beyond this are corrected. */
export const CLOCK_TOLERANCE_MS = 2_000;

/** An action's result: the `response` object of action_reply. Throw to answer with code 1. */
export type ActionHandler = (actionId: string, params: Record<string, unknown>) => Record<string, unknown> | void | Promise<Record<string, unknown> | void>;

export interface TemplateSessionOptions {
  productId: string;
  deviceName: string;
  clock: Clock;
  log: Logger;
  replyTimeoutMs: number;
  /** A fresh clientToken per request. */
  nextToken: () => string;
  onAction?: ActionHandler;
}

export interface DeviceStatus {
  reported?: Record<string, unknown>;
  control?: Record<string, unknown>;
}

export interface ClockCheck {
  /** Platform time minus device time at the answer, half the round trip allowed for. */
  skewMs: number;
  corrected: boolean;
}

export type TopicsWithSys = ThingTopics & { sysOperation: string; sysResult: string };

/** What an optional down topic serves: refused by the broker, only that feature is lost. */
export type OptionalFeature = "events" | "actions" | "time";

/** Why each optional feature is lost when its topic is refused (the warning a person reads). */
const LOST_WITHOUT: Readonly<Record<OptionalFeature, string>> = {
  events: "no event_reply can arrive: postEvent fails at once until a later login subscribes it",
  actions: "actions from the platform cannot reach the device",
  time: "the platform's time cannot arrive: the clock is not checked against it",
};

/** The replies a request accepts: a report's report_reply is not another request's answer, nor the reverse. */
const REPORT_REPLY: ReadonlyArray<DownMessage["kind"]> = ["report_reply"];
const TEMPLATE_REPLY: ReadonlyArray<DownMessage["kind"]> = ["reply", "get_status_reply"];

/**
 * A request waiting for its reply. The promise's own resolve and reject and the timer are kept
 * as they are, not wrapped in closures: every request of the first-online sync is in flight at
 * once, and on the ESP32 each closure and promise is heap the device needs at that moment.
 */
interface Waiter {
  kinds: ReadonlyArray<DownMessage["kind"]>;
  resolve(message: DownMessage): void;
  reject(error: Error): void;
  timer: unknown;
}

export class TemplateSession {
  readonly topics: TopicsWithSys;
  private session: MqttSession | undefined;
  private readonly waiting = new Map<string, Waiter>();
  private timeWaiter: { resolve(payload: Uint8Array): void; reject(error: Error): void } | undefined;
  /** Optional topics the broker refused at this login, by the feature they serve. */
  private readonly refused = new Map<OptionalFeature, string>();

  constructor(private readonly options: TemplateSessionOptions) {
    const { productId, deviceName } = options;
    this.topics = {
      ...thingTopics(productId, deviceName),
      sysOperation: `$sys/operation/${productId}/${deviceName}`,
      sysResult: `$sys/operation/result/${productId}/${deviceName}`,
    };
  }

  /** A new MQTT session: requests go out on it from now on. */
  attach(session: MqttSession): void {
    this.session = session;
  }

  /** The session is gone: every request waiting on it fails with `error`. */
  detach(error: Error): void {
    this.session = undefined;
    for (const waiter of this.waiting.values()) this.settle(waiter, undefined, error);
    this.waiting.clear();
    this.timeWaiter?.reject(error);
    this.timeWaiter = undefined;
  }

  /**
   * Subscribes the down topics the session needs besides the property topic (which the boot
   * task subscribes first): events, actions and the time result. Resolves on every SUBACK. These
   * are optional: one the broker refuses (SUBACK 0x80, a product whose topic permissions lack
   * it) loses only its feature, with a warning, and the device stays online.
   */
  async subscribeExtras(session: MqttSession): Promise<void> {
    this.refused.clear();
    const optional: Array<[OptionalFeature, string, 0 | 1]> = [
      ["events", this.topics.eventDown, 1],
      ["actions", this.topics.actionDown, 1],
      ["time", this.topics.sysResult, 0],
    ];
    await Promise.all(optional.map(([feature, topic, qos]) => session.subscribe(topic, qos).catch((error: unknown) => {
      if (!(error instanceof HalMqttError) || error.returnCode !== SUBACK_FAILURE) throw error;
      this.refused.set(feature, topic);
      this.options.log.log("warn", "mqtt.subscribe.refused", { topic, feature, effect: LOST_WITHOUT[feature] });
    })));
  }

  /** The optional features the broker refused at this login (empty when all were granted). */
  degraded(): OptionalFeature[] {
    return [...this.refused.keys()];
  }

  /** Fails at once when `feature`'s topic was refused: its answer could never arrive. */
  private requireFeature(feature: OptionalFeature): void {
    const topic = this.refused.get(feature);
    if (topic !== undefined) {
      throw new ExplorerError("mqtt-subscribe-refused", `the broker refused the subscription to ${topic} (SUBACK 0x80) at this login: ${LOST_WITHOUT[feature]}`);
    }
  }

  /** Routes a down message this module answers; false when it is not one of them. */
  handle(topic: string, message: DownMessage | undefined, payload: Uint8Array): boolean {
    if (topic === this.topics.sysResult) {
      const waiter = this.timeWaiter;
      this.timeWaiter = undefined;
      waiter?.resolve(payload);
      return true;
    }
    if (!message) return false;
    if (message.kind === "report_reply" || message.kind === "reply" || message.kind === "get_status_reply") {
      const waiter = this.waiting.get(message.clientToken);
      if (!waiter || !waiter.kinds.includes(message.kind)) return true;
      this.waiting.delete(message.clientToken);
      this.settle(waiter, message);
      return true;
    }
    if (message.kind === "action") {
      void this.answerAction(message.clientToken, message.actionId, message.params);
      return true;
    }
    return false;
  }

  private requireSession(): MqttSession {
    if (!this.session) throw new ExplorerError("network", "the device is not online");
    return this.session;
  }

  /**
   * Publishes a request and resolves with the reply carrying its clientToken; ExplorerError on
   * timeout ("no <awaited> within ...") or a lost session.
   */
  private request(topic: string, clientToken: string, payload: Uint8Array, awaited: string, kinds = TEMPLATE_REPLY): Promise<DownMessage> {
    let session: MqttSession;
    try {
      session = this.requireSession();
    } catch (error) {
      return Promise.reject(error);
    }
    const timeoutMs = this.options.replyTimeoutMs;
    return new Promise<DownMessage>((resolve, reject) => {
      // The clock's cancellable timer, cleared with the reply: no timer outlives its request.
      const timer = this.options.clock.setTimer(timeoutMs, () => {
        if (this.waiting.delete(clientToken)) reject(new ExplorerError("timeout", `no ${awaited} within ${timeoutMs} ms`));
      });
      this.waiting.set(clientToken, { kinds, resolve, reject, timer });
      session.publish(topic, payload, 0).catch((error: unknown) => {
        const waiter = this.waiting.get(clientToken);
        this.waiting.delete(clientToken);
        if (waiter) this.settle(waiter, undefined, error as Error);
      });
    });
  }

  /** Ends a request: its timer stops, then its promise settles with the reply or the error. */
  private settle(waiter: Waiter, message: DownMessage | undefined, error?: Error): void {
    this.options.clock.clearTimer(waiter.timer);
    if (message) waiter.resolve(message);
    else waiter.reject(error!);
  }

  private static checkCode(message: DownMessage, what: string): void {
    if ((message.kind === "reply" || message.kind === "get_status_reply") && message.code !== 0) {
      throw new ExplorerError("request-rejected", `${what} refused with code ${message.code}${message.status ? ` (${message.status})` : ""}`);
    }
  }

  /** A property report; resolves on its report_reply (code 0). */
  async report(params: Record<string, unknown>): Promise<void> {
    const token = this.options.nextToken();
    const payload = encodeReport(token, Math.floor(this.options.clock.nowMs() / 1000), params);
    const reply = await this.request(this.topics.propertyUp, token, payload, "report_reply", REPORT_REPLY);
    if (reply.kind === "report_reply" && reply.code !== 0) {
      throw new ExplorerError("server-error", `report refused with code ${reply.code} (${reply.status})`);
    }
  }

  /** get_status: the latest reported values and the control not yet cleared. */
  async getStatus(): Promise<DeviceStatus> {
    const token = this.options.nextToken();
    const reply = await this.request(this.topics.propertyUp, token, encodeGetStatus(token), "reply to get_status");
    TemplateSession.checkCode(reply, "get_status");
    if (reply.kind !== "get_status_reply") throw new ExplorerError("malformed-response", `get_status was answered by ${reply.kind === "reply" ? reply.method : reply.kind}`);
    return { ...(reply.reported ? { reported: reply.reported } : {}), ...(reply.control ? { control: reply.control } : {}) };
  }

  /** clear_control: the pending control has been applied. */
  async clearControl(): Promise<void> {
    const token = this.options.nextToken();
    TemplateSession.checkCode(await this.request(this.topics.propertyUp, token, encodeClearControl(token), "reply to clear_control"), "clear_control");
  }

  /** report_info: firmware version, module and other device information. */
  async reportInfo(params: Record<string, unknown>): Promise<void> {
    const token = this.options.nextToken();
    TemplateSession.checkCode(await this.request(this.topics.propertyUp, token, encodeReportInfo(token, params), "reply to report_info"), "report_info");
  }

  /**
   * event_post; resolves on event_reply code 0. The timestamp is the device's time in ms when its
   * clock is synchronized, else 0 (the platform then uses its own).
   */
  async postEvent(eventId: string, params: Record<string, unknown>, type: EventType = "info"): Promise<void> {
    if (typeof eventId !== "string" || !/^[A-Za-z0-9_]{1,64}$/.test(eventId)) {
      throw new ExplorerError("request-rejected", "eventId must be 1-64 letters, digits or _");
    }
    this.requireFeature("events");
    const token = this.options.nextToken();
    const clock = this.options.clock;
    const timestamp = clock.isSynchronized() ? Math.floor(clock.nowMs()) : 0;
    const reply = await this.request(this.topics.eventUp, token, encodeEventPost(token, eventId, type, timestamp, params), `reply to event ${eventId}`);
    TemplateSession.checkCode(reply, `event ${eventId}`);
  }

  /**
   * Asks `$sys/operation` for the platform's time and compares it with the device clock, as
   * Tencent documents: platform time at the answer = (ntptime1 + ntptime2 + round trip) / 2.
   * Corrects the clock when it is off by more than CLOCK_TOLERANCE_MS.
   */
  async checkClock(): Promise<ClockCheck> {
    const session = this.requireSession();
    this.requireFeature("time");
    const { clock, log } = this.options;
    if (this.timeWaiter) throw new ExplorerError("request-rejected", "a time request is already waiting");
    const timeoutMs = this.options.replyTimeoutMs;
    const answered = new Promise<Uint8Array>((resolve, reject) => {
      const waiter = {
        resolve: (payload: Uint8Array) => { clock.clearTimer(timer); resolve(payload); },
        reject: (error: Error) => { clock.clearTimer(timer); reject(error); },
      };
      const timer = clock.setTimer(timeoutMs, () => {
        if (this.timeWaiter !== waiter) return;
        this.timeWaiter = undefined;
        reject(new ExplorerError("timeout", `no platform time within ${timeoutMs} ms`));
      });
      this.timeWaiter = waiter;
    });
    answered.catch(() => undefined); // a failed publish answers with its own error below
    const sentMono = clock.monotonicMs();
    await session.publish(this.topics.sysOperation, encodeTimeRequest(), 0);
    const payload = await answered;
    const roundTripMs = clock.monotonicMs() - sentMono;
    const result = parseTimeResult(payload);
    if ("invalid" in result) throw new ExplorerError("malformed-response", `platform time answer: ${result.invalid}`);
    const platformNowMs = (result.ntptime1 + result.ntptime2 + roundTripMs) / 2;
    const skewMs = Math.round(platformNowMs - clock.nowMs());
    const corrected = !clock.isSynchronized() || Math.abs(skewMs) > CLOCK_TOLERANCE_MS;
    if (corrected) {
      clock.correct(platformNowMs);
      log.log("warn", "clock.corrected", { source: "$sys/operation", skewMs });
    } else {
      log.log("info", "clock.checked", { skewMs });
    }
    return { skewMs, corrected };
  }

  /** Runs the handler and sends action_reply for it: code 0 with its response, 1 when it throws or is missing. */
  private async answerAction(clientToken: string, actionId: string, params: Record<string, unknown>): Promise<void> {
    let code = 0;
    let status = "success";
    let response: Record<string, unknown> = {};
    try {
      if (!this.options.onAction) throw new Error(`no handler for action ${actionId}`);
      response = (await this.options.onAction(actionId, params)) ?? {};
    } catch (error) {
      code = 1;
      status = error instanceof Error ? error.message : "action failed";
    }
    this.options.log.log("info", "action.answered", { clientToken, actionId, code });
    const session = this.session;
    await session?.publish(this.topics.actionUp, encodeActionReply(clientToken, code, status, response), 0).catch(() => undefined);
  }
}
