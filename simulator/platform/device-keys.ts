/**
 * Every device's client id (ProductId+DeviceName) with its PSK, in memory: Node's TLS pskCallback
 * is synchronous and cannot wait for the registry's database, and the console resolves client ids
 * of its events synchronously too. Each registry loads it when it opens and updates it on every
 * write through that registry. Nodes sharing a registry (PostgreSQL) and a Redis follow each other's
 * writes: each local change goes to `publishChanges`' sink (redis-cluster.ts publishes it), and the
 * other nodes' changes come in through `apply`, which does not publish them again.
 * One entry per device: bounded by the registry's own size.
 */
export interface DeviceKey {
  productId: string;
  deviceName: string;
  /** Base64 PSK of a psk device that has one. */
  psk?: string;
}

/** One change to the keys, as nodes send it to each other. */
export type KeyChange =
  | { op: "put"; key: DeviceKey }
  | { op: "remove"; productId: string; deviceName: string }
  | { op: "removeProduct"; productId: string };

const isName = (value: unknown): value is string => typeof value === "string" && value.length > 0 && value.length <= 64;

export class DeviceKeys {
  private readonly byClientId = new Map<string, DeviceKey>();
  private sink?: (change: KeyChange) => Promise<void>;
  private readonly publishing = new Set<Promise<void>>();

  /** Sends every later local change to `sink` (another node's copy); flush() waits for them. */
  publishChanges(sink: (change: KeyChange) => Promise<void>): void {
    this.sink = sink;
  }

  /** Resolves once every local change so far has been published (or failed to be). */
  async flush(): Promise<void> {
    await Promise.all([...this.publishing]);
  }

  /** A change another node made; malformed ones are ignored. */
  apply(change: KeyChange): void {
    if (change.op === "put" && isName(change.key?.productId) && isName(change.key.deviceName)) {
      this.set({ productId: change.key.productId, deviceName: change.key.deviceName, ...(typeof change.key.psk === "string" ? { psk: change.key.psk } : {}) });
    } else if (change.op === "remove" && isName(change.productId) && isName(change.deviceName)) {
      this.byClientId.delete(change.productId + change.deviceName);
    } else if (change.op === "removeProduct" && isName(change.productId)) {
      this.dropProduct(change.productId);
    }
  }

  private send(change: KeyChange): void {
    if (!this.sink) return;
    const sent = this.sink(change).catch(() => undefined).finally(() => this.publishing.delete(sent));
    this.publishing.add(sent);
  }

  /** Replaces everything with `keys` (a registry opening). */
  load(keys: Iterable<DeviceKey>): void {
    this.byClientId.clear();
    for (const key of keys) this.set(key);
  }

  get(clientId: string): DeviceKey | undefined {
    return this.byClientId.get(clientId);
  }

  /** The PSK TLS-PSK needs for `clientId`, if that device has one. */
  psk(clientId: string): string | undefined {
    return this.byClientId.get(clientId)?.psk;
  }

  put(key: DeviceKey): void {
    this.set(key);
    this.send({ op: "put", key: this.byClientId.get(key.productId + key.deviceName)! });
  }

  private set(key: DeviceKey): void {
    this.byClientId.set(key.productId + key.deviceName, key.psk === undefined ? { productId: key.productId, deviceName: key.deviceName } : { ...key });
  }

  remove(productId: string, deviceName: string): void {
    this.byClientId.delete(productId + deviceName);
    this.send({ op: "remove", productId, deviceName });
  }

  /** Drops a deleted product's devices (a rare write: a scan is fine). */
  removeProduct(productId: string): void {
    this.dropProduct(productId);
    this.send({ op: "removeProduct", productId });
  }

  private dropProduct(productId: string): void {
    for (const [clientId, key] of this.byClientId) if (key.productId === productId) this.byClientId.delete(clientId);
  }

  get size(): number {
    return this.byClientId.size;
  }
}
