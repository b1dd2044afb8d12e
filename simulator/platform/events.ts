/**
 * What a person watching the platform sees happen: registrations, logins, reports, control
 * replies and refusals (with their reason), management calls, and the number of devices online
 * over time. Fed by the platform's log events (which never carry a secret) and by device
 * publishes; read by the web console's event stream and by the Cloud API (last login times).
 *
 * Bounded: a ring of recent events, batches to subscribers at most every FLUSH_MS with at most
 * BATCH_EVENTS each (a 10,000-device fleet must not flood a browser), one online sample a second.
 */
import { parseThingTopic } from "./mqtt-auth";
import { MAX_TEMPLATE_MESSAGE_BYTES } from "./thing";

export type ConsoleEventKind =
  | "register" | "login" | "logout" | "report" | "control" | "control_reply" | "action" | "action_reply" | "refusal" | "management";

export interface ConsoleEvent {
  id: number;
  time: number;                 // platform clock, ms
  kind: ConsoleEventKind;
  ok: boolean;                  // false: a refusal or failure, with `reason`
  productId?: string;
  deviceName?: string;
  /** ProductId+DeviceName when only the MQTT client id is known. */
  clientId?: string;
  reason?: string;
  /** Short, secret-free detail: reported values, control params, the action called. */
  detail?: string;
  /** The control message a control or control_reply event is about. */
  clientToken?: string;
}

export interface ConsoleBatch {
  events: ConsoleEvent[];
  /** Events that happened since the last batch but were left out to keep it small. */
  skipped: number;
  online: number;
  time: number;
}

export interface OnlineSample {
  time: number;
  online: number;
}

export interface PlatformEventsOptions {
  now: () => number;
  onlineCount: () => number;
  /** Resolves an MQTT client id to its device (for events that only carry the client id). */
  identify?: (clientId: string) => { productId: string; deviceName: string } | undefined;
  /** The reply a device recorded for a control message. */
  controlReply?: (clientToken: string) => { code: number; status: string } | undefined;
}

const HISTORY = 200;
const BATCH_EVENTS = 60;
const FLUSH_MS = 300;
const SAMPLE_MS = 1000;
const SAMPLES = 3600;
const DETAIL_CHARS = 160;
const MAX_SUBSCRIBERS = 16;

type Listener = (batch: ConsoleBatch) => void;

function clip(text: string): string {
  return text.length > DETAIL_CHARS ? text.slice(0, DETAIL_CHARS - 1) + "…" : text;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" ? value.slice(0, 128) : undefined;
}

export class PlatformEvents {
  private nextId = 1;
  private readonly history: ConsoleEvent[] = [];
  private pending: ConsoleEvent[] = [];
  private pendingSkipped = 0;
  private readonly listeners = new Set<Listener>();
  private readonly samples: OnlineSample[] = [];
  private readonly lastLogins = new Map<string, number>();
  private readonly lastSeens = new Map<string, number>();
  private readonly timers: Array<ReturnType<typeof setInterval>> = [];

  constructor(private readonly options: PlatformEventsOptions) {
    this.sample();
    this.timers.push(setInterval(() => this.sample(), SAMPLE_MS).unref());
    this.timers.push(setInterval(() => this.flush(), FLUSH_MS).unref());
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.listeners.clear();
  }

  /** Turns one platform log event into a console event (unknown kinds are not shown). */
  fromLog(event: Record<string, unknown>): void {
    const now = this.options.now();
    const clientId = text(event.clientId);
    switch (event.event) {
      case "register": {
        const ok = event.outcome === "ok";
        this.record({ kind: "register", ok, productId: text(event.productId), deviceName: text(event.deviceName),
          reason: ok ? undefined : text(event.outcome),
          detail: ok ? (event.state === 0 ? "secret issued" : "secret issued before, sent again")
            : event.outcome === "aborted" ? `the client left before its request was complete${typeof event.suppressed === "number" ? ` (${event.suppressed} more not shown)` : ""}` : undefined });
        return;
      }
      case "connect": {
        const ok = event.outcome === "accepted";
        if (ok && clientId) {
          this.lastLogins.set(clientId, now);
          this.lastSeens.set(clientId, now);
        }
        this.record({ kind: "login", ok, clientId, reason: ok ? undefined : clip(`${String(event.reason ?? event.outcome)}${event.returnCode !== undefined ? ` (CONNACK ${String(event.returnCode)})` : ""}`),
          detail: ok ? `${String(event.transport ?? "")}${event.activated ? ", first login: activated" : ""}` : undefined });
        return;
      }
      case "disconnect":
        if (clientId) this.lastSeens.set(clientId, now);
        this.record({ kind: "logout", ok: true, clientId });
        return;
      case "thing": {
        // The data plane's log line per data-template message (thing.ts).
        const method = text(event.method);
        const ok = event.outcome === "ok" || event.outcome === "recorded";
        if (method === "control_reply") this.controlReplyEvent(clientId, text(event.clientToken), event.outcome);
        else if (method === "action_reply") this.record({ kind: "action_reply", ok, clientId, clientToken: text(event.clientToken), reason: ok ? undefined : text(event.outcome) });
        else if (!ok) this.record({ kind: "refusal", ok: false, clientId, reason: clip(`${method ?? String(event.kind ?? "message")}: ${String(event.outcome)}`) });
        return;
      }
      case "acl":
        this.record({ kind: "refusal", ok: false, clientId, reason: clip(`${String(event.action)} to ${String(event.topic)} denied`) });
        return;
      default:
    }
  }

