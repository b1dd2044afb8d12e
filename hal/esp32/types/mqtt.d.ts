/**
 * Moddable's legacy MQTT client (`import Client from "mqtt"`), QoS 0, documented in the Moddable
 * SDK's documentation/network/network.md; members marked "source" come from
 * modules/network/mqtt/mqtt.js. The SDK's typings declare only "mqtt/js".
 *
 * A module file (manifest.json maps "mqtt" to it, so mcconfig's tsconfig "paths" do too), not an ambient `declare module`:
 * the npm package "mqtt" (MQTT.js, used by the simulator) would otherwise win resolution.
 */
export interface MqttClientOptions {
  host: string;
  port?: number;
  id: string;
  user?: string;
  /** Documented as an ArrayBuffer. */
  password?: ArrayBuffer;
  /** Keep-alive interval in milliseconds; absent: no keep-alive. */
  timeout?: number;
  /** SecureSocket for TLS. */
  Socket?: unknown;
  secure?: Record<string, unknown>;
  will?: { topic: string; message: string | ArrayBuffer };
}

export default class Client {
  constructor(options: MqttClientOptions);
  onReady?: () => void;
  onMessage?: (topic: string, data: ArrayBuffer) => void;
  onClose?: () => void;
  /** `flags.quality` sets the PUBLISH QoS bits (source: mqtt.js). */
  publish(topic: string, data: string | ArrayBuffer, flags?: { quality?: 0 | 1; retain?: boolean }): void;
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  /** `immediate` skips sending DISCONNECT (source: mqtt.js). */
  close(immediate?: boolean): void;
  /**
   * Not in network.md: the source's single failure path. It receives the reason text (for a
   * refused CONNACK, "server rejected mqtt request with code <n>"), then calls onClose.
   */
  fail(message?: string): void;
}
