/**
 * The mock Tencent Cloud IoT Explorer platform as a library: registry, registration API,
 * Cloud API 3.0 (iotexplorer 2019-04-23), web console, MQTT broker and data plane, started
 * together by `startPlatform`.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { PlatformBroker } from "./broker";
import { CertAuthority, type DeviceKeyType } from "./cert-authority";
import { ConfigError, loadConfigFile, parseConfig, seedRegistry, type PlatformConfig } from "./config";
import { type ApiKeyPair, checkKeyPair, CredentialStore, generateKeyPair, loadOrCreateKeyFile } from "./cloud-api/credentials";
import { createCloudApiHandler } from "./cloud-api/server";
import { createDataActions } from "./cloud-api/data-actions";
import { createOtaActions } from "./cloud-api/ota-actions";
import { createConsoleHandler, CONSOLE_PATH } from "./console-web/server";
import { PlatformEvents } from "./events";
import { lockDataFolder } from "./data-lock";
import { createPlatformHttpServer, DEFAULT_HTTP_LIMITS, sendJson, type HttpLimits, type TlsFiles } from "./http-server";
import type { PlatformLog } from "./platform-log";
import { createRegisterHandler } from "./register-api";
import type { Registry } from "./registry";
import { SqliteRegistry } from "./sqlite-registry";
import { PostgresRegistry } from "./postgres-registry";
import { DeviceOrder } from "./device-order";
import { RedisCluster } from "./redis-cluster";
import { ThingService } from "./thing";
import { OBJECT_PATH_PREFIX, ObjectStore } from "./ota/object-store";
import { OtaService } from "./ota/ota-service";

export type { PlatformConfig } from "./config";
export type { PlatformLog } from "./platform-log";
export type { Registry } from "./registry";
export { SqliteRegistry } from "./sqlite-registry";
export { PostgresConnectError, PostgresRegistry } from "./postgres-registry";
export { RedisConnectError } from "./redis-cluster";
export { ThingError, ThingService } from "./thing";

export interface PlatformOptions {
  /** Products and pre-created devices: an object, or the path of a products.json. */
  config?: PlatformConfig | string;
  /** Folder for the SQLite database and the mock CA; state survives restarts. */
  dataDir?: string;
  /**
   * The registry in this PostgreSQL database (postgres://user:password@host:port/database)
   * instead of SQLite; default: the config's `postgres`. The mock CA and the Cloud API key file
   * stay in dataDir (or memory). Issue 21: several platform nodes may share one database.
   */
  postgres?: string;
  /**
   * Issue 21: nodes sharing this Redis (redis://[:password@]host:port[/db]) and one PostgreSQL
   * registry act as one platform: MQTT routing and sessions, presence, the registration rate and
   * device-key changes go through it (redis-cluster.ts). Default: the config's `redis`. Needs `postgres`.
   */
  redis?: string;
  /** Keep everything in memory (the default when no dataDir is given). */
  memory?: boolean;
  host?: string;                     // default 127.0.0.1
  httpPort?: number;                 // default 0 (a free port)
  mqttPort?: number;                 // default 0
  /** Key and certificate for HTTPS and MQTT over TLS (server-auth and certificate devices). */
  tls?: TlsFiles;
  httpsPort?: number;                // default 0; HTTPS starts only with tls
  /**
   * The one MQTT TLS listener: TLS-PSK, server-auth TLS and client certificates, negotiated per
   * connection. Starts with tls (default port 0), or PSK-only without tls when a port is given.
   */
  mqttTlsPort?: number;
  timestampWindowSeconds?: number;   // default 300
  maxRegistrationsPerSecond?: number;// per product; default 0 = unlimited
  httpLimits?: Partial<HttpLimits>;
  maxMqttConnections?: number;       // per listener; default 10000
  mqttConnectTimeoutMs?: number;     // CONNECT must arrive within this; default 10000
  now?: () => number;                // the platform's clock in ms (tests move it)
  /** One JSON-able object per registration and connection; without it the platform skips what only the log shows (peer addresses). */
  log?: PlatformLog;
  /**
   * The Cloud API's SecretId/SecretKey. Without it (and without one in the config) the pair is
   * read from, or made in, `<dataDir>/cloud-api-credentials.json`, or made for this run in memory.
   */
  apiCredentials?: ApiKeyPair;
  /** How long CallDeviceActionSync waits for the device's action_reply; default 5000 ms. */
  actionTimeoutMs?: number;
  /** Key algorithm of the device certificates it issues: "ec" (default) or "rsa" (what Moddable firmware can present). */
  deviceKeyType?: DeviceKeyType;
}

