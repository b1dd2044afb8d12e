/**
 * What platform nodes sharing one Redis (issue 21, `--redis URL`) keep there: aedes' message
 * routing (mqemitter-redis) and sessions (aedes-persistence-redis), device presence (which node
 * each connected device is on), and one pub/sub channel that carries each node's device-key
 * changes and disconnect requests to every other node. The registry itself stays in PostgreSQL.
 *
 * Presence is a hash `explorer-xs:presence` (client id -> node id): written when a CONNECT is
 * accepted, removed (only if still this node's) when the client goes. A node that dies without
 * closing leaves its entries behind until its devices connect elsewhere (a mock's choice: no TTL).
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import mqemitterRedis from "mqemitter-redis";
import { createRequire } from "node:module";
import type { DeviceKeys, KeyChange } from "./device-keys";

const require = createRequire(import.meta.url);
// aedes-persistence-redis ships no types: a factory of aedes' persistence from ioredis options.
const aedesPersistenceRedis = require("aedes-persistence-redis") as (options: { conn: Redis }) => unknown;

const CHANNEL = "explorer-xs:cluster";
const PRESENCE = "explorer-xs:presence";
const RATE_PREFIX = "explorer-xs:register-rate:";
/** Redis messages larger than this on the cluster channel are ignored (a key change is < 200 bytes). */
const MAX_CLUSTER_MESSAGE_BYTES = 4096;
/** Key changes kept for replay while a starting node loads its keys. */
const MAX_EARLY_CHANGES = 100_000;

/** Removes a presence entry only while it still names this node (a device may have moved on). */
const DELETE_IF_MINE = "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0";

export class RedisConnectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RedisConnectError";
  }
}

type ClusterMessage =
  | { node: string; kind: "key"; change: KeyChange }
  | { node: string; kind: "kick"; clientIds: string[] }
  | { node: string; kind: "action"; clientToken: string };

function parseMessage(text: string): ClusterMessage | undefined {
  if (text.length > MAX_CLUSTER_MESSAGE_BYTES) return undefined;
  try {
    const value = JSON.parse(text) as ClusterMessage;
    return typeof value === "object" && value !== null && typeof value.node === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The URL without its password, for errors and logs. */
function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(not a URL)";
  }
}

export class RedisCluster {
  /** This node's id in presence entries and cluster messages. */
  readonly nodeId = randomUUID();
  /** Called with the client ids another node asked to disconnect (a device deleted or disabled there). */
  onKick: (clientIds: string[]) => void = () => {};
  /** Called when another node recorded an action_reply (the waiting CallDeviceActionSync may be here). */
  onActionReply: (clientToken: string) => void = () => {};
  private readonly mine = new Set<string>();

  private constructor(private readonly url: string, private readonly command: Redis, private readonly subscriber: Redis,
    private readonly mqPub: Redis, private readonly mqSub: Redis, private readonly sessions: Redis) {}

