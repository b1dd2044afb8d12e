/**
 * One MQTT 3.1.1 client session over a ByteSocket: the protocol state that the codec
 * (serialize.ts, parse.ts) does not hold. CONNECT and its CONNACK, SUBSCRIBE and PUBLISH QoS 1
 * awaiting their acknowledgement, inbound QoS 1 acknowledged, keep-alive, clean close.
 *
 * Time is one cancellable timer per session, armed for the earliest deadline (CONNACK, the
 * oldest unacknowledged packet, the next PINGREQ or PINGRESP) and re-armed only when a deadline
 * comes earlier than the one it is armed for. A packet sent or received moves the keep-alive
 * deadline later without touching the timer: it fires, finds nothing due, and re-arms. So a
 * fleet of sessions costs a timer each, not one per packet.
 *
 * Failures follow the contract the core relies on: connect rejects with HalMqttError (CONNACK
 * refusal) or HalNetworkError (socket, timeout, MqttProtocolError); once open, the end of the
 * session is reported through handlers.onClose exactly once, with an error unless close() ended it.
 */
import { HalMqttError, HalNetworkError, type ByteSocket, type Bytes, type Clock, type SocketHandlers, type TimerHandle } from "../contracts";
import {
  CONNACK, MqttProtocolError, PACKET_NAMES, PINGRESP, PUBACK, PUBLISH, SUBACK, SUBACK_FAILURE, UNSUBACK,
  type InboundPacket, type PublishPacket,
} from "./packet";
import { PacketReader } from "./parse";
import { encodeDisconnect, encodePingreq, encodePuback, encodePublish, encodeSubscribe } from "./serialize";

export interface MqttHandlers {
  onMessage(topic: string, payload: Bytes): void;
  /** The session ended (drop, keep-alive timeout, or close()); `error` says why when not asked. */
  onClose(error?: Error): void;
}

export interface MqttSession {
  /** Resolves on SUBACK; rejects with HalMqttError (0x80) when the broker refuses. */
  subscribe(topic: string, qos: 0 | 1): Promise<void>;
  /** QoS 0 resolves once written; QoS 1 on PUBACK (HalNetworkError "timeout" when it does not come). */
  publish(topic: string, payload: Bytes, qos: 0 | 1): Promise<void>;
  /** Sends DISCONNECT and closes; pending acknowledgements reject. Idempotent. */
  close(): Promise<void>;
}

/** Bounds of one session; every field has a default. */
export interface SessionLimits {
  keepAliveSeconds: number;
  /** Largest packet accepted from the broker and largest sent (default 64 KiB). */
  maxPacketBytes: number;
  /** How long a SUBACK, PUBACK or PINGRESP may take (default 10 s). */
  ackTimeoutMs: number;
  /** Unacknowledged SUBSCRIBE and QoS 1 PUBLISH at once (default 16). */
  maxInFlight: number;
}

export const DEFAULT_MAX_PACKET_BYTES = 64 * 1024;
export const DEFAULT_ACK_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_IN_FLIGHT = 16;

interface PendingAck {
  /** SUBACK or PUBACK. */
  type: number;
  deadlineMs: number;
  resolve(): void;
  reject(error: Error): void;
}

const OPENING = 0;
const OPEN = 1;
const CLOSED = 2;

export class MqttClientSession implements MqttSession, SocketHandlers {
  private state = OPENING;
  /** Why the session ended, once it has. */
  private failure: Error | undefined;
  private socket: ByteSocket | undefined;
  private readonly reader: PacketReader;
  /** In insertion order, which is deadline order: every entry waits the same ackTimeoutMs. */
  private readonly pending = new Map<number, PendingAck>();
  private nextPacketId = 1;
  private connectDeadlineMs = 0;
  private settleConnect: { resolve(session: MqttSession): void; reject(error: Error): void } | undefined;
  private lastSentMs = 0;
  private lastReceivedMs = 0;
  /** When the outstanding PINGREQ's answer is due, or 0 when none is outstanding. */
  private pingDeadlineMs = 0;
  private readonly keepAliveMs: number;
  private readonly pingTimeoutMs: number;
  private timer: TimerHandle | undefined;
  private timerDueMs = Infinity;
  private readonly onTimer = () => this.timerFired();

