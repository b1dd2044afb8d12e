/**
 * The Hal inside XS: a thin bridge to the Node side's hal/node. Flash, crypto, clock reads and
 * the storage key are synchronous round trips, as on the device; HTTP, MQTT, sleep and SNTP
 * sync are started on the host and settled later (see protocol.ts). Only bytes and plain data
 * cross; the sealing of the record (tweetnacl) runs in XS with the key fetched from here.
 */
import type {
  Bytes,
  Clock,
  CryptoHal,
  FlashValue,
  Hal,
  HashAlgorithm,
  HttpClient,
  HttpRequest,
  HttpResponse,
  KeyValueFlash,
  Logger,
  LogLevel,
  MqttConnectOptions,
  MqttHandlers,
  MqttSession,
  MqttTransport,
} from "../hal/types";
import { callHost, registerSession, startHost } from "./runtime";

const flash: KeyValueFlash = {
  get: (namespace, key) => {
    const value = callHost("flash.get", namespace, key);
    return value === null ? undefined : (value as FlashValue);
  },
  set: (namespace, key, value) => void callHost("flash.set", namespace, key, value),
  delete: (namespace, key) => void callHost("flash.delete", namespace, key),
  keys: (namespace) => callHost("flash.keys", namespace) as string[],
};

const crypto: CryptoHal = {
  digest: (algorithm: HashAlgorithm, data: Bytes) => callHost("crypto.digest", algorithm, data) as Bytes,
  hmac: (algorithm: HashAlgorithm, key: Bytes, data: Bytes) => callHost("crypto.hmac", algorithm, key, data) as Bytes,
  aes128CbcEncrypt: (key, iv, data) => callHost("crypto.aes128CbcEncrypt", key, iv, data) as Bytes,
  aes128CbcDecrypt: (key, iv, data) => callHost("crypto.aes128CbcDecrypt", key, iv, data) as Bytes,
  randomBytes: (length) => callHost("crypto.randomBytes", length) as Bytes,
};

const http: HttpClient = {
  request: (request: HttpRequest) => startHost("http.request", request) as Promise<HttpResponse>,
};

const mqtt: MqttTransport = {
  async connect(options: MqttConnectOptions, handlers: MqttHandlers): Promise<MqttSession> {
    const session = (await startHost("mqtt.connect", options)) as number;
    registerSession(session, handlers);
    return {
      subscribe: async (topic, qos) => void (await startHost("mqtt.subscribe", session, topic, qos)),
      publish: async (topic, payload, qos) => void (await startHost("mqtt.publish", session, topic, payload, qos)),
      close: async () => void (await startHost("mqtt.close", session)),
    };
  },
};

const clock: Clock = {
  nowMs: () => callHost("clock.nowMs") as number,
  monotonicMs: () => callHost("clock.monotonicMs") as number,
  isSynchronized: () => callHost("clock.isSynchronized") as boolean,
  sync: () => startHost("clock.sync") as Promise<boolean>,
  correct: (referenceMs) => void callHost("clock.correct", referenceMs),
  sleep: async (ms) => void (await startHost("clock.sleep", ms)),
};

const log: Logger = {
  log: (level: LogLevel, event, fields) => void callHost("log.log", level, event, fields ?? null),
};

export const bridgeHal: Hal = {
  flash,
  crypto,
  http,
  mqtt,
  clock,
  log,
  storageKey: () => callHost("storageKey") as Bytes,
};
