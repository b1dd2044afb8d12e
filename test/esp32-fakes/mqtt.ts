/**
 * Moddable's legacy `mqtt` Client as network.md documents it (onReady, onMessage, onClose,
 * publish, subscribe, close) and mqtt.js implements its failures: fail(reason) calls onClose,
 * then close(); a refused CONNACK fails with "server rejected mqtt request with code <n>".
 */
export default class Client {
  static instances: Client[] = [];
  onReady?: () => void;
  onMessage?: (topic: string, data: ArrayBuffer) => void;
  onClose?: () => void;
  published: { topic: string; data: ArrayBuffer; flags?: { quality?: number } }[] = [];
  subscribed: string[] = [];
  closedWith: (boolean | undefined)[] = [];
  connected = true;

  constructor(readonly options: Record<string, any>) {
    Client.instances.push(this);
  }

  publish(topic: string, data: string | ArrayBuffer, flags?: { quality?: number }): void {
    if (!this.connected) throw new Error("connection closed");
    this.published.push({ topic, data: data as ArrayBuffer, flags });
  }

  subscribe(topic: string): void {
    if (!this.connected) throw new Error("connection closed");
    this.subscribed.push(topic);
  }

  unsubscribe(): void {}

  close(immediate?: boolean): void {
    this.connected = false;
    this.closedWith.push(immediate);
  }

  fail(message = ""): void {
    void message;
    this.onClose?.();
    this.close();
  }

  // test helpers
  ready(): void {
    this.onReady?.();
  }
  refuse(code: number): void {
    this.fail(`server rejected mqtt request with code ${code}`);
  }
  deliver(topic: string, bytes: Uint8Array): void {
    this.onMessage?.(topic, bytes.slice().buffer);
  }
}
