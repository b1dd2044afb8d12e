/**
 * The MQTT side of the platform: aedes behind a TCP listener and one TLS listener that serves,
 * per connection, TLS-PSK, server-auth TLS and client-certificate TLS (docs/PROTOCOL.md §6);
 * the credentials of §5 at CONNECT; the per-device topic ACL of §7; activation on the first
 * accepted CONNECT. What devices publish goes to the data plane (thing.ts), which answers
 * through publishToDevice.
 */
import { Aedes, type AuthenticateError, type Client } from "aedes";
import { X509Certificate } from "node:crypto";
import { createServer as createNetServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, DEFAULT_CIPHERS, type TLSSocket } from "node:tls";
import type { PlatformLog } from "./platform-log";
import { checkMqttCredentials, mayPublish, maySubscribe, type DeviceIdentity } from "./mqtt-auth";
import type { Registry } from "./registry";
import type { RedisCluster } from "./redis-cluster";

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

export type Listener = "tcp" | "tls";
/** How a connection authenticated its transport, as logged. */
export type Transport = "tcp" | "tls" | "tls-psk" | "tls-cert";

export interface BrokerOptions {
  registry: Registry;
  now: () => number;
  log: PlatformLog;
  /** Log each connection's peer address (false: nobody reads the log, spare the system call). */
  logRemote?: boolean;
  maxConnections: number;
  connectTimeoutMs: number;
  /** The mock CA, to accept client certificates of cert products on the TLS listener. */
  caCertPem?: string;
  /** Nodes sharing one Redis (issue 21): aedes routes and keeps sessions there, presence is cluster-wide. */
  cluster?: RedisCluster;
}

/** A publish from an authenticated device on a topic the ACL let through. */
export type DeviceMessageHandler = (identity: DeviceIdentity, topic: string, payload: Buffer, clientId: string) => void;

/**
 * Node's default suites plus the PSK ones (Node's default list ends in "!PSK", and OpenSSL never
 * lets a suite back once "!" removed it). Tencent's C SDK offers a PSK device only
 * TLS_PSK_WITH_AES_128_CBC_SHA and TLS_PSK_WITH_AES_256_CBC_SHA (HAL_TLS_mbedtls.c,
 * `ciphersuites`); certificate and server-auth clients never offer PSK suites, so OpenSSL picks
 * PSK only for PSK clients, and then sends no certificate request.
 */
export const MQTT_TLS_CIPHERS = DEFAULT_CIPHERS.split(":").filter((suite) => suite !== "!PSK").join(":");

export class PlatformBroker {
  /** Which device each accepted client is, by aedes client. */
  private readonly identities = new WeakMap<Client, DeviceIdentity>();
  /** Identities proven by the TLS-PSK handshake, by socket. */
  private readonly pskIdentities = new WeakMap<object, string>();
  private readonly listeners = new WeakMap<object, Listener>();
  /** Receives what devices publish (the data plane and the console's events); set once by startPlatform. */
  onDeviceMessage: DeviceMessageHandler = () => {};
  /** CONNECT keep-alive by client, seen in preConnect (authenticate does not get the packet). */
  private readonly keepalives = new WeakMap<Client, number>();
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();

  /** The mock CA, parsed once: certificate CONNECTs check against it. */
  private readonly caCert: X509Certificate | undefined;

  private constructor(readonly aedes: Aedes, private readonly options: BrokerOptions) {
    this.caCert = options.caCertPem === undefined ? undefined : new X509Certificate(options.caCertPem);
  }