  constructor(
    private readonly clock: Clock,
    private readonly limits: SessionLimits,
    private readonly handlers: MqttHandlers,
  ) {
    this.reader = new PacketReader(limits.maxPacketBytes);
    this.keepAliveMs = limits.keepAliveSeconds * 1000;
    // A PINGRESP is an acknowledgement like any other: it gets the same time.
    this.pingTimeoutMs = limits.ackTimeoutMs;
  }

  /** Sends CONNECT on a connected socket; resolves with the session on CONNACK 0. */
  start(socket: ByteSocket, connectPacket: Uint8Array, connectDeadlineMs: number): Promise<MqttSession> {
    return new Promise<MqttSession>((resolve, reject) => {
      if (this.state === CLOSED) {
        // The socket ended between its connect and this start.
        socket.close();
        reject(this.failure ?? new HalNetworkError("reset", "the broker closed the connection before CONNECT"));
        return;
      }
      this.socket = socket;
      this.settleConnect = { resolve, reject };
      this.connectDeadlineMs = connectDeadlineMs;
      if (this.send(connectPacket)) this.arm(this.lastSentMs);
    });
  }

  subscribe(topic: string, qos: 0 | 1): Promise<void> {
    return this.request(SUBACK, (packetId) => encodeSubscribe(packetId, topic, qos));
  }

  publish(topic: string, payload: Bytes, qos: 0 | 1): Promise<void> {
    if (payload.length > this.limits.maxPacketBytes) return Promise.reject(this.tooLarge(payload.length));
    if (qos === 1) return this.request(PUBACK, (packetId) => encodePublish(topic, payload, 1, packetId));
    if (this.state !== OPEN) return Promise.reject(this.notConnected());
    let packet: Uint8Array;
    try {
      packet = encodePublish(topic, payload, 0, 0);
    } catch (error) {
      return Promise.reject(error);
    }
    if (packet.length > this.limits.maxPacketBytes) return Promise.reject(this.tooLarge(packet.length));
    return this.send(packet) ? Promise.resolve() : Promise.reject(this.notConnected());
  }

  close(): Promise<void> {
    if (this.state === CLOSED) return Promise.resolve();
    const wasOpen = this.state === OPEN;
    this.state = CLOSED;
    this.failure = new HalNetworkError("reset", "the session was closed");
    this.stopTimer();
    this.rejectPending(this.failure);
    const socket = this.socket;
    if (socket) {
      try {
        socket.write(encodeDisconnect());
      } catch {
        // the link is already gone: nothing to say goodbye on
      }
      socket.close();
    }
    if (this.settleConnect) this.finishConnect(new HalNetworkError("reset", "the session was closed while connecting"));
    else if (wasOpen) this.handlers.onClose();
    return Promise.resolve();
  }

  // ---- SocketHandlers -----------------------------------------------------------------------

  onData(bytes: Bytes): void {
    if (this.state === CLOSED) return;
    this.lastReceivedMs = this.clock.monotonicMs();
    this.reader.feed(bytes);
    for (;;) {
      let packet: InboundPacket | undefined;
      try {
        packet = this.reader.next();
      } catch (error) {
        this.fail(error instanceof Error ? error : new MqttProtocolError("malformed", String(error)));
        return;
      }
      if (packet === undefined) return;
      this.onPacket(packet);
      if (this.state === CLOSED) return;
    }
  }

  onClose(error?: HalNetworkError): void {
    this.fail(error ?? new HalNetworkError("reset", "the broker closed the connection"));
  }

  // ---- packets ------------------------------------------------------------------------------

