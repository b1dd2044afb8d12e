/**
 * MqttTransport on Moddable's `mqtt` Client (MQTT 3.1.1 over TCP, or TLS with SecureSocket for
 * mqtts:// on 8883).
 *
 * Where that client falls short of the contract, this adapter says so instead of pretending:
 * - It speaks QoS 0 and consumes SUBACK and PUBACK without reporting them, so subscribe()
 *   resolves once SUBSCRIBE is written (a refused subscription, 0x80, is not seen here) and a
 *   QoS 1 publish goes out with QoS 1 bits but resolves once written. The core's report waits
 *   for the platform's report_reply anyway, which is the acknowledgement that matters.
 * - It reports a refused CONNACK only through its failure path, with the return code in the
 *   reason text; the subclass below reads it from there, so a refusal becomes HalMqttError
 *   with the code, and a drop before CONNACK stays a HalNetworkError.
 */
import Client from "mqtt";
import Timer from "timer";
import {
  HalMqttError,
  HalNetworkError,
  type Bytes,
  type MqttConnectOptions,
  type MqttHandlers,
  type MqttSession,
  type MqttTransport,
} from "../types";
import { utf8Encode } from "../../firmware/encoding";
import { toArrayBuffer } from "./bytes";
import { tlsSettings } from "./tls";
import { parseMqttUrl } from "./url";

const REFUSED_CODE = /code (\d+)/;

/** Remembers why the client failed, which the stock client only traces. */
class ReportingClient extends Client {
  lastFailure: string | undefined;

  fail(message?: string): void {
    this.lastFailure = message;
    super.fail(message);
  }
}

class ModdableMqttSession implements MqttSession {
  readonly #client: ReportingClient;
  readonly #onClosed: () => void;

  constructor(client: ReportingClient, onClosed: () => void) {
    this.#client = client;
    this.#onClosed = onClosed;
  }

  subscribe(topic: string, _qos: 0 | 1): Promise<void> {
    return this.#write(() => this.#client.subscribe(topic), `subscribe ${topic}`);
  }

  publish(topic: string, payload: Bytes, qos: 0 | 1): Promise<void> {
    return this.#write(() => this.#client.publish(topic, toArrayBuffer(payload), { quality: qos }), `publish ${topic}`);
  }

  close(): Promise<void> {
    this.#onClosed();
    try {
      this.#client.close();
    } catch {
      // already closed by the peer: nothing left to release
    }
    return Promise.resolve();
  }

  #write(operation: () => void, what: string): Promise<void> {
    try {
      operation();
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(new HalNetworkError("reset", `${what} failed: ${error instanceof Error ? error.message : String(error)}`));
    }
  }
}

export class ModdableMqttTransport implements MqttTransport {
  readonly #caResource: string;

  constructor(caResource: string) {
    this.#caResource = caResource;
  }

  connect(options: MqttConnectOptions, handlers: MqttHandlers): Promise<MqttSession> {
    // Moddable's SecureSocket documents no client-certificate option, so TLS client
    // authentication (certificate products) is refused, as not authorized, rather than
    // attempted without the certificate. Fatal for the core: retrying cannot help.
    if (options.clientCertificate) {
      return Promise.reject(new HalMqttError(5, "certificate products need a TLS client certificate, which this ESP32 port cannot present yet: use a PSK (key) product"));
    }
    return new Promise<MqttSession>((resolve, reject) => {
      let state: "connecting" | "open" | "closed" = "connecting";
      let client: ReportingClient;
      let timer: ReturnType<typeof Timer.set> | undefined;
      try {
        if (!(options.connectTimeoutMs > 0)) throw new HalNetworkError("other", `connectTimeoutMs must be positive, not ${options.connectTimeoutMs}`);
        const endpoint = parseMqttUrl(options.url);
        client = new ReportingClient({
          host: endpoint.host,
          port: endpoint.port,
          id: options.clientId,
          user: options.username,
          password: toArrayBuffer(utf8Encode(options.password)),
          timeout: options.keepAliveSeconds * 1000,
          ...(endpoint.secure ? tlsSettings(this.#caResource) : {}),
        });
      } catch (error) {
        reject(error instanceof HalNetworkError ? error : new HalNetworkError("other", `MQTT connect not started: ${String(error)}`));
        return;
      }

      const session = new ModdableMqttSession(client, () => {
        if (state !== "open") return;
        state = "closed";
        handlers.onClose();
      });

      timer = Timer.set(() => {
        timer = undefined;
        if (state !== "connecting") return;
        state = "closed";
        try {
          client.close(true);
        } catch {
          // the socket may already be gone
        }
        reject(new HalNetworkError("timeout", `no CONNACK from ${endpoint(options.url)} within ${options.connectTimeoutMs} ms`));
      }, options.connectTimeoutMs);

      client.onReady = () => {
        if (state !== "connecting") return;
        state = "open";
        Timer.clear(timer);
        resolve(session);
      };
      client.onMessage = (topic, data) => {
        if (state === "open") handlers.onMessage(topic, new Uint8Array(data));
      };
      client.onClose = () => {
        const reason = client.lastFailure ?? "connection closed";
        if (state === "connecting") {
          state = "closed";
          Timer.clear(timer);
          const refused = REFUSED_CODE.exec(reason);
          reject(refused
            ? new HalMqttError(Number(refused[1]), `broker refused the connection: CONNACK return code ${refused[1]}`)
            : new HalNetworkError("reset", `MQTT connection ended before CONNACK: ${reason}`));
        } else if (state === "open") {
          state = "closed";
          handlers.onClose(new Error(`MQTT connection lost: ${reason}`));
        }
      };
    });
  }
}

/** host:port for messages, never the credentials. */
function endpoint(url: string): string {
  try {
    const parsed = parseMqttUrl(url);
    return `${parsed.host}:${parsed.port}`;
  } catch {
    return "(invalid URL)";
  }
}
