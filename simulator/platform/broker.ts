/**
 * The MQTT side of the platform: aedes behind TCP, TLS and TLS-PSK listeners, PSK credentials of
 * PROTOCOL.md §5 at CONNECT, per-device topic ACL, activation on the first accepted CONNECT, and
 * the data template (report -> report_reply, console control -> device, control_reply recorded).
 */
import { Aedes, type AuthenticateError, type Client } from "aedes";
import { randomUUID, X509Certificate } from "node:crypto";
import { createServer as createNetServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import type { PlatformLog } from "./register-api";
import { checkMqttCredentials, mayPublish, maySubscribe, parseThingTopic, type DeviceIdentity } from "./mqtt-auth";
import type { ControlMessage, Registry } from "./registry";

/** MQTT packets larger than this close the connection (aedes itself has no packet size cap). */
export const MAX_MQTT_PACKET_BYTES = 64 * 1024;

/**
 * Bounds what aedes buffers for one client: its mqtt-packet parser keeps the bytes of an
 * unfinished packet in `_list`, so more buffered bytes than the cap means an oversized packet
 * is arriving; the connection is closed before it grows further. The platform tests prove this
 * guard still works with the installed aedes and mqtt-packet.
 */
function guardPacketSize(client: Client, socket: Socket): void {
  const parser = (client as unknown as { _parser?: { parse(buf: Buffer): unknown; _list?: { length: number } } })._parser;
  if (!parser || typeof parser.parse !== "function") return;
  const parse = parser.parse.bind(parser);
  parser.parse = (buf: Buffer) => {
    const result = parse(buf);
    if ((parser._list?.length ?? 0) > MAX_MQTT_PACKET_BYTES) socket.destroy();
    return result;
  };
}

/** Data-template messages larger than this are not parsed (a device has 16 KiB for down messages). */
const MAX_TEMPLATE_MESSAGE_BYTES = 16 * 1024;

export type Transport = "tcp" | "tls" | "tls-psk";

export interface BrokerOptions {
  registry: Registry;
  now: () => number;
  log: PlatformLog;
  maxConnections: number;
  connectTimeoutMs: number;
  /** The mock CA, to accept client certificates of cert products on the TLS listener. */
  caCertPem?: string;
}

export class ControlError extends Error {
  constructor(readonly code: "device-not-found" | "device-offline", message: string) {
    super(message);
    this.name = "ControlError";
  }
}

const PSK_CIPHERS = [
  "PSK-AES128-GCM-SHA256", "PSK-AES256-GCM-SHA384", "PSK-AES128-CBC-SHA256", "PSK-AES128-CBC-SHA", "PSK-AES256-CBC-SHA",
].join(":");

function parseJson(payload: Buffer): Record<string, unknown> | undefined {
  if (payload.length > MAX_TEMPLATE_MESSAGE_BYTES) return undefined;
  try {
    const value: unknown = JSON.parse(payload.toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}

export class PlatformBroker {
  /** Which device each accepted client is, by aedes client. */
  private readonly identities = new WeakMap<Client, DeviceIdentity>();
  /** Identities proven by the TLS-PSK handshake, by socket. */
  private readonly pskIdentities = new WeakMap<object, string>();
  private readonly transports = new WeakMap<object, Transport>();
  /** CONNECT keep-alive by client, seen in preConnect (authenticate does not get the packet). */
  private readonly keepalives = new WeakMap<Client, number>();
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(readonly aedes: Aedes, private readonly options: BrokerOptions) {}

  static async create(options: BrokerOptions): Promise<PlatformBroker> {
    const aedes = await Aedes.createBroker({
      connectTimeout: options.connectTimeoutMs,
      maxClientsIdLength: 128, // ProductId+DeviceName is up to 58 characters, beyond MQTT 3.1's 23
    });
    const broker = new PlatformBroker(aedes, options);
    aedes.preConnect = (client, packet, callback) => {
      broker.keepalives.set(client, packet.keepalive ?? 0);
      callback(null, true);
    };
    aedes.authenticate = (client, username, password, done) => broker.authenticate(client, username, password, done);
    aedes.authorizePublish = (client, packet, callback) => {
      const identity = client && broker.identities.get(client);
      if (client === null) return callback(null);
      if (!identity || !mayPublish(identity, packet.topic)) {
        options.log({ event: "acl", clientId: client.id, action: "publish", topic: packet.topic.slice(0, 200), outcome: "denied" });
        return callback(new Error(`publish to ${packet.topic} is not allowed`));
      }
      callback(null);
    };
    aedes.authorizeSubscribe = (client, subscription, callback) => {
      const identity = broker.identities.get(client);
      if (!identity || !maySubscribe(identity, subscription.topic)) {
        options.log({ event: "acl", clientId: client.id, action: "subscribe", topic: subscription.topic.slice(0, 200), outcome: "denied" });
        return callback(null, null); // SUBACK 0x80 for this topic
      }
      callback(null, subscription);
    };
    aedes.on("publish", (packet, client) => {
      if (client) broker.onDevicePublish(client, packet.topic, packet.payload as Buffer);
    });
    aedes.on("clientDisconnect", (client) => {
      if (broker.identities.has(client)) options.log({ event: "disconnect", clientId: client.id });
    });
    return broker;
  }

  /** Starts a listener; resolves with the bound port. */
  async listen(transport: Transport, host: string, port: number, tls?: { key: string | Buffer; cert: string | Buffer }): Promise<number> {
    const handle = (socket: Socket) => {
      socket.setNoDelay(true); // small MQTT packets (CONNACK, replies) must not wait for Nagle
      this.transports.set(socket, transport);
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
      socket.on("error", () => socket.destroy());
      guardPacketSize(this.aedes.handle(socket), socket);
    };
    let server: Server;
    if (transport === "tcp") {
      server = createNetServer(handle);
    } else if (transport === "tls") {
      if (!tls) throw new Error("the TLS listener needs a key and a certificate");
      server = createTlsServer({
        key: tls.key, cert: tls.cert,
        // Cert products authenticate with a client certificate from the mock CA; PSK devices send none.
        requestCert: this.options.caCertPem !== undefined, rejectUnauthorized: false,
        ca: this.options.caCertPem !== undefined ? [this.options.caCertPem] : undefined,
        handshakeTimeout: this.options.connectTimeoutMs,
      }, (socket) => handle(socket));
    } else {
      server = createTlsServer({
        ciphers: PSK_CIPHERS,
        maxVersion: "TLSv1.2", // TLS 1.2 PSK cipher suites, as mbedTLS in Tencent's C SDK uses
        handshakeTimeout: this.options.connectTimeoutMs,
        pskIdentityHint: "explorer-xs",
        pskCallback: (socket, identity) => {
          const device = this.options.registry.getDeviceByClientId(identity);
          if (!device?.psk) return null;
          this.pskIdentities.set(socket, identity);
          return Buffer.from(device.psk, "base64");
        },
      }, (socket) => handle(socket));
    }
    server.maxConnections = this.options.maxConnections;
    server.on("tlsClientError", () => { /* failed handshakes only cost that socket */ });
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => { server.off("error", reject); resolve(); });
    });
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("listener has no TCP address");
    return address.port;
  }

  private authenticate(client: Client, username: string | undefined, password: Buffer | undefined,
    done: (error: AuthenticateError | null, success: boolean | null) => void): void {
    const { registry, log, now } = this.options;
    const conn = client.conn as Socket;
    const transport = this.transports.get(conn) ?? "tcp";
    const clientId = client.id;
    let transportAuthenticated = false;
    try {
      const device = registry.getDeviceByClientId(clientId);
      if (transport === "tls-psk") {
        transportAuthenticated = this.pskIdentities.get(conn) === clientId;
      } else if (transport === "tls" && device?.certPem) {
        transportAuthenticated = this.peerCertificateMatches(conn as TLSSocket, device.certPem);
      }
      const result = checkMqttCredentials({
        device, clientId, username, password, nowSeconds: Math.floor(now() / 1000), transportAuthenticated,
        keepaliveSeconds: this.keepalives.get(client),
      });
      const remote = `${conn.remoteAddress ?? "?"}:${conn.remotePort ?? "?"}`;
      if (!result.ok) {
        log({ event: "connect", clientId: clientId.slice(0, 128), transport, remote, outcome: "refused", returnCode: result.returnCode, reason: result.reason });
        const error = new Error(result.reason) as AuthenticateError;
        error.returnCode = result.returnCode as AuthenticateError["returnCode"];
        return done(error, false);
      }
      this.identities.set(client, { productId: device!.productId, deviceName: device!.deviceName });
      const activated = device!.state !== "activated" && registry.markActivated(device!.productId, device!.deviceName, now());
      log({ event: "connect", clientId, transport, remote, outcome: "accepted", activated });
      done(null, true);
    } catch (error) {
      log({ event: "connect", clientId: clientId.slice(0, 128), transport, outcome: "error", detail: error instanceof Error ? error.message : String(error) });
      const refusal = new Error("server unavailable") as AuthenticateError;
      refusal.returnCode = 3 as AuthenticateError["returnCode"];
      done(refusal, false);
    }
  }

  private peerCertificateMatches(socket: TLSSocket, certPem: string): boolean {
    if (!socket.authorized) return false;
    const peer = socket.getPeerX509Certificate?.();
    return peer !== undefined && peer.fingerprint256 === new X509Certificate(certPem).fingerprint256;
  }

  private onDevicePublish(client: Client, topic: string, payload: Buffer): void {
    const identity = this.identities.get(client);
    const parsed = parseThingTopic(topic);
    if (!identity || !parsed || parsed.direction !== "up") return;
    const message = parseJson(payload);
    if (!message) {
      this.options.log({ event: "template", clientId: client.id, topic, outcome: "not a JSON object" });
      return;
    }
    const down = `$thing/down/${parsed.kind}/${identity.productId}/${identity.deviceName}`;
    const clientToken = message.clientToken;
    if (parsed.kind === "property" && message.method === "report") {
      const problem = typeof clientToken !== "string" ? "clientToken missing"
        : typeof message.params !== "object" || message.params === null || Array.isArray(message.params) ? "params must be an object" : undefined;
      const reply = problem
        ? { method: "report_reply", clientToken: typeof clientToken === "string" ? clientToken : "", code: 406, status: problem }
        : { method: "report_reply", clientToken, code: 0, status: "success" };
      this.publishDown(down, reply);
    } else if (parsed.kind === "property" && message.method === "control_reply") {
      const recorded = typeof clientToken === "string" && this.options.registry.recordControlReply(
        identity.productId, identity.deviceName, clientToken,
        typeof message.code === "number" ? message.code : -1, typeof message.status === "string" ? message.status.slice(0, 256) : "", this.options.now());
      this.options.log({ event: "control_reply", clientId: client.id, clientToken: String(clientToken).slice(0, 64), outcome: recorded ? "recorded" : "unknown clientToken" });
    } else if (parsed.kind === "event" && message.method === "event_post" && typeof clientToken === "string") {
      this.publishDown(down, { method: "event_reply", clientToken, code: 0, status: "", data: {} });
    }
  }

  private publishDown(topic: string, body: unknown): void {
    this.aedes.publish({ cmd: "publish", topic, payload: Buffer.from(JSON.stringify(body)), qos: 0, retain: false, dup: false }, () => {});
  }

  isOnline(productId: string, deviceName: string): boolean {
    const client = (this.aedes as unknown as { clients: Record<string, Client | undefined> }).clients[productId + deviceName];
    return client !== undefined && this.identities.has(client);
  }

  /** Sends a console control message to the device's down topic and records it. */
  sendControl(productId: string, deviceName: string, params: Record<string, unknown>): ControlMessage {
    const { registry } = this.options;
    if (!registry.getDevice(productId, deviceName)) throw new ControlError("device-not-found", `device ${productId}/${deviceName} does not exist`);
    if (!this.isOnline(productId, deviceName)) throw new ControlError("device-offline", `device ${productId}/${deviceName} is not connected`);
    const message = { clientToken: `ctl-${randomUUID()}`, productId, deviceName, params, sentAt: this.options.now() };
    registry.recordControl(message);
    this.aedes.publish({
      cmd: "publish", topic: `$thing/down/property/${productId}/${deviceName}`, qos: 1, retain: false, dup: false,
      payload: Buffer.from(JSON.stringify({ method: "control", clientToken: message.clientToken, params })),
    }, () => {});
    return message;
  }

  /** Disconnects a device (e.g. deleted in the console). */
  disconnect(productId: string, deviceName: string): void {
    const client = (this.aedes as unknown as { clients: Record<string, Client | undefined> }).clients[productId + deviceName];
    client?.close();
  }

  async close(): Promise<void> {
    const closed = this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy(); // also those that never sent CONNECT
    await Promise.all(closed);
  }
}