  private onPacket(packet: InboundPacket): void {
    if (this.state === OPENING) {
      if (packet.type !== CONNACK) {
        this.fail(new MqttProtocolError("unexpected", `expected CONNACK, the broker sent ${PACKET_NAMES[packet.type]}`));
        return;
      }
      if (packet.returnCode !== 0) {
        this.fail(new HalMqttError(packet.returnCode, `the broker refused the connection (CONNACK return code ${packet.returnCode})`));
        return;
      }
      this.state = OPEN;
      this.finishConnect();
      this.arm(this.clock.monotonicMs());
      return;
    }
    switch (packet.type) {
      case PUBLISH:
        this.onPublish(packet);
        return;
      case PUBACK:
        this.settle(packet.packetId, PUBACK);
        return;
      case SUBACK: {
        if (packet.returnCodes.length !== 1) {
          this.fail(new MqttProtocolError("unexpected", `SUBACK with ${packet.returnCodes.length} return codes for a SUBSCRIBE of one topic filter`));
          return;
        }
        const refused = packet.returnCodes[0] === SUBACK_FAILURE;
        this.settle(packet.packetId, SUBACK, refused ? new HalMqttError(SUBACK_FAILURE, "the broker refused the subscription (SUBACK 0x80)") : undefined);
        return;
      }
      case PINGRESP:
        this.pingDeadlineMs = 0;
        return;
      case UNSUBACK:
        return; // this client never unsubscribes; a stray UNSUBACK does no harm
      default:
        this.fail(new MqttProtocolError("unexpected", `the broker sent ${PACKET_NAMES[packet.type]}, which this session never asked for`));
    }
  }

