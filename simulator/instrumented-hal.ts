/**
 * Wraps a Hal so a runner can see what the device does at the HAL door (HTTP exchanges, flash
 * commits, MQTT sessions) without the core knowing. The demo's timeline and the fleet's
 * per-device counters come from here. Payloads are never recorded, only sizes.
 *
 * MQTT is the core's own engine now, so the door is a byte socket: a wire tap reads both
 * directions with mqtt-packet (as Wireshark would), independently of the core's codec.
 */
import mqttPacket from "mqtt-packet";
import type { ByteSocket, Bytes, Clock, Hal, HttpRequest, SocketEndpoint, SocketHandlers } from "../firmware/contracts";

export type HalTraceEvent =
  | { kind: "http.request"; method: string; url: string; bytes: number }
  | { kind: "http.response"; status: number; bytes: number; ms: number }
  | { kind: "http.error"; message: string; ms: number }
  | { kind: "flash.commit"; namespace: string; key: string }
  | { kind: "flash.delete"; namespace: string; key: string }
  | { kind: "mqtt.connack"; url: string; clientId: string; ms: number }
  | { kind: "mqtt.refused"; message: string; ms: number }
  | { kind: "mqtt.subscribe"; topic: string }
  | { kind: "mqtt.publish"; topic: string; bytes: number }
  | { kind: "mqtt.message"; topic: string; bytes: number }
  | { kind: "mqtt.closed"; reason: string };

export interface HalCounters {
  httpRequests: number;
  flashWrites: number;
  mqttConnects: number;
}

export interface InstrumentedHal {
  hal: Hal;
  counters: HalCounters;
}

export function instrumentHal(inner: Hal, listener?: (event: HalTraceEvent) => void): InstrumentedHal {
  const listening = listener !== undefined;
  const onEvent = listener ?? (() => undefined);
  const counters: HalCounters = { httpRequests: 0, flashWrites: 0, mqttConnects: 0 };
  const clock = inner.clock;
  const hal: Hal = {
    ...inner,
    flash: {
      get: (namespace, key) => inner.flash.get(namespace, key),
      keys: (namespace) => inner.flash.keys(namespace),
      set(namespace, key, value) {
        counters.flashWrites++;
        inner.flash.set(namespace, key, value);
        onEvent({ kind: "flash.commit", namespace, key });
      },
      delete(namespace, key) {
        counters.flashWrites++;
        inner.flash.delete(namespace, key);
        onEvent({ kind: "flash.delete", namespace, key });
      },
    },
    http: {
      async request(request: HttpRequest) {
        counters.httpRequests++;
        const started = clock.monotonicMs();
        onEvent({ kind: "http.request", method: request.method, url: request.url, bytes: request.body?.length ?? 0 });
        try {
          const response = await inner.http.request(request);
          onEvent({ kind: "http.response", status: response.status, bytes: response.body.length, ms: clock.monotonicMs() - started });
          return response;
        } catch (error) {
          onEvent({ kind: "http.error", message: (error as Error).message, ms: clock.monotonicMs() - started });
          throw error;
        }
      },
    },
    socket: {
      async connect(endpoint: SocketEndpoint, handlers: SocketHandlers, timeoutMs: number): Promise<ByteSocket> {
        counters.mqttConnects++;
        // Without a listener the tap costs nothing: the fleet runs thousands of these.
        const tap = listening ? new MqttWireTap(endpoint, clock, onEvent) : undefined;
        let socket: ByteSocket;
        try {
          socket = await inner.socket.connect(endpoint, tap ? tap.handlers(handlers) : handlers, timeoutMs);
        } catch (error) {
          tap?.failed(error as Error);
          throw error;
        }
        return tap ? tap.socket(socket) : socket;
      },
    },
  };
  return { hal, counters };
}

/** Reads one connection's bytes both ways with mqtt-packet and reports the MQTT events. */
class MqttWireTap {
  private readonly started: number;
  private readonly url: string;
  private clientId = "";
  private readonly outbound = mqttPacket.parser({ protocolVersion: 4 });
  private readonly inbound = mqttPacket.parser({ protocolVersion: 4 });
  private ended = false;

  constructor(endpoint: SocketEndpoint, private readonly clock: Clock, private readonly onEvent: (event: HalTraceEvent) => void) {
    this.started = clock.monotonicMs();
    const host = endpoint.host.includes(":") ? `[${endpoint.host}]` : endpoint.host;
    this.url = `${endpoint.tls ? "mqtts" : "mqtt"}://${host}:${endpoint.port}`;
    this.outbound.on("packet", (packet: mqttPacket.Packet) => this.sent(packet));
    this.inbound.on("packet", (packet: mqttPacket.Packet) => this.received(packet));
    // A malformed stream is the engine's to judge; the tap only stops reading it.
    this.outbound.on("error", () => undefined);
    this.inbound.on("error", () => undefined);
  }

  handlers(inner: SocketHandlers): SocketHandlers {
    return {
      onData: (bytes: Bytes) => {
        this.inbound.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
        inner.onData(bytes);
      },
      onClose: (error) => {
        this.end(error ? error.message : "closed by the broker");
        inner.onClose(error);
      },
    };
  }

  socket(inner: ByteSocket): ByteSocket {
    return {
      write: (bytes: Bytes) => {
        inner.write(bytes);
        this.outbound.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
      },
      close: () => {
        inner.close();
        this.end("by the device");
      },
    };
  }

  failed(error: Error): void {
    this.onEvent({ kind: "mqtt.refused", message: error.message, ms: this.clock.monotonicMs() - this.started });
  }

  private sent(packet: mqttPacket.Packet): void {
    if (packet.cmd === "connect") this.clientId = packet.clientId;
    else if (packet.cmd === "subscribe") for (const { topic } of packet.subscriptions) this.onEvent({ kind: "mqtt.subscribe", topic });
    else if (packet.cmd === "publish") this.onEvent({ kind: "mqtt.publish", topic: packet.topic, bytes: packet.payload.length });
  }

  private received(packet: mqttPacket.Packet): void {
    if (packet.cmd === "connack") {
      const code = packet.returnCode ?? 0;
      const ms = this.clock.monotonicMs() - this.started;
      if (code === 0) this.onEvent({ kind: "mqtt.connack", url: this.url, clientId: this.clientId, ms });
      else this.onEvent({ kind: "mqtt.refused", message: `the broker refused the connection (CONNACK return code ${code})`, ms });
    } else if (packet.cmd === "publish") {
      this.onEvent({ kind: "mqtt.message", topic: packet.topic, bytes: packet.payload.length });
    }
  }

  private end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.onEvent({ kind: "mqtt.closed", reason });
  }
}
