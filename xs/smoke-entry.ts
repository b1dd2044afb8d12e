/**
 * A tiny XS program: firmware/encoding and tweetnacl secretbox, with randomness from the
 * bridge. The lane's smoke test compares its answers with Node's.
 */
import nacl from "tweetnacl";
import { base64Decode, base64Encode, hexEncode, utf8Decode, utf8Encode } from "../firmware/encoding";
import { FlashError } from "../hal/types";
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
  /** A HAL error thrown on Node arrives in XS as the same hal/types class. */
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
  engine: () => ({ hasBuffer: typeof (globalThis as Record<string, unknown>).Buffer !== "undefined", hasProcess: typeof (globalThis as Record<string, unknown>).process !== "undefined" }),
});

installCommandHandler();
