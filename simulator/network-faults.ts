/**
 * Network fault injection for a simulated device: from `dropAfterMs` on, for `durationMs`, every
 * HTTP request and socket connect fails as if the Wi-Fi link were gone, and open sockets are cut.
 * The core sees only HalNetworkError, exactly as on a board that lost its access point.
 */
import { HalNetworkError, type ByteSocket, type Clock, type HttpClient, type SocketHandlers, type SocketTransport } from "../firmware/contracts";

export interface NetworkDrop {
  dropAfterMs: number;
  durationMs: number;
}

const linkDown = () => new HalNetworkError("reset", "network down (injected fault)");

export function withNetworkDrop(
  transports: { http: HttpClient; socket: SocketTransport },
  drop: NetworkDrop,
  clock: Clock,
): { http: HttpClient; socket: SocketTransport; cancel(): void } {
  const startedMs = clock.monotonicMs();
  const open = new Map<ByteSocket, SocketHandlers>();
  const isDown = () => {
    const elapsed = clock.monotonicMs() - startedMs;
    return elapsed >= drop.dropAfterMs && elapsed < drop.dropAfterMs + drop.durationMs;
  };
  const cutTimer = setTimeout(() => {
    // The link drops: each connection ends as a reset, as the core would see it on a board.
    for (const [socket, handlers] of [...open]) {
      open.delete(socket);
      socket.close();
      handlers.onClose(linkDown());
    }
  }, drop.dropAfterMs);
  return {
    cancel: () => clearTimeout(cutTimer),
    http: {
      request(request) {
        if (isDown()) return Promise.reject(new HalNetworkError("refused", "network down (injected fault)"));
        return transports.http.request(request);
      },
    },
    socket: {
      async connect(endpoint, handlers, timeoutMs) {
        if (isDown()) throw new HalNetworkError("refused", "network down (injected fault)");
        let socket: ByteSocket | undefined;
        socket = await transports.socket.connect(endpoint, {
          onData: (bytes) => handlers.onData(bytes),
          onClose(error) {
            if (socket) open.delete(socket);
            handlers.onClose(error);
          },
        }, timeoutMs);
        const inner = socket;
        const wrapped: ByteSocket = {
          write: (bytes) => inner.write(bytes),
          close() {
            open.delete(wrapped);
            inner.close();
          },
        };
        socket = wrapped;
        open.set(wrapped, handlers);
        return wrapped;
      },
    },
  };
}
