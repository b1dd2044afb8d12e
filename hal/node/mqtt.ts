/**
 * The Node MQTT transport: a small MQTT 3.1.1 client session over node:net or node:tls.
 *
 * The fleet runner opens thousands of sessions in one process, so this is deliberately not
 * MQTT.js: one socket, one mqtt-packet parser, one keep-alive timer and a map of in-flight
 * acknowledgements per session, and nothing else. mqtt-packet owns the wire format.
 *
 * Failures follow the HAL contract: connect() rejects with HalMqttError (CONNACK refusal) or
 * HalNetworkError (socket, TLS, timeout, malformed or oversized packet); once connected, a
 * drop is reported through handlers.onClose(error) exactly once.
 */
import net from "node:net";
import tls from "node:tls";
import mqttPacket from "mqtt-packet";
import type { IPublishPacket, Packet } from "mqtt-packet";
import {
  HalMqttError,
  HalNetworkError,
  type Bytes,
  type MqttConnectOptions,
  type MqttHandlers,
  type MqttSession,
  type MqttTransport,
} from "../types";
import { networkErrorCode } from "./http";

export interface NodeMqttTransportOptions {
  /** Trusted CA certificate(s) in PEM for mqtts:// (replaces Node's bundled roots, as node:tls does). */
  ca?: string | Buffer;
  /** Verify the broker's certificate (default true). */
  rejectUnauthorized?: boolean;
  /** Largest packet accepted from the broker, and largest PUBLISH sent (default 64 KiB). */
  maxPacketBytes?: number;
  /** How long a SUBACK or a QoS 1 PUBACK may take (default 10 s). */
  ackTimeoutMs?: number;
}

export const DEFAULT_MAX_PACKET_BYTES = 64 * 1024;
export const DEFAULT_ACK_TIMEOUT_MS = 10_000;
/** How long close() waits for the broker to close its side after DISCONNECT. */
const CLOSE_GRACE_MS = 1_000;

function networkError(error: unknown, context: string): HalNetworkError {
  if (error instanceof HalNetworkError) return error;
  const cause = error as NodeJS.ErrnoException;
  return new HalNetworkError(networkErrorCode(cause), `${context}: ${cause?.message ?? String(error)}`);
}

interface BrokerAddress {
  secure: boolean;
  host: string;
  port: number;
}

function parseBrokerUrl(url: string): BrokerAddress {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new HalNetworkError("other", `invalid MQTT broker URL: ${JSON.stringify(url)}`);
  }
  const secure = parsed.protocol === "mqtts:";
  if (!secure && parsed.protocol !== "mqtt:") {
    throw new HalNetworkError("other", `unsupported MQTT URL scheme ${parsed.protocol} (use mqtt:// or mqtts://)`);
  }
  // URL keeps the brackets of an IPv6 literal; net.connect wants it bare.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  if (!host) throw new HalNetworkError("other", `MQTT broker URL has no host: ${JSON.stringify(url)}`);
  const port = parsed.port ? Number(parsed.port) : secure ? 8883 : 1883;
  return { secure, host, port };
}

/** An acknowledgement the session waits for (SUBACK or PUBACK), keyed by message id. */
interface PendingAck {
  kind: "suback" | "puback";
  resolve(): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

type SocketLike = net.Socket | tls.TLSSocket;

/**
 * One session, from socket open to close. connect() returns a promise for the CONNACK; after
 * that the object serves as the MqttSession.
 */
class NodeMqttSession implements MqttSession {
  private readonly socket: SocketLike;
  private readonly parser = mqttPacket.parser({ protocolVersion: 4 });
  private readonly pending = new Map<number, PendingAck>();
  private nextMessageId = 1;
  private connected = false;
  private closed = false;
  private awaitingPingResponse = false;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private settleConnect: ((error?: Error) => void) | undefined;
  private closeWaiter: (() => void) | undefined;

