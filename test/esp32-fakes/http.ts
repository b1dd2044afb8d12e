/**
 * Moddable `http` Request as documented in network.md and implemented in http.js: one callback
 * with status (1), header (2, lower-case name), headersComplete (3), responseFragment (4, byte
 * count, read() inside the callback), responseComplete (5) and error (-2); close() deletes the
 * callback, so a callback invoked after close throws, as in http.js.
 */
export class Request {
  static readonly requestFragment = 0;
  static readonly status = 1;
  static readonly header = 2;
  static readonly headersComplete = 3;
  static readonly responseFragment = 4;
  static readonly responseComplete = 5;
  static readonly error = -2;

  static instances: Request[] = [];
  /** What each new request does once constructed (a scripted server). */
  static behaviour: ((request: Request) => void) | undefined;
  /** Set to make the constructor throw, as Moddable's does when DNS cannot start. */
  static throwOnConstruct: Error | undefined;

  callback: ((message: number, value1?: unknown, value2?: unknown) => unknown) | undefined;
  closed = false;
  closedInsideCallback = false;
  #inCallback = false;
  #pending: Uint8Array | undefined;

  constructor(readonly options: Record<string, any>) {
    if (Request.throwOnConstruct) throw Request.throwOnConstruct;
    Request.instances.push(this);
    const behaviour = Request.behaviour;
    if (behaviour) setImmediate(() => behaviour(this));
  }

  read(type: unknown): ArrayBuffer {
    if (type !== ArrayBuffer) throw new Error("the fake reads ArrayBuffer only");
    const bytes = this.#pending ?? new Uint8Array(0);
    this.#pending = undefined;
    return bytes.slice().buffer;
  }

  close(): void {
    if (this.#inCallback) this.closedInsideCallback = true;
    this.closed = true;
    this.callback = undefined;
  }

  /** Delivers one message as http.js does (throws if the callback was deleted by close). */
  emit(message: number, value1?: unknown, value2?: unknown): void {
    if (!this.callback) throw new TypeError("this.callback is not a function");
    this.#inCallback = true;
    try {
      this.callback(message, value1, value2);
    } finally {
      this.#inCallback = false;
    }
  }

  fragment(bytes: Uint8Array): void {
    this.#pending = bytes;
    this.emit(Request.responseFragment, bytes.length);
  }

  /** status, headers, body fragments, complete: a whole well-formed response. */
  respond(status: number, headers: [string, string][], fragments: Uint8Array[]): void {
    this.emit(Request.status, status);
    for (const [name, value] of headers) this.emit(Request.header, name, value);
    this.emit(Request.headersComplete);
    for (const fragment of fragments) {
      if (this.closed) return;
      this.fragment(fragment);
    }
    if (!this.closed) this.emit(Request.responseComplete);
  }
}