  /** Connects (failing fast with RedisConnectError when Redis is not there) and subscribes to the cluster channel. */
  static async connect(url: string): Promise<RedisCluster> {
    if (!/^rediss?:\/\//.test(url)) throw new RedisConnectError("redis must be a URL redis://[:password@]host:port[/db]");
    const open = () => new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3, connectTimeout: 5_000, retryStrategy: (times) => Math.min(times * 100, 2_000) });
    // aedes closes the connections it was given (mq, persistence) itself: each has its own.
    const clients = [open(), open(), open(), open(), open()];
    // Connection errors are retried by ioredis; without a listener it prints each one. The first
    // says why a start failed (ECONNREFUSED, NOAUTH) better than connect()'s "Connection is closed".
    let firstError: Error | undefined;
    clients.forEach((client) => client.on("error", (error: Error) => { firstError ??= error; }));
    try {
      await Promise.all(clients.map((client) => client.connect()));
    } catch (error) {
      clients.forEach((client) => client.disconnect());
      const message = (firstError ?? error as Error).message.replaceAll(url, safeUrl(url));
      throw new RedisConnectError(`cannot connect to Redis at ${safeUrl(url)}: ${message}`);
    }
    const [command, subscriber, mqPub, mqSub, sessions] = clients;
    const cluster = new RedisCluster(url, command, subscriber, mqPub, mqSub, sessions);
    subscriber.on("message", (channel: string, text: string) => {
      if (channel !== CHANNEL) return;
      const message = parseMessage(text);
      if (message && message.node !== cluster.nodeId) cluster.receive(message);
    });
    await subscriber.subscribe(CHANNEL);
    return cluster;
  }

  /** Key changes that arrived before `follow` (while the registry was loading its keys), in order. */
  private early: KeyChange[] | undefined = [];
  private keys?: DeviceKeys;

  private receive(message: ClusterMessage): void {
    if (message.kind === "key") {
      if (this.keys) this.keys.apply(message.change);
      else if (this.early && this.early.length < MAX_EARLY_CHANGES) this.early.push(message.change);
      else this.early = undefined; // too many to replay: follow() says so
    } else if (message.kind === "kick" && Array.isArray(message.clientIds)) {
      this.onKick(message.clientIds.filter((id) => typeof id === "string"));
    } else if (message.kind === "action" && typeof message.clientToken === "string") {
      this.onActionReply(message.clientToken);
    }
  }

  /** aedes' message routing across nodes. */
  mqemitter(): unknown {
    return mqemitterRedis({ pubConn: this.mqPub, subConn: this.mqSub });
  }

  /** aedes' sessions, subscriptions, retained messages and QoS 1 in flight, shared by the nodes. */
  persistence(): unknown {
    return aedesPersistenceRedis({ conn: this.sessions });
  }

  /**
   * Feeds `keys` the other nodes' device-key changes and publishes this node's own. The publish
   * resolves once Redis has written the change to every subscribed node's connection; callers
   * that answer a device (registration) wait for it (DeviceKeys.flush). Connect before the
   * registry opens and follow after: changes made while it loaded its keys are replayed in order
   * (replaying a change the load already saw is harmless). Returns false when more arrived than
   * are kept (MAX_EARLY_CHANGES): the caller then reloads.
   */
  follow(keys: DeviceKeys): boolean {
    keys.publishChanges((change) => this.publish({ node: this.nodeId, kind: "key", change }));
    const early = this.early;
    this.early = undefined;
    this.keys = keys;
    for (const change of early ?? []) keys.apply(change);
    return early !== undefined;
  }

  /** Asks every other node to disconnect these clients. */
  async kick(clientIds: string[]): Promise<void> {
    if (clientIds.length > 0) await this.publish({ node: this.nodeId, kind: "kick", clientIds });
  }

  /** Tells the other nodes an action_reply was recorded. */
  async announceActionReply(clientToken: string): Promise<void> {
    await this.publish({ node: this.nodeId, kind: "action", clientToken });
  }

  private async publish(message: ClusterMessage): Promise<void> {
    await this.command.publish(CHANNEL, JSON.stringify(message));
  }

  async setOnline(clientId: string): Promise<void> {
    this.mine.add(clientId);
    await this.command.hset(PRESENCE, clientId, this.nodeId);
  }

  async setOffline(clientId: string): Promise<void> {
    this.mine.delete(clientId);
    await this.command.eval(DELETE_IF_MINE, 1, PRESENCE, clientId, this.nodeId);
  }

  /** The node a device is connected to, cluster-wide. */
  async onlineNode(clientId: string): Promise<string | undefined> {
    return (await this.command.hget(PRESENCE, clientId)) ?? undefined;
  }

  /**
   * Counts a registration against the product's limit for this second, cluster-wide: INCR of a
   * per-second key that expires two seconds later. Returns the count including this one.
   */
  async countRegistration(productId: string, second: number): Promise<number> {
    const key = `${RATE_PREFIX}${productId}:${second}`;
    const [[, count]] = await this.command.multi().incr(key).expire(key, 2).exec() as Array<[Error | null, number]>;
    return count;
  }

  /** Removes this node's presence entries and disconnects. */
  async close(): Promise<void> {
    await Promise.all([...this.mine].map((clientId) => this.setOffline(clientId).catch(() => undefined)));
    for (const client of [this.command, this.subscriber, this.mqPub, this.mqSub, this.sessions]) client.disconnect();
  }

  toString(): string {
    return `RedisCluster(${safeUrl(this.url)})`;
  }
}