  constructor(
    address: BrokerAddress,
    private readonly options: MqttConnectOptions,
    private readonly handlers: MqttHandlers,
    private readonly transportOptions: Required<Pick<NodeMqttTransportOptions, "maxPacketBytes" | "ackTimeoutMs">> &
      Pick<NodeMqttTransportOptions, "ca" | "rejectUnauthorized">,
  ) {
    if (address.secure) {
      this.socket = tls.connect({
        host: address.host,
        port: address.port,
        servername: net.isIP(address.host) ? undefined : address.host,
        ca: transportOptions.ca,
        rejectUnauthorized: transportOptions.rejectUnauthorized ?? true,
        cert: options.clientCertificate?.certPem,
        key: options.clientCertificate?.keyPem,
      });
      this.socket.once("secureConnect", () => this.sendConnect());
    } else {
      this.socket = net.connect({ host: address.host, port: address.port });
      this.socket.once("connect", () => this.sendConnect());
    }
    this.socket.setNoDelay(true);
    this.socket.on("data", (chunk: Buffer) => this.onData(chunk));
    this.socket.on("error", (error) => this.fail(networkError(error, "MQTT socket error")));
    this.socket.on("close", () => {
      this.closeWaiter?.();
      this.fail(new HalNetworkError("reset", "the broker closed the connection"));
    });
    this.parser.on("packet", (packet: Packet) => this.onPacket(packet));
    this.parser.on("error", (error: Error) => {
      this.fail(new HalNetworkError("other", `malformed MQTT packet from the broker: ${error.message}`));
    });
  }

  /** Resolves once the broker accepted the session (CONNACK 0). */
  waitForConnack(): Promise<MqttSession> {
    return new Promise((resolve, reject) => {
      this.settleConnect = (error) => {
        this.settleConnect = undefined;
        clearTimeout(this.connectTimer);
        if (error) reject(error);
        else resolve(this);
      };
      this.connectTimer = setTimeout(() => {
        this.fail(new HalNetworkError("timeout", `no CONNACK within ${this.options.connectTimeoutMs} ms`));
      }, this.options.connectTimeoutMs);
    });
  }

  subscribe(topic: string, qos: 0 | 1): Promise<void> {
    return this.request("suback", (messageId) => ({ cmd: "subscribe", messageId, subscriptions: [{ topic, qos }] }));
  }