/** Where the Cloud API's key pair came from, for the ready output. */
export type ApiCredentialsSource =
  | { kind: "options" }
  | { kind: "config" }
  | { kind: "file"; file: string; created: boolean }
  | { kind: "generated" };   // memory mode: made for this run only

export interface RunningPlatform {
  httpUrl: string;
  mqttUrl: string;
  consoleUrl: string;
  /** The Cloud API's pair and where it came from (the key stays in this process unless printed). */
  apiCredentials: ApiKeyPair & { source: ApiCredentialsSource };
  /** A new one-time sign-in link for the web console. */
  consoleLoginUrl(): string;
  events: PlatformEvents;
  httpsUrl?: string;
  mqttTlsUrl?: string;
  registry: Registry;
  broker: PlatformBroker;
  /** The data plane: data template, control, action calls, custom-topic messages, reported values. */
  thing: ThingService;
  /** Firmware updates: the `$ota` topics and the tasks the Cloud API starts (docs/PROTOCOL.md §14). */
  ota: OtaService;
  /** The firmware object store behind GetCOSURL and update_firmware's URLs. */
  objects: ObjectStore;
  certAuthority(): Promise<CertAuthority>;
  close(): Promise<void>;
}

/** A device's messages waiting to be handled, at most (device-order.ts): beyond it they are dropped. */
const MAX_QUEUED_PER_DEVICE = 256;

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function urlHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

