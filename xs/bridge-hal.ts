/**
 * The Hal inside XS: a thin bridge to the Node side's hal/node. Flash, crypto, clock reads, the
 * storage key, socket writes and timers are synchronous round trips, as on the device; HTTP,
 * socket connects, sleep and SNTP sync are started on the host and settled later (see
 * protocol.ts). Only bytes and plain data cross: the MQTT engine (firmware/mqtt) and the sealing
 * of the record (tweetnacl) run in XS.
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
  SocketEndpoint,
  SocketHandlers,
  SocketTransport,
  TimerHandle,
} from "../firmware/contracts";
import { callHost, clearTimer, forgetSocket, registerSocket, setTimer, startHost } from "./runtime";

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

const socket: SocketTransport = {
  async connect(endpoint: SocketEndpoint, handlers: SocketHandlers, timeoutMs: number) {
    // The id is chosen here, and the handlers registered, before the host can deliver any byte.
    const id = registerSocket(handlers);
    try {
      await startHost("socket.connect", id, endpoint, timeoutMs);
    } catch (error) {
      forgetSocket(id);
      throw error;
    }
    return {
      write: (bytes: Bytes) => void callHost("socket.write", id, bytes),
      close: () => {
        if (forgetSocket(id)) callHost("socket.close", id);
      },
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
  setTimer: (ms: number, fire: () => void): TimerHandle => setTimer(ms, fire),
  clearTimer: (handle: TimerHandle) => clearTimer(handle as number),
};

const log: Logger = {
  log: (level: LogLevel, event, fields) => void callHost("log.log", level, event, fields ?? null),
};

export const bridgeHal: Hal = {
  flash,
  crypto,
  http,
  socket,
  clock,
  log,
  storageKey: () => callHost("storageKey") as Bytes,
};
