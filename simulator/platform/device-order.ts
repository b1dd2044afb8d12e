/**
 * Handles each device's messages one after another, in the order they arrived: the registry's
 * methods are asynchronous (registry.ts), so without this a get_status could be answered before
 * the report published just before it was stored. Different devices still run concurrently.
 * Bounded: a device with `maxQueued` messages waiting has further ones dropped (and logged).
 */
export class DeviceOrder {
  private readonly tails = new Map<string, { done: Promise<void>; queued: number }>();

  constructor(private readonly maxQueued: number, private readonly onError: (key: string, error: unknown) => void) {}

  /** Queues `task` behind the device's earlier ones; false (task not run) when the device's queue is full. */
  run(key: string, task: () => Promise<void>): boolean {
    const tail = this.tails.get(key);
    if (tail && tail.queued >= this.maxQueued) return false;
    const entry = tail ?? { done: Promise.resolve(), queued: 0 };
    entry.queued++;
    entry.done = entry.done.then(task).catch((error: unknown) => this.onError(key, error)).finally(() => {
      if (--entry.queued === 0 && this.tails.get(key) === entry) this.tails.delete(key);
    });
    this.tails.set(key, entry);
    return true;
  }

  /** Resolves once every queued message has been handled. */
  async idle(): Promise<void> {
    await Promise.all([...this.tails.values()].map((entry) => entry.done));
  }
}