  publish(topic: string, payload: Bytes, qos: 0 | 1): Promise<void> {
    if (payload.length > this.transportOptions.maxPacketBytes) {
      return Promise.reject(
        new HalNetworkError("too-large", `payload of ${payload.length} bytes exceeds ${this.transportOptions.maxPacketBytes}`),
      );
    }
    const body = Buffer.from(payload.buffer, payload.byteOffset, payload.length);
    if (qos === 0) {
      return this.write({ cmd: "publish", topic, payload: body, qos: 0, dup: false, retain: false });
    }
    return this.request("puback", (messageId) => ({ cmd: "publish", messageId, topic, payload: body, qos: 1, dup: false, retain: false }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopTimers();
    this.rejectPending(new HalNetworkError("reset", "the session was closed"));
    const socketClosed = new Promise<void>((resolve) => {
      this.closeWaiter = resolve;
    });
    try {
      this.socket.end(mqttPacket.generate({ cmd: "disconnect" }));
    } catch {
      this.socket.destroy();
    }
    // A broker that never closes its side must not hold close() open.
    const grace = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
    await socketClosed;
    clearTimeout(grace);
    this.handlers.onClose();
  }

  // -------------------------------------------------------------------------------------------

  private sendConnect(): void {
    const { clientId, username, password, keepAliveSeconds } = this.options;
    this.write({
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: 4,
      clean: true,
      clientId,
      keepalive: keepAliveSeconds,
      username,
      password: Buffer.from(password, "utf8"),
    }).catch((error: Error) => this.fail(networkError(error, "sending CONNECT failed")));
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    const max = this.transportOptions.maxPacketBytes;
    const buffered = this.parser.parse(chunk);
    // mqtt-packet buffers a packet until it is complete: bound it by its declared remaining
    // length (known once the fixed header is parsed) and by the bytes actually held.
    const declared = (this.parser as unknown as { packet?: { length?: number } }).packet?.length ?? -1;
    if (!this.closed && (declared > max || buffered > max + 5)) {
      this.fail(new HalNetworkError("too-large", `MQTT packet from the broker exceeds ${max} bytes`));
    }
  }

  private onPacket(packet: Packet): void {
    if (this.closed) return;
    if (!this.connected) {
      if (packet.cmd !== "connack") {
        this.fail(new HalNetworkError("other", `expected CONNACK, the broker sent ${packet.cmd.toUpperCase()}`));
        return;
      }
      const code = packet.returnCode ?? 0;
      if (code !== 0) {
        this.fail(new HalMqttError(code, `the broker refused the connection (CONNACK return code ${code})`));
        return;
      }
      this.connected = true;
      this.startKeepAlive();
      this.settleConnect?.();
      return;
    }
    switch (packet.cmd) {
      case "publish":
        this.onPublish(packet);
        return;
      case "puback":
        this.settle(packet.messageId, "puback");
        return;
      case "suback": {
        const granted = packet.granted[0];
        const refused = typeof granted !== "number" || granted === 0x80;
        this.settle(packet.messageId, "suback", refused ? new HalMqttError(0x80, "the broker refused the subscription") : undefined);
        return;
      }
      case "pingresp":
        this.awaitingPingResponse = false;
        return;
      case "unsuback":
        return; // never sent an UNSUBSCRIBE; harmless
      default:
        this.fail(new HalNetworkError("other", `unexpected ${packet.cmd.toUpperCase()} from the broker`));
    }
  }

  private onPublish(packet: IPublishPacket): void {
    if (packet.qos > 1) {
      this.fail(new HalNetworkError("other", "the broker sent a QoS 2 PUBLISH to a QoS 1 subscription"));
      return;
    }
    // A copy: the parser's Buffer may be a view into a larger socket chunk we should not pin.
    const payload = typeof packet.payload === "string" ? new Uint8Array(Buffer.from(packet.payload, "utf8")) : new Uint8Array(packet.payload);
    try {
      this.handlers.onMessage(packet.topic, payload);
    } catch (error) {
      // A throwing handler is a bug in the caller: end the session and say so, rather than
      // let the exception escape the socket's data event and take down the whole process.
      this.fail(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (packet.qos === 1 && packet.messageId !== undefined) {
      this.write({ cmd: "puback", messageId: packet.messageId }).catch(() => {
        // the socket is gone; its close event reports the drop
      });
    }
  }

  private startKeepAlive(): void {
    const seconds = this.options.keepAliveSeconds;
    if (!(seconds > 0)) return;
    // One ping per interval; a ping still unanswered at the next tick means the link is dead.
    this.keepAliveTimer = setInterval(() => {
      if (this.awaitingPingResponse) {
        this.fail(new HalNetworkError("timeout", `no PINGRESP within ${seconds} s`));
        return;
      }
      this.awaitingPingResponse = true;
      this.write({ cmd: "pingreq" }).catch(() => {
        // the socket is gone; its close event reports the drop
      });
    }, seconds * 1000);
  }

  /** Sends a packet that the broker acknowledges under a fresh message id. */
  private request(kind: PendingAck["kind"], build: (messageId: number) => Packet): Promise<void> {
    if (this.closed || !this.connected) {
      return Promise.reject(new HalNetworkError("reset", "the session is not connected"));
    }
    const messageId = this.allocateMessageId();
    if (messageId === undefined) {
      return Promise.reject(new HalNetworkError("other", "too many unacknowledged MQTT packets"));
    }
    let bytes: Buffer;
    try {
      // generate validates the topic before anything is registered as pending
      bytes = mqttPacket.generate(build(messageId));
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(messageId);
        reject(new HalNetworkError("timeout", `no ${kind.toUpperCase()} within ${this.transportOptions.ackTimeoutMs} ms`));
      }, this.transportOptions.ackTimeoutMs);
      this.pending.set(messageId, { kind, resolve, reject, timer });
      this.socket.write(bytes);
    });
  }

  private allocateMessageId(): number | undefined {
    for (let tries = 0; tries < 65535; tries++) {
      const id = this.nextMessageId;
      this.nextMessageId = id === 65535 ? 1 : id + 1;
      if (!this.pending.has(id)) return id;
    }
    return undefined;
  }

  private settle(messageId: number | undefined, kind: PendingAck["kind"], error?: Error): void {
    if (messageId === undefined) return;
    const entry = this.pending.get(messageId);
    if (!entry || entry.kind !== kind) return; // a late or stray acknowledgement
    this.pending.delete(messageId);
    clearTimeout(entry.timer);
    if (error) entry.reject(error);
    else entry.resolve();
  }

  /** Writes one packet; resolves once handed to the OS. */
  private write(packet: Packet): Promise<void> {
    if (this.closed) return Promise.reject(new HalNetworkError("reset", "the session is closed"));
    let bytes: Buffer;
    try {
      bytes = mqttPacket.generate(packet);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.socket.write(bytes, (error) => (error ? reject(networkError(error, "MQTT write failed")) : resolve()));
    });
  }

