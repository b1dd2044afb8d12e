/**
 * Moddable `socket` (TCP on lwIP) over a real node:net socket, following the callback protocol of
 * modules/network/socket/socket.js and socket/lwip/modSocket.c (SDK 8.2.3):
 * - callback(1) once connected; callback(2, n) when n bytes can be read, one received chunk at a
 *   time (lwIP: one pbuf), the next chunk only after this one was read; callback(3, room) when
 *   sent bytes free room; callback(-1) when the peer closed, callback(-2) on an error;
 * - read(ArrayBuffer[, count]) returns the current chunk's unread bytes ("nothing to read" when
 *   none), read() with no argument how many remain;
 * - write() with no argument is the room left in the send buffer (`sendBufferBytes`), and
 *   write(data) larger than that room throws "can't write all data"; a write after close or
 *   an error only traces, as lwIP does.
 * Our belief about Moddable, not Moddable: the lin lane runs the real one.
 */
import net from "node:net";

export class Socket {
  static readonly instances: Socket[] = [];
  /** lwIP's tcp_sndbuf stand-in: small, so the adapter's queue is exercised. */
  static sendBufferBytes = 512;

  callback: (message: number, value?: number) => void = () => undefined;
  /** Bytes handed to write(), in order (for assertions). */
  readonly written: Uint8Array[] = [];
  closed = false;
  private readonly node: net.Socket;
  private inFlight = 0;
  private readonly received: Buffer[] = [];
  private current: Buffer | undefined;
  private position = 0;
  private failed = false;

  constructor(readonly dictionary: { host: string; port: number; [key: string]: unknown }) {
    Socket.instances.push(this);
    this.node = net.connect({ host: dictionary.host, port: dictionary.port });
    this.node.on("connect", () => this.emit(1));
    this.node.on("data", (chunk: Buffer) => {
      this.received.push(chunk);
      this.deliver();
    });
    this.node.on("end", () => this.emit(-1));
    this.node.on("error", () => {
      this.failed = true;
      this.emit(-2);
    });
  }

  read(type?: typeof ArrayBuffer, count?: number): ArrayBuffer | number {
    const left = this.current ? this.current.length - this.position : 0;
    if (type === undefined) return left;
    if (left === 0) throw new Error("nothing to read");
    const take = count === undefined ? left : Math.min(count, left);
    const out = new Uint8Array(take);
    out.set(this.current!.subarray(this.position, this.position + take));
    this.position += take;
    return out.buffer;
  }

  write(...data: ArrayBuffer[]): number | undefined {
    const room = this.closed || this.failed ? 0 : Math.max(0, Socket.sendBufferBytes - this.inFlight);
    if (data.length === 0) return room;
    if (this.closed || this.failed) return undefined; // lwIP: xsTrace("write on closed socket")
    const needed = data.reduce((sum, item) => sum + item.byteLength, 0);
    if (needed > room) throw new Error("can't write all data");
    for (const item of data) {
      if (!(item instanceof ArrayBuffer)) throw new Error("this stand-in takes ArrayBuffers, as the adapter sends");
      const bytes = new Uint8Array(item.slice(0));
      this.written.push(bytes);
      this.inFlight += bytes.length;
      this.node.write(bytes, () => {
        this.inFlight -= bytes.length;
        this.emit(3, Math.max(0, Socket.sendBufferBytes - this.inFlight));
      });
    }
    return undefined;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.node.end();
    setTimeout(() => this.node.destroy(), 200).unref();
  }

  /** Hands over the next chunk once the current one has been read. */
  private deliver(): void {
    if (this.closed) return;
    if (this.current && this.position < this.current.length) return;
    const next = this.received.shift();
    if (next === undefined) {
      this.current = undefined;
      return;
    }
    this.current = next;
    this.position = 0;
    this.callback(2, next.length);
    setImmediate(() => this.deliver());
  }

  private emit(message: number, value?: number): void {
    setImmediate(() => {
      if (!this.closed) this.callback(message, value);
    });
  }
}

export const Listener = class {};

export default { Socket, Listener };
