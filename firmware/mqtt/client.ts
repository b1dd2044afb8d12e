/**
 * The core's MQTT client: opens a byte socket through the Hal and runs one MqttClientSession on
 * it. Every port (Node simulator, XS lane, ESP32) runs this same code; a port only supplies
 * `hal.socket` and the clock's timers.
 */
import { HalNetworkError, type Hal, type SocketEndpoint } from "../contracts";
import { utf8Encode } from "../encoding";
import { parseMqttUrl } from "../url";
import { encodeConnect } from "./serialize";
import {
  DEFAULT_ACK_TIMEOUT_MS, DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_PACKET_BYTES, MqttClientSession,
  type MqttHandlers, type MqttSession, type SessionLimits,
} from "./session";

export interface MqttConnectOptions {
  /** mqtt://host:port (TCP) or mqtts://host:port (TLS). */
  url: string;
  clientId: string;
  username: string;
  password: string;
  keepAliveSeconds: number;
  /** Bounds the TCP connect, the TLS handshake and the CONNACK together. */
  connectTimeoutMs: number;
  /**
   * PEM client certificate and key for TLS client authentication (certificate products);
   * needs mqtts://. PSK products leave it out and authenticate with the password.
   */
  clientCertificate?: { certPem: string; keyPem: string };
  /** Largest packet either way (default 64 KiB). */
  maxPacketBytes?: number;
  /** How long a SUBACK, PUBACK or PINGRESP may take (default 10 s). */
  ackTimeoutMs?: number;
  /** Unacknowledged SUBSCRIBE and QoS 1 PUBLISH at once (default 16). */
  maxInFlight?: number;
}

function invalid(message: string): HalNetworkError {
  return new HalNetworkError("other", message);
}

function sessionLimits(options: MqttConnectOptions): SessionLimits {
  const keepAliveSeconds = options.keepAliveSeconds;
  if (!(Number.isInteger(keepAliveSeconds) && keepAliveSeconds >= 0 && keepAliveSeconds <= 0xffff)) throw invalid("keepAliveSeconds must be an integer in 0..65535");
  if (!(options.connectTimeoutMs > 0)) throw invalid("connectTimeoutMs must be positive");
  const maxPacketBytes = options.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
  if (!(Number.isInteger(maxPacketBytes) && maxPacketBytes >= 64)) throw invalid("maxPacketBytes must be an integer of at least 64");
  const ackTimeoutMs = options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
  if (!(ackTimeoutMs > 0)) throw invalid("ackTimeoutMs must be positive");
  const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  if (!(Number.isInteger(maxInFlight) && maxInFlight >= 1 && maxInFlight <= 1024)) throw invalid("maxInFlight must be an integer in 1..1024");
  return { keepAliveSeconds, maxPacketBytes, ackTimeoutMs, maxInFlight };
}

/**
 * The socket endpoint of an mqtt:// or mqtts:// URL. Over mqtt:// a client certificate cannot be
 * presented, and is not: the broker decides, and refuses a certificate product there (CONNACK),
 * which the core reports as the fatal "mqtt-refused".
 */
export function mqttEndpoint(url: string, clientCertificate?: MqttConnectOptions["clientCertificate"]): SocketEndpoint {
  const parsed = parseMqttUrl(url);
  // The URL keeps an IPv6 literal's brackets; a socket wants it bare.
  const host = parsed.host.charAt(0) === "[" ? parsed.host.slice(1, -1) : parsed.host;
  if (!parsed.secure) return { host, port: parsed.port };
  return { host, port: parsed.port, tls: clientCertificate ? { clientCertificate } : {} };
}

/**
 * Connects and waits for CONNACK. Rejects with HalMqttError carrying the CONNACK return code when
 * refused, or with HalNetworkError when the connection fails, times out or the broker does not
 * speak MQTT (MqttProtocolError).
 */
export async function connectMqtt(hal: Pick<Hal, "socket" | "clock">, options: MqttConnectOptions, handlers: MqttHandlers): Promise<MqttSession> {
  const limits = sessionLimits(options);
  const endpoint = mqttEndpoint(options.url, options.clientCertificate);
  let connectPacket: Uint8Array;
  try {
    connectPacket = encodeConnect({ clientId: options.clientId, username: options.username, password: utf8Encode(options.password), keepAliveSeconds: limits.keepAliveSeconds });
  } catch (error) {
    throw invalid(`cannot build CONNECT: ${error instanceof Error ? error.message : String(error)}`);
  }
  const deadlineMs = hal.clock.monotonicMs() + options.connectTimeoutMs;
  const session = new MqttClientSession(hal.clock, limits, handlers);
  const socket = await hal.socket.connect(endpoint, session, options.connectTimeoutMs);
  return session.start(socket, connectPacket, deadlineMs);
}