  /** A device published: it was seen now; a property report is shown with its values. */
  onDevicePublish(clientId: string, topic: string, payload: Buffer): void {
    this.lastSeens.set(clientId, this.options.now());
    const thing = parseThingTopic(topic);
    if (thing?.direction !== "up" || thing.kind !== "property" || payload.length > MAX_TEMPLATE_MESSAGE_BYTES) return;
    // Parsed only when someone watches: a fleet run reports thousands of times a second.
    if (this.pending.length >= BATCH_EVENTS) {
      this.pendingSkipped++;
      return;
    }
    let message: { method?: unknown; params?: unknown };
    try {
      message = JSON.parse(payload.toString("utf8")) as typeof message;
    } catch {
      return;
    }
    if (message?.method !== "report") return;
    this.record({ kind: "report", ok: true, productId: thing.productId, deviceName: thing.deviceName, detail: clip(JSON.stringify(message.params ?? {})) });
  }

  private controlReplyEvent(clientId: string | undefined, clientToken: string | undefined, outcome: unknown): void {
    const recorded = outcome === "recorded";
    const reply = recorded && clientToken ? this.options.controlReply?.(clientToken) : undefined;
    this.record({ kind: "control_reply", ok: recorded, clientId, clientToken, reason: recorded ? undefined : text(outcome),
      detail: reply ? clip(`code ${reply.code}${reply.status ? `, ${reply.status}` : ""}`) : undefined });
  }

  record(event: Omit<ConsoleEvent, "id" | "time">): ConsoleEvent {
    // Absent fields are left out as the event is built: deleting them afterwards would turn every
    // event into a slow dictionary-mode object, thousands of times a second in a connect storm.
    const full = { id: this.nextId++, time: this.options.now() } as ConsoleEvent;
    for (const key in event) {
      const value = event[key as keyof typeof event];
      if (value !== undefined) (full as unknown as Record<string, unknown>)[key] = value;
    }
    // Trimmed in chunks, not per event: a connect storm records thousands of events a second.
    this.history.push(full);
    if (this.history.length >= 2 * HISTORY) this.history.splice(0, this.history.length - HISTORY);
    this.pending.push(full);
    if (this.pending.length >= 4 * BATCH_EVENTS) {
      this.pendingSkipped += this.pending.length - BATCH_EVENTS;
      this.pending.splice(0, this.pending.length - BATCH_EVENTS);
    }
    return full;
  }

  /** Recent events, oldest first, with device names resolved. */
  recent(): ConsoleEvent[] {
    return this.history.slice(-HISTORY).map((event) => this.resolve(event));
  }

  samplesSince(time = 0): OnlineSample[] {
    return this.samples.filter((sample) => sample.time >= time);
  }

  lastLogin(productId: string, deviceName: string): number | undefined {
    return this.lastLogins.get(productId + deviceName);
  }

  lastSeen(productId: string, deviceName: string): number | undefined {
    return this.lastSeens.get(productId + deviceName);
  }

  get subscriberCount(): number {
    return this.listeners.size;
  }

  /** Batches from now on; undefined when too many are watching already. */
  subscribe(listener: Listener): (() => void) | undefined {
    if (this.listeners.size >= MAX_SUBSCRIBERS) return undefined;
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  private resolve(event: ConsoleEvent): ConsoleEvent {
    if (event.productId !== undefined || event.clientId === undefined || !this.options.identify) return event;
    const device = this.options.identify(event.clientId);
    if (device) {
      event.productId = device.productId;
      event.deviceName = device.deviceName;
    }
    return event;
  }

  private sample(): void {
    this.samples.push({ time: this.options.now(), online: this.options.onlineCount() });
    if (this.samples.length > SAMPLES) this.samples.splice(0, this.samples.length - SAMPLES);
  }

  /** Sends what happened since the last flush; with nobody watching it is only dropped. */
  flush(): void {
    const events = this.pending.slice(-BATCH_EVENTS);
    const skipped = this.pendingSkipped + (this.pending.length - events.length);
    this.pending = [];
    this.pendingSkipped = 0;
    if (this.listeners.size === 0) return;
    const batch: ConsoleBatch = {
      events: events.map((event) => this.resolve(event)),
      skipped, online: this.options.onlineCount(), time: this.options.now(),
    };
    for (const listener of this.listeners) listener(batch);
  }
}
