/**
 * Wraps a Hal so a runner can see what the device does at the HAL door (HTTP exchanges, flash
 * commits, MQTT sessions) without the core knowing. The demo's timeline and the fleet's
 * per-device counters come from here. Payloads are never recorded, only sizes.
 */
import type { Hal, HttpRequest, MqttConnectOptions, MqttHandlers, MqttSession } from "../hal/types";

export type HalTraceEvent =
  | { kind: "http.request"; method: string; url: string; bytes: number }
  | { kind: "http.response"; status: number; bytes: number; ms: number }
  | { kind: "http.error"; message: string; ms: number }
  | { kind: "flash.commit"; namespace: string; key: string }
  | { kind: "flash.delete"; namespace: string; key: string }
  | { kind: "mqtt.connack"; url: string; clientId: string; ms: number }
  | { kind: "mqtt.refused"; message: string; ms: number }
  | { kind: "mqtt.subscribe"; topic: string }
  | { kind: "mqtt.publish"; topic: string; bytes: number }
  | { kind: "mqtt.message"; topic: string; bytes: number }
  | { kind: "mqtt.closed"; reason: string };

export interface HalCounters {
  httpRequests: number;
  flashWrites: number;
  mqttConnects: number;
}

export interface InstrumentedHal {
  hal: Hal;
  counters: HalCounters;
}

export function instrumentHal(inner: Hal, onEvent: (event: HalTraceEvent) => void = () => undefined): InstrumentedHal {
  const counters: HalCounters = { httpRequests: 0, flashWrites: 0, mqttConnects: 0 };
  const clock = inner.clock;
  const hal: Hal = {
    ...inner,
    flash: {
      get: (namespace, key) => inner.flash.get(namespace, key),
      keys: (namespace) => inner.flash.keys(namespace),
      set(namespace, key, value) {
        counters.flashWrites++;
        inner.flash.set(namespace, key, value);
        onEvent({ kind: "flash.commit", namespace, key });
      },
      delete(namespace, key) {
        counters.flashWrites++;
        inner.flash.delete(namespace, key);
        onEvent({ kind: "flash.delete", namespace, key });
      },
    },
    http: {
      async request(request: HttpRequest) {
        counters.httpRequests++;
        const started = clock.monotonicMs();
        onEvent({ kind: "http.request", method: request.method, url: request.url, bytes: request.body?.length ?? 0 });
        try {
          const response = await inner.http.request(request);
          onEvent({ kind: "http.response", status: response.status, bytes: response.body.length, ms: clock.monotonicMs() - started });
          return response;
        } catch (error) {
          onEvent({ kind: "http.error", message: (error as Error).message, ms: clock.monotonicMs() - started });
          throw error;
        }
      },
    },
    mqtt: {
      async connect(options: MqttConnectOptions, handlers: MqttHandlers): Promise<MqttSession> {
        counters.mqttConnects++;
        const started = clock.monotonicMs();
        let session: MqttSession;
        try {
          session = await inner.mqtt.connect(options, {
            onMessage(topic, payload) {
              onEvent({ kind: "mqtt.message", topic, bytes: payload.length });
              handlers.onMessage(topic, payload);
            },
            onClose(error) {
              onEvent({ kind: "mqtt.closed", reason: error ? error.message : "closed" });
              handlers.onClose(error);
            },
          });
        } catch (error) {
          onEvent({ kind: "mqtt.refused", message: (error as Error).message, ms: clock.monotonicMs() - started });
          throw error;
        }
        onEvent({ kind: "mqtt.connack", url: options.url, clientId: options.clientId, ms: clock.monotonicMs() - started });
        return {
          subscribe(topic, qos) {
            onEvent({ kind: "mqtt.subscribe", topic });
            return session.subscribe(topic, qos);
          },
          publish(topic, payload, qos) {
            onEvent({ kind: "mqtt.publish", topic, bytes: payload.length });
            return session.publish(topic, payload, qos);
          },
          close: () => session.close(),
        };
      },
    },
  };
  return { hal, counters };
}
