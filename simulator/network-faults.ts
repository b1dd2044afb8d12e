/**
 * Network fault injection for a simulated device: from `dropAfterMs` on, for `durationMs`, every
 * HTTP request and MQTT connect fails as if the Wi-Fi link were gone, and open MQTT sessions are
 * cut. The core sees only HalNetworkError, exactly as on a board that lost its access point.
 */
import { HalNetworkError, type Clock, type HttpClient, type MqttSession, type MqttTransport } from "../hal/types";

export interface NetworkDrop {
  dropAfterMs: number;
  durationMs: number;
}

export function withNetworkDrop(
  transports: { http: HttpClient; mqtt: MqttTransport },
  drop: NetworkDrop,
  clock: Clock,
): { http: HttpClient; mqtt: MqttTransport; cancel(): void } {
  const startedMs = clock.monotonicMs();
  const open = new Set<MqttSession>();
  const isDown = () => {
    const elapsed = clock.monotonicMs() - startedMs;
    return elapsed >= drop.dropAfterMs && elapsed < drop.dropAfterMs + drop.durationMs;
  };
  const cutTimer = setTimeout(() => {
    for (const session of open) void session.close();
  }, drop.dropAfterMs);
  return {
    cancel: () => clearTimeout(cutTimer),
    http: {
      request(request) {
        if (isDown()) return Promise.reject(new HalNetworkError("refused", "network down (injected fault)"));
        return transports.http.request(request);
      },
    },
    mqtt: {
      async connect(options, handlers) {
        if (isDown()) throw new HalNetworkError("refused", "network down (injected fault)");
        let session: MqttSession | undefined;
        session = await transports.mqtt.connect(options, {
          onMessage: handlers.onMessage,
          onClose(error) {
            if (session) open.delete(session);
            // A cut we injected looks to the core like a link drop, not a clean close.
            handlers.onClose(error ?? (isDown() ? new HalNetworkError("reset", "network down (injected fault)") : undefined));
          },
        });
        open.add(session);
        return session;
      },
    },
  };
}