export async function startPlatform(options: PlatformOptions = {}): Promise<RunningPlatform> {
  const host = options.host ?? "127.0.0.1";
  const now = options.now ?? Date.now;
  const userLog = options.log ?? (() => {});
  // Peer addresses are only logged: each costs a getpeername() system call per connection.
  const logRemote = options.log !== undefined;
  // The console's event stream sees every log event (they never carry a secret).
  let events: PlatformEvents | undefined;
  const log: PlatformLog = (event) => {
    events?.fromLog(event);
    userLog(event);
  };
  const limits: HttpLimits = { ...DEFAULT_HTTP_LIMITS, ...options.httpLimits };
  const persistent = options.dataDir !== undefined && !options.memory;

  // Read before the registry opens: it may name the PostgreSQL database.
  const config = options.config === undefined ? undefined : typeof options.config === "string" ? loadConfigFile(options.config) : parseConfig(options.config);
  const postgres = options.postgres ?? config?.postgres;
  const redis = options.redis ?? config?.redis;
  // A node's own SQLite file is no registry to share: the nodes would disagree about every device.
  if (redis !== undefined && postgres === undefined) throw new ConfigError("redis needs postgres: the nodes sharing a Redis share one PostgreSQL registry");
  const releaseDataFolder = persistent ? lockDataFolder(options.dataDir!) : () => undefined;
  let registry: Registry;
  // Subscribed before the registry loads its device keys: no other node's change falls between.
  let cluster: RedisCluster | undefined;
  try {
    if (redis !== undefined) cluster = await RedisCluster.connect(redis);
    registry = postgres !== undefined ? await PostgresRegistry.open({ url: postgres })
      : new SqliteRegistry(persistent ? { dataDir: options.dataDir } : { memory: true });
  } catch (error) {
    await cluster?.close();
    releaseDataFolder();
    throw error;
  }
  const cleanups: Array<() => Promise<void> | void> = [releaseDataFolder, () => registry.close()];
  let closing: Promise<void> | undefined;
  // Idempotent, and in reverse order of start: listeners, broker, CA, database.
  const closeAll = () => (closing ??= (async () => {
    for (const cleanup of [...cleanups].reverse()) await cleanup();
  })());
  try {
    if (cluster !== undefined) {
      // Closed after the broker (reverse order): its devices' presence entries go last.
      const joined = cluster;
      cleanups.push(() => joined.close());
      if (!cluster.follow(registry.deviceKeys)) throw new Error("too many device-key changes from other nodes while this node started; start it again");
    }
    if (config !== undefined) await seedRegistry(registry, config, now());
    const apiCredentials = chooseApiCredentials(options, config, persistent);

    // The CA is made on first start in a data folder; in memory it is made when first needed.
    let caPromise: Promise<CertAuthority> | undefined;
    const certAuthority = () => (caPromise ??= CertAuthority.open(persistent ? join(options.dataDir!, "ca") : undefined, options.deviceKeyType));
    cleanups.push(async () => { if (caPromise) (await caPromise.catch(() => undefined))?.close(); });
    const caCertPem = persistent || options.tls ? (await certAuthority()).caCertPem : undefined;

    const order = new DeviceOrder(MAX_QUEUED_PER_DEVICE, (clientId, error) => {
      log({ event: "thing", clientId, outcome: "error", detail: error instanceof Error ? error.message : String(error) });
    });
    // Runs once the broker has stopped: the messages being handled finish before the registry closes.
    cleanups.push(() => order.idle());
    const broker = await PlatformBroker.create({
      registry, now, log, logRemote, caCertPem,
      maxConnections: options.maxMqttConnections ?? 10_000,
      connectTimeoutMs: options.mqttConnectTimeoutMs ?? 10_000,
      cluster,
    });
    cleanups.push(() => broker.close());
    const thing = new ThingService({
      registry, link: broker, now, log,
      announceActionReply: cluster && ((token) => void cluster!.announceActionReply(token).catch(() => undefined)),
    });
    if (cluster) cluster.onActionReply = (token) => void thing.actionAnswered(token).catch(() => undefined);
    cleanups.push(() => thing.close());
    const objects = new ObjectStore({ registry, now });
    const ota = new OtaService({ registry, link: broker, store: objects, now, log });
    cleanups.push(() => ota.close());
    events = new PlatformEvents({
      now,
      onlineCount: () => broker.aedes.connectedClients,
      identify: (clientId) => registry.deviceKeys.get(clientId),
      controlReply: (clientToken) => thing.recentControlReply(clientToken),
    });
    cleanups.push(() => events?.stop());
    // What a device publishes goes to the data plane, then to the console's events.
    broker.onDeviceMessage = (identity, topic, payload, clientId) => {
      const queued = order.run(clientId, () => (ota.takes(identity, topic) ? ota.handle(identity, payload, clientId) : thing.handle(identity, topic, payload, clientId)));
      if (!queued) log({ event: "thing", clientId, outcome: "dropped", detail: `more than ${MAX_QUEUED_PER_DEVICE} messages of this device are waiting` });
      events?.onDevicePublish(clientId, topic, payload);
    };

    const credentials = new CredentialStore(apiCredentials, now);

    const register = createRegisterHandler({
      registry, certAuthority, now, log, logRemote,
      timestampWindowSeconds: options.timestampWindowSeconds ?? 300,
      maxBodyBytes: limits.maxBodyBytes,
      maxRegistrationsPerSecond: options.maxRegistrationsPerSecond ?? 0,
      rateCounter: cluster,
    });
    const cloudApi = createCloudApiHandler({ registry, broker, certAuthority, events, credentials, now, log, extraActions: { ...createDataActions(thing, { actionTimeoutMs: options.actionTimeoutMs }), ...createOtaActions(ota, objects) } });
    const consoleWeb = createConsoleHandler({ credentials, events, now });

    const handler = async (req: IncomingMessage, res: ServerResponse) => {
      const path = (req.url ?? "/").split("?")[0];
      if (path === "/device/register" || path === "/register/dev") {
        if (req.method !== "POST") {
          res.setHeader("Allow", "POST");
          sendJson(res, 405, { error: { code: "method-not-allowed", message: "use POST" } }, { date: new Date(now()), close: true });
          return;
        }
        return path === "/device/register" ? register.handleCurrent(req, res) : register.handleLegacy(req, res);
      }
      if (path === "/") {
        // A browser opening the platform's address is shown the console.
        if (req.method === "GET" && req.headers.authorization === undefined && req.headers["x-tc-action"] === undefined && (req.headers.accept ?? "").includes("text/html")) {
          res.writeHead(302, { Location: CONSOLE_PATH, "Content-Length": 0, Date: new Date(now()).toUTCString() }).end();
          return;
        }
        return cloudApi(req, res);
      }
      if (path.startsWith(OBJECT_PATH_PREFIX)) return objects.handle(req, res);
      if (path === CONSOLE_PATH || path.startsWith(`${CONSOLE_PATH}/`)) return consoleWeb(req, res, path);
      sendJson(res, 404, { error: { code: "not-found", message: `no route for ${path.slice(0, 100)}` } }, { date: new Date(now()), close: !req.complete });
    };

    const servers: Server[] = [];
    const http = createPlatformHttpServer(handler, limits, undefined, now);
    servers.push(http);
    cleanups.push(() => closeServers(servers));
    const httpPort = await listen(http, options.httpPort ?? 0, host);
    const mqttPort = await broker.listen("tcp", host, options.mqttPort ?? 0);
    const h = urlHost(host);
    const running: RunningPlatform = {
      httpUrl: `http://${h}:${httpPort}`,
      mqttUrl: `mqtt://${h}:${mqttPort}`,
      consoleUrl: `http://${h}:${httpPort}${CONSOLE_PATH}`,
      apiCredentials,
      consoleLoginUrl: () => `http://${h}:${httpPort}${CONSOLE_PATH}#login=${credentials.newLoginToken()}`,
      events,
      registry, broker, thing, ota, objects, certAuthority,
      close: closeAll,
    };
    if (options.tls) {
      const https = createPlatformHttpServer(handler, limits, options.tls, now);
      servers.push(https);
      running.httpsUrl = `https://${h}:${await listen(https, options.httpsPort ?? 0, host)}`;
    }
    // Firmware URLs use HTTPS where the platform has TLS.
    objects.baseUrl = running.httpsUrl ?? running.httpUrl;
    if (options.tls || options.mqttTlsPort !== undefined) {
      running.mqttTlsUrl = `mqtts://${h}:${await broker.listen("tls", host, options.mqttTlsPort ?? 0, options.tls)}`;
    }
    return running;
  } catch (error) {
    await closeAll();
    throw error;
  }
}

function chooseApiCredentials(options: PlatformOptions, config: PlatformConfig | undefined, persistent: boolean): RunningPlatform["apiCredentials"] {
  if (options.apiCredentials) return { ...checkKeyPair(options.apiCredentials, "apiCredentials"), source: { kind: "options" } };
  if (config?.cloudApi) return { secretId: config.cloudApi.secretId, secretKey: config.cloudApi.secretKey, source: { kind: "config" } };
  if (persistent) {
    const { pair, file, created } = loadOrCreateKeyFile(options.dataDir!);
    return { ...pair, source: { kind: "file", file, created } };
  }
  return { ...generateKeyPair(), source: { kind: "generated" } };
}

async function closeServers(servers: Server[]): Promise<void> {
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  })));
}