  static async create(options: BrokerOptions): Promise<PlatformBroker> {
    const aedes = await Aedes.createBroker({
      connectTimeout: options.connectTimeoutMs,
      maxClientsIdLength: 128, // ProductId+DeviceName is up to 58 characters, beyond MQTT 3.1's 23
      ...(options.cluster ? { mq: options.cluster.mqemitter(), persistence: options.cluster.persistence() } : {}),
    });
    const broker = new PlatformBroker(aedes, options);
    aedes.preConnect = (client, packet, callback) => {
      broker.keepalives.set(client, packet.keepalive ?? 0);
      callback(null, true);
    };
    aedes.authenticate = (client, username, password, done) => void broker.authenticate(client, username, password, done);
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
      const identity = client && broker.identities.get(client);
      if (identity) broker.onDeviceMessage(identity, packet.topic, packet.payload as Buffer, client.id);
    });
    aedes.on("clientDisconnect", (client) => {
      if (!broker.identities.has(client)) return;
      options.log({ event: "disconnect", clientId: client.id });
      options.cluster?.setOffline(client.id).catch(() => undefined);
    });
    // Another node deleted or disabled these devices: they go here too.
    if (options.cluster) options.cluster.onKick = (clientIds) => clientIds.forEach((clientId) => broker.disconnectLocal(clientId));
    return broker;
  }

  /**
   * Starts a listener; resolves with the bound port. The TLS listener needs a key and certificate
   * for server-auth and certificate clients; without them it serves TLS-PSK only.
   */
  async listen(listener: Listener, host: string, port: number, tls?: { key: string | Buffer; cert: string | Buffer }): Promise<number> {
    const handle = (socket: Socket) => {
      socket.setNoDelay(true); // small MQTT packets (CONNACK, replies) must not wait for Nagle
      this.listeners.set(socket, listener);
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
      socket.on("error", () => socket.destroy());
      guardPacketSize(this.aedes.handle(socket), socket);
    };
    let server: Server;
    if (listener === "tcp") {
      server = createNetServer(handle);
    } else {
      const { caCertPem } = this.options;
      server = createTlsServer({
        ...(tls ? { key: tls.key, cert: tls.cert } : {}),
        ciphers: MQTT_TLS_CIPHERS,
        // Cert products present a certificate from the mock CA; others may send none, so the
        // handshake never fails on it: authenticate() checks the certificate itself.
        requestCert: caCertPem !== undefined, rejectUnauthorized: false,
        ca: caCertPem !== undefined ? [caCertPem] : undefined,
        handshakeTimeout: this.options.connectTimeoutMs,
        // TLS-PSK: identity ProductId+DeviceName, key the decoded PSK (docs/PROTOCOL.md §6).
        pskCallback: (socket, identity) => {
          // Synchronous: the registry's in-memory keys (device-keys.ts), never its database.
          const psk = this.options.registry.deviceKeys.psk(identity);
          if (psk === undefined) {
            this.lookUpMissedKey(identity);
            return null;
          }
          this.pskIdentities.set(socket, identity);
          return Buffer.from(psk, "base64");
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

  /** Client ids whose missed key is being looked up (bounded: a flood of unknown ids costs at most this many queries at once). */
  private readonly keyLookups = new Set<string>();

  /**
   * With a cluster, a TLS-PSK miss may be a key this node never heard of (it was cut off from
   * Redis when the key was published): the handshake is refused, since pskCallback cannot wait,
   * and the key is read from the registry so the device's next attempt finds it.
   */
  private lookUpMissedKey(clientId: string): void {
    const { cluster, registry } = this.options;
    if (!cluster || clientId.length > 64 || this.keyLookups.has(clientId) || this.keyLookups.size >= 64) return;
    this.keyLookups.add(clientId);
    registry.getDeviceByClientId(clientId).then((device) => {
      if (device?.psk !== undefined && registry.deviceKeys.psk(clientId) === undefined) {
        registry.deviceKeys.apply({ op: "put", key: { productId: device.productId, deviceName: device.deviceName, psk: device.psk } });
      }
    }, () => undefined).finally(() => this.keyLookups.delete(clientId));
  }

  private async authenticate(client: Client, username: string | undefined, password: Buffer | undefined,
    done: (error: AuthenticateError | null, success: boolean | null) => void): Promise<void> {
    const { registry, log, now } = this.options;
    const conn = client.conn as Socket;
    let transport: Transport = this.listeners.get(conn) ?? "tcp";
    const clientId = client.id;
    let transportAuthenticated = false;
    try {
      const device = await registry.getDeviceByClientId(clientId);
      if (transport === "tls") {
        const pskIdentity = this.pskIdentities.get(conn);
        if (pskIdentity !== undefined) {
          transport = "tls-psk";
          transportAuthenticated = pskIdentity === clientId;
        } else if (device?.certPem && this.peerCertificateMatches(conn as TLSSocket, device.certPem)) {
          transport = "tls-cert";
          transportAuthenticated = true;
        }
      }
      const result = checkMqttCredentials({
        device, clientId, username, password, nowMs: now(), transportAuthenticated,
        keepaliveSeconds: this.keepalives.get(client),
      });
      const remote = this.options.logRemote === false ? undefined : `${conn.remoteAddress ?? "?"}:${conn.remotePort ?? "?"}`;
      if (!result.ok) {
        log({ event: "connect", clientId: clientId.slice(0, 128), transport, remote, outcome: "refused", returnCode: result.returnCode, reason: result.reason });
        const error = new Error(result.reason) as AuthenticateError;
        error.returnCode = result.returnCode as AuthenticateError["returnCode"];
        return done(error, false);
      }
      this.identities.set(client, { productId: device!.productId, deviceName: device!.deviceName });
      // Before CONNACK: a Cloud API call on any node sees the device online once it is.
      await this.options.cluster?.setOnline(clientId);
      const activated = device!.state !== "activated" && await registry.markActivated(device!.productId, device!.deviceName, now());
      log({ event: "connect", clientId, transport, remote, outcome: "accepted", activated });
      done(null, true);
    } catch (error) {
      log({ event: "connect", clientId: clientId.slice(0, 128), transport, outcome: "error", detail: error instanceof Error ? error.message : String(error) });
      const refusal = new Error("server unavailable") as AuthenticateError;
      refusal.returnCode = 3 as AuthenticateError["returnCode"];
      done(refusal, false);
    }
  }

  /**
   * A client certificate counts only if OpenSSL verified it against the mock CA (`authorized`:
   * chain and validity dates, since the listener lets unverified handshakes through for PSK and
   * server-auth clients), it is the one the CA issued to this device, and its signature checks
   * against the CA's key here too.
   */
  private peerCertificateMatches(socket: TLSSocket, certPem: string): boolean {
    const ca = this.caCert;
    if (!socket.authorized || ca === undefined) return false;
    const peer = socket.getPeerX509Certificate?.();
    if (peer === undefined) return false;
    return peer.fingerprint256 === new X509Certificate(certPem).fingerprint256 && peer.checkIssued(ca) && peer.verify(ca.publicKey);
  }

  /** Publishes to a device's topic (the data plane's replies and calls); resolves once queued to subscribers. */
  publishToDevice(topic: string, payload: string | Buffer, qos: 0 | 1 = 0): Promise<void> {
    return new Promise((resolve, reject) => {
      this.aedes.publish({ cmd: "publish", topic, payload: typeof payload === "string" ? Buffer.from(payload) : payload, qos, retain: false, dup: false },
        (error?: Error) => (error ? reject(error) : resolve()));
    });
  }

  private localClient(clientId: string): Client | undefined {
    return (this.aedes as unknown as { clients: Record<string, Client | undefined> }).clients[clientId];
  }

  /** Connected to this node, or (with a cluster) to any node. */
  async isOnline(productId: string, deviceName: string): Promise<boolean> {
    const client = this.localClient(productId + deviceName);
    if (client !== undefined && this.identities.has(client)) return true;
    return this.options.cluster !== undefined && await this.options.cluster.onlineNode(productId + deviceName) !== undefined;
  }

  /** Disconnects a device (e.g. deleted in the console) here and, with a cluster, on every node. */
  disconnect(productId: string, deviceName: string): Promise<void> {
    return this.disconnectDevices([{ productId, deviceName }]);
  }

  async disconnectDevices(devices: ReadonlyArray<{ productId: string; deviceName: string }>): Promise<void> {
    const clientIds = devices.map(({ productId, deviceName }) => productId + deviceName);
    clientIds.forEach((clientId) => this.disconnectLocal(clientId));
    await this.options.cluster?.kick(clientIds);
  }

  private disconnectLocal(clientId: string): void {
    this.localClient(clientId)?.close();
  }

  async close(): Promise<void> {
    const closed = this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy(); // also those that never sent CONNECT
    await Promise.all(closed);
  }
}
