/**
 * A tiny XS program: firmware/encoding and tweetnacl secretbox, with randomness from the
 * bridge. The lane's smoke test compares its answers with Node's.
 */
import nacl from "tweetnacl";
import { base64Decode, base64Encode, hexEncode, utf8Decode, utf8Encode } from "../firmware/encoding";
import { FlashError, HalNetworkError, type HttpRequest } from "../firmware/contracts";
import { connectMqtt } from "../firmware/mqtt/client";
import { bridgeHal } from "./bridge-hal";
import { expose, installCommandHandler } from "./runtime";

nacl.setPRNG((out: Uint8Array, length: number) => out.set(bridgeHal.crypto.randomBytes(length)));

expose({
  base64: (texts: string[]) => texts.map((text) => base64Encode(utf8Encode(text))),
  base64Decode: (encoded: string[]) => encoded.map((text) => utf8Decode(base64Decode(text))),
  /** Seals with a host-provided key, opens it again, and opens a tampered copy. */
  secretbox: (message: Uint8Array) => {
    const key = bridgeHal.storageKey();
    const nonce = nacl.randomBytes(nacl.secretbox.nonceLength);
    const sealed = nacl.secretbox(message, nonce, key);
    const opened = nacl.secretbox.open(sealed, nonce, key);
    const tampered = sealed.slice();
    tampered[0] ^= 1;
    return { nonce, sealed, opened, tamperedOpens: nacl.secretbox.open(tampered, nonce, key) !== null };
  },
  /** A deterministic seal (fixed key and nonce) to compare byte for byte with Node. */
  secretboxFixed: (message: Uint8Array, nonce: Uint8Array, key: Uint8Array) => hexEncode(nacl.secretbox(message, nonce, key)),
  /** A HAL error thrown on Node arrives in XS as the same firmware/contracts class. */
  flashRoundTrip: (namespace: string, key: string, value: unknown) => {
    bridgeHal.flash.set(namespace, key, value as ArrayBuffer);
    const back = bridgeHal.flash.get(namespace, key);
    try {
      bridgeHal.flash.set(namespace, "a-key-name-longer-than-15", 1);
      return { back, error: null };
    } catch (error) {
      return { back, error: { isFlashError: error instanceof FlashError, code: (error as FlashError).code } };
    }
  },
  /** Two sleeps raced: the short one wins, so XS is not blocked while the host waits. */
  raceSleeps: (shortMs: number, longMs: number) =>
    Promise.race([bridgeHal.clock.sleep(longMs).then(() => "long"), bridgeHal.clock.sleep(shortMs).then(() => "short")]),
  http: async (request: HttpRequest) => {
    try {
      const response = await bridgeHal.http.request(request);
      return { status: response.status, contentType: response.headers["content-type"] ?? null, body: utf8Decode(response.body) };
    } catch (error) {
      return { error: { isHalNetworkError: error instanceof HalNetworkError, code: (error as HalNetworkError).code } };
    }
  },
  /** The core's MQTT engine in XS over the bridged socket: connects, subscribes, publishes to itself (QoS 1), receives it, closes. */
  mqttEcho: async (url: string, topic: string, text: string) => {
    let received!: (payload: string) => void;
    const message = new Promise<string>((resolve) => (received = resolve));
    let closed!: (why: string) => void;
    const closing = new Promise<string>((resolve) => (closed = resolve));
    const session = await connectMqtt(
      bridgeHal,
      { url, clientId: "xs-echo", username: "u", password: "p", keepAliveSeconds: 30, connectTimeoutMs: 5000 },
      { onMessage: (_topic, payload) => received(utf8Decode(payload)), onClose: (error) => closed(error === undefined ? "asked" : error.name) },
    );
    await session.subscribe(topic, 1);
    await session.publish(topic, utf8Encode(text), 1);
    const echoed = await message;
    await session.close();
    return { echoed, closed: await closing };
  },
  /** A runaway loop: xsnap's crank meter must stop it. */
  spin: () => {
    for (;;) {
      // never returns
    }
  },
  engine: () => ({ hasBuffer: typeof (globalThis as Record<string, unknown>).Buffer !== "undefined", hasProcess: typeof (globalThis as Record<string, unknown>).process !== "undefined" }),
});

installCommandHandler();