  private onPublish(packet: PublishPacket): void {
    if (packet.qos === 2) {
      this.fail(new MqttProtocolError("unexpected", "the broker sent a QoS 2 PUBLISH; this client subscribes at QoS 0 or 1"));
      return;
    }
    try {
      this.handlers.onMessage(packet.topic, packet.payload);
    } catch (error) {
      // A throwing handler is a bug in the caller: end the session and say so, rather than let
      // the exception escape into the port's event loop.
      this.fail(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (packet.qos === 1 && this.state === OPEN) this.send(encodePuback(packet.packetId));
  }

  /** Sends a packet the broker acknowledges under a fresh packet identifier. */
  private request(ackType: number, build: (packetId: number) => Uint8Array): Promise<void> {
    if (this.state !== OPEN) return Promise.reject(this.notConnected());
    if (this.pending.size >= this.limits.maxInFlight) {
      return Promise.reject(new HalNetworkError("other", `${this.limits.maxInFlight} MQTT packets already await their acknowledgement`));
    }
    const packetId = this.allocatePacketId();
    let packet: Uint8Array;
    try {
      packet = build(packetId);
    } catch (error) {
      return Promise.reject(error); // an invalid topic: nothing was registered or sent
    }
    if (packet.length > this.limits.maxPacketBytes) return Promise.reject(this.tooLarge(packet.length));
    return new Promise<void>((resolve, reject) => {
      if (!this.send(packet)) {
        reject(this.notConnected());
        return;
      }
      const deadlineMs = this.lastSentMs + this.limits.ackTimeoutMs;
      this.pending.set(packetId, { type: ackType, deadlineMs, resolve, reject });
      this.arm(this.lastSentMs);
    });
  }

  private allocatePacketId(): number {
    // maxInFlight < 65535, so a free identifier exists.
    for (;;) {
      const id = this.nextPacketId;
      this.nextPacketId = id === 0xffff ? 1 : id + 1;
      if (!this.pending.has(id)) return id;
    }
  }

  private settle(packetId: number, ackType: number, error?: Error): void {
    const entry = this.pending.get(packetId);
    if (entry === undefined || entry.type !== ackType) return; // late (timed out) or stray
    this.pending.delete(packetId);
    if (error) entry.reject(error);
    else entry.resolve();
  }

  /** Writes one packet; false when the socket is gone (the session is then failed). */
  private send(packet: Uint8Array): boolean {
    const socket = this.socket;
    if (socket === undefined || this.state === CLOSED) return false;
    try {
      socket.write(packet);
    } catch (error) {
      this.fail(error instanceof HalNetworkError ? error : new HalNetworkError("reset", `writing to the broker failed: ${String(error)}`));
      return false;
    }
    this.lastSentMs = this.clock.monotonicMs();
    return true;
  }

  /** The error for a call on a session that is not open: why it ended, when it has. */
  private notConnected(): Error {
    return this.failure ?? new HalNetworkError("reset", "the MQTT session is not connected");
  }

  private tooLarge(bytes: number): HalNetworkError {
    return new HalNetworkError("too-large", `an MQTT packet of ${bytes} bytes exceeds this session's limit of ${this.limits.maxPacketBytes}`);
  }

  // ---- time ---------------------------------------------------------------------------------

  /** The earliest moment something is due, or Infinity. */
  private nextDeadline(): number {
    if (this.state === OPENING) return this.connectDeadlineMs;
    if (this.state === CLOSED) return Infinity;
    let due = Infinity;
    if (this.pingDeadlineMs > 0) due = this.pingDeadlineMs;
    else if (this.keepAliveMs > 0) due = Math.min(this.lastSentMs, this.lastReceivedMs) + this.keepAliveMs;
    for (const entry of this.pending.values()) {
      if (entry.deadlineMs < due) due = entry.deadlineMs;
      break; // the first entry is the oldest, so the earliest
    }
    return due;
  }

  private arm(nowMs: number): void {
    const due = this.nextDeadline();
    if (due >= this.timerDueMs) return; // an earlier (or equal) firing is already set
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timerDueMs = due;
    this.timer = this.clock.setTimer(Math.max(0, Math.ceil(due - nowMs)), this.onTimer);
  }

  private stopTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.timerDueMs = Infinity;
  }

  private timerFired(): void {
    this.timer = undefined;
    this.timerDueMs = Infinity;
    if (this.state === CLOSED) return;
    const now = this.clock.monotonicMs();
    if (this.state === OPENING) {
      if (now >= this.connectDeadlineMs) {
        this.fail(new HalNetworkError("timeout", "no CONNACK from the broker in time"));
        return;
      }
    } else {
      for (const [packetId, entry] of this.pending) {
        if (entry.deadlineMs > now) break;
        this.pending.delete(packetId);
        entry.reject(new HalNetworkError("timeout", `no ${entry.type === SUBACK ? "SUBACK" : "PUBACK"} within ${this.limits.ackTimeoutMs} ms`));
      }
      if (this.state === CLOSED) return; // a rejection handler closed the session
      if (this.pingDeadlineMs > 0) {
        if (now >= this.pingDeadlineMs) {
          this.fail(new HalNetworkError("timeout", `no PINGRESP within ${this.pingTimeoutMs} ms: the broker is not answering`));
          return;
        }
      } else if (this.keepAliveMs > 0 && now - Math.min(this.lastSentMs, this.lastReceivedMs) >= this.keepAliveMs) {
        if (!this.send(encodePingreq())) return;
        this.pingDeadlineMs = this.lastSentMs + this.pingTimeoutMs;
      }
    }
    this.arm(now);
  }

  // ---- the end ------------------------------------------------------------------------------

  /** Ends the session because of `error`: rejects connect or reports onClose, exactly once. */
  private fail(error: Error): void {
    if (this.state === CLOSED) return;
    const wasOpen = this.state === OPEN;
    this.state = CLOSED;
    this.failure = error;
    this.stopTimer();
    this.rejectPending(error);
    this.socket?.close();
    if (this.settleConnect) this.finishConnect(error);
    else if (wasOpen) this.handlers.onClose(error);
  }

  private finishConnect(error?: Error): void {
    const settle = this.settleConnect;
    this.settleConnect = undefined;
    if (settle === undefined) return;
    if (error) settle.reject(error);
    else settle.resolve(this);
  }

  private rejectPending(error: Error): void {
    if (this.pending.size === 0) return;
    const entries = [...this.pending.values()];
    this.pending.clear();
    for (const entry of entries) entry.reject(error);
  }
}
