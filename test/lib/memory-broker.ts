/**
 * An in-memory MQTT broker behind a SocketTransport, for tests of the boot task that script the
 * broker without a network: the device's bytes are read with mqtt-packet (the independent
 * oracle), and the answers are generated with it. Each connect takes the next step of `script`:
 * "ok" (CONNACK 0), a HalMqttError (CONNACK with its return code) or a HalNetworkError (the
 * connect itself fails).
 */
import mqttPacket from "mqtt-packet";
import { HalMqttError, HalNetworkError, type ByteSocket, type SocketEndpoint, type SocketHandlers, type SocketTransport } from "../../firmware/contracts";

export type ConnectStep = "ok" | Error;

export interface SeenPublish {
  topic: string;
  body: Record<string, unknown>;
  qos: number;
}

interface Connection {
  handlers: SocketHandlers;
  closed: boolean;
}

export class MemoryBroker implements SocketTransport {
  readonly connects: mqttPacket.IConnectPacket[] = [];
  readonly endpoints: SocketEndpoint[] = [];
  readonly subscriptions: string[] = [];
  /** Every PUBLISH the device sent, its payload parsed as JSON. */
  readonly published: SeenPublish[] = [];
  /** Answer each report with a report_reply (code 0), as the platform does. */
  replyToReports = true;
  /** Topic filters answered with SUBACK 0x80, as a product whose topic permissions lack them. */
  readonly refusedTopics = new Set<string>();
  /** How many PINGREQs the device sent; `answerPings` false leaves them unanswered. */
  pings = 0;
  answerPings = true;
  /** Sees each PUBLISH after it is recorded (tests that script the platform's answers). */
  onPublish: ((publish: SeenPublish) => void) | undefined;
  private current: Connection | undefined;

  constructor(private readonly script: ConnectStep[] = []) {}

  async connect(endpoint: SocketEndpoint, handlers: SocketHandlers): Promise<ByteSocket> {
    this.endpoints.push(endpoint);
    const step = this.script.shift() ?? "ok";
    if (step instanceof HalNetworkError) throw step;
    const connection: Connection = { handlers, closed: false };
    this.current = connection;
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on("packet", (packet: mqttPacket.Packet) => this.onPacket(connection, packet, step));
    parser.on("error", (error: Error) => {
      throw new Error(`the device sent malformed MQTT: ${error.message}`);
    });
    return {
      write: (bytes) => {
        if (connection.closed) throw new HalNetworkError("reset", "closed");
        parser.parse(Buffer.from(bytes));
      },
      close: () => {
        connection.closed = true;
      },
    };
  }

  /** Sends a PUBLISH to the connected device (a control message, say). */
  deliver(topic: string, body: unknown, qos: 0 | 1 = 0): void {
    const connection = this.current;
    if (!connection || connection.closed) throw new Error("no device is connected");
    this.send(connection, { cmd: "publish", topic, payload: Buffer.from(JSON.stringify(body)), qos, messageId: qos ? 4242 : undefined, dup: false, retain: false });
  }

  /** The link drops, as a lost access point would end it. */
  drop(error = new HalNetworkError("reset", "dropped")): void {
    const connection = this.current;
    if (!connection || connection.closed) return;
    connection.closed = true;
    setImmediate(() => connection.handlers.onClose(error));
  }

  private onPacket(connection: Connection, packet: mqttPacket.Packet, step: ConnectStep): void {
    switch (packet.cmd) {
      case "connect": {
        this.connects.push(packet);
        const returnCode = step instanceof HalMqttError ? step.returnCode : 0;
        this.send(connection, { cmd: "connack", returnCode, sessionPresent: false });
        return;
      }
      case "subscribe":
        for (const { topic } of packet.subscriptions) this.subscriptions.push(topic);
        this.send(connection, { cmd: "suback", messageId: packet.messageId!, granted: packet.subscriptions.map((s) => (this.refusedTopics.has(s.topic) ? 0x80 : s.qos)) });
        return;
      case "publish": {
        const body = JSON.parse(packet.payload.toString()) as Record<string, unknown>;
        this.published.push({ topic: packet.topic, body, qos: packet.qos });
        this.onPublish?.({ topic: packet.topic, body, qos: packet.qos });
        if (packet.qos === 1) this.send(connection, { cmd: "puback", messageId: packet.messageId! });
        if (body.method === "report" && this.replyToReports) {
          const reply = { method: "report_reply", clientToken: body.clientToken, code: 0, status: "success" };
          this.send(connection, { cmd: "publish", topic: packet.topic.replace("/up/", "/down/"), payload: Buffer.from(JSON.stringify(reply)), qos: 0, dup: false, retain: false });
        }
        return;
      }
      case "pingreq":
        this.pings++;
        if (this.answerPings) this.send(connection, { cmd: "pingresp" });
        return;
      case "disconnect":
        connection.closed = true;
        return;
    }
  }

  /** Answers on a later turn, as a network would. */
  private send(connection: Connection, packet: mqttPacket.Packet): void {
    const bytes = new Uint8Array(mqttPacket.generate(packet));
    setImmediate(() => {
      if (!connection.closed) connection.handlers.onData(bytes);
    });
  }
}
