/**
 * Every device's client id (ProductId+DeviceName) with its PSK, in memory: Node's TLS pskCallback
 * is synchronous and cannot wait for the registry's database, and the console resolves client ids
 * of its events synchronously too. Each registry loads it when it opens and updates it on every
 * write through that registry; a registry shared by several platform nodes (PostgreSQL) will need
 * the other nodes' writes fed in through `put`/`remove` (the Redis half of issue 21, not done yet):
 * until then a node knows only the PSKs it issued or loaded at start.
 * One entry per device: bounded by the registry's own size.
 */
export interface DeviceKey {
  productId: string;
  deviceName: string;
  /** Base64 PSK of a psk device that has one. */
  psk?: string;
}

export class DeviceKeys {
  private readonly byClientId = new Map<string, DeviceKey>();

  /** Replaces everything with `keys` (a registry opening). */
  load(keys: Iterable<DeviceKey>): void {
    this.byClientId.clear();
    for (const key of keys) this.put(key);
  }

  get(clientId: string): DeviceKey | undefined {
    return this.byClientId.get(clientId);
  }

  /** The PSK TLS-PSK needs for `clientId`, if that device has one. */
  psk(clientId: string): string | undefined {
    return this.byClientId.get(clientId)?.psk;
  }

  put(key: DeviceKey): void {
    this.byClientId.set(key.productId + key.deviceName, key.psk === undefined ? { productId: key.productId, deviceName: key.deviceName } : { ...key });
  }

  remove(productId: string, deviceName: string): void {
    this.byClientId.delete(productId + deviceName);
  }

  /** Drops a deleted product's devices (a rare write: a scan is fine). */
  removeProduct(productId: string): void {
    for (const [clientId, key] of this.byClientId) if (key.productId === productId) this.byClientId.delete(clientId);
  }

  get size(): number {
    return this.byClientId.size;
  }
}