  /** Ends the session because of `error`: rejects connect() or reports onClose, exactly once. */
  private fail(error: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.stopTimers();
    this.rejectPending(error);
    this.socket.destroy();
    if (this.settleConnect) this.settleConnect(error);
    else this.handlers.onClose(error);
  }

  private stopTimers(): void {
    clearInterval(this.keepAliveTimer);
    clearTimeout(this.connectTimer);
  }

  private rejectPending(error: Error): void {
    for (const entry of this.pending.values()) {
      clearTimeout(entry.timer);
      entry.reject(error);
    }
    this.pending.clear();
  }
}

export function createNodeMqttTransport(options: NodeMqttTransportOptions = {}): MqttTransport {
  const maxPacketBytes = options.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
  const ackTimeoutMs = options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
  if (!(Number.isInteger(maxPacketBytes) && maxPacketBytes > 0)) throw new RangeError("maxPacketBytes must be a positive integer");
  if (!(ackTimeoutMs > 0)) throw new RangeError("ackTimeoutMs must be positive");
  const transportOptions = { ...options, maxPacketBytes, ackTimeoutMs };
  return {
    async connect(connectOptions: MqttConnectOptions, handlers: MqttHandlers): Promise<MqttSession> {
      const address = parseBrokerUrl(connectOptions.url);
      if (!(connectOptions.connectTimeoutMs > 0)) throw new HalNetworkError("other", "connectTimeoutMs must be positive");
      const keepAlive = connectOptions.keepAliveSeconds;
      if (!(Number.isInteger(keepAlive) && keepAlive >= 0 && keepAlive <= 65535)) {
        throw new HalNetworkError("other", "keepAliveSeconds must be an integer in 0..65535");
      }
      let session: NodeMqttSession;
      try {
        session = new NodeMqttSession(address, connectOptions, handlers, transportOptions);
      } catch (error) {
        // tls.connect throws at once on a client certificate or key it cannot load: that is a
        // credential the broker will never accept (fatal, like CONNACK 5), not an internal bug.
        const reason = error instanceof Error ? error.message : String(error);
        if (connectOptions.clientCertificate) throw new HalMqttError(5, `the client certificate or key cannot be used: ${reason}`);
        throw new HalNetworkError("other", `cannot open the MQTT connection: ${reason}`);
      }
      return session.waitForConnack();
    },
  };
}
