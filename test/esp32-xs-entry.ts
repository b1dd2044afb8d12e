/**
 * XS-lane entry for test/esp32-xs.test.ts: the engine-neutral parts of hal/esp32 and the
 * tweetnacl loading trick of hal/esp32/tweetnacl/ (a `self` whose crypto.getRandomValues
 * tweetnacl takes its PRNG from while it loads), run inside Moddable's XS engine (xsnap), where
 * there is no Node, no `self` and no CommonJS `module`. (nacl-global.ts itself draws from the
 * native hardware RNG module, which only a Moddable image has: the Moddable lane runs it.)
 */
import type { FlashValue, KeyValueFlash } from "../firmware/contracts";
import { hexEncode } from "../firmware/encoding";
import { FACTORY_NAMESPACE, resolveFactoryDeviceInfo } from "../hal/esp32/factory";
import { parseHttpUrl, parseMqttUrl } from "../hal/esp32/url";
import { checkNvsValue } from "../hal/esp32/nvs-limits";
import { parseFirmwareConfig } from "../hal/esp32/config-parse";
import { loadStorageKey } from "../hal/esp32/storage-key";
import { bridgeHal } from "../xs/bridge-hal";
import { expose, installCommandHandler } from "../xs/runtime";

function memoryFlash(initial: Record<string, FlashValue>): KeyValueFlash {
  const store = new Map<string, FlashValue>(Object.entries(initial));
  return {
    get: (ns, key) => store.get(`${ns}/${key}`),
    set: (ns, key, value) => void store.set(`${ns}/${key}`, value),
    delete: (ns, key) => void store.delete(`${ns}/${key}`),
    keys: (ns) => [...store.keys()].filter((k) => k.startsWith(`${ns}/`)).map((k) => k.slice(ns.length + 1)),
  };
}

function errorName(run: () => unknown): string | null {
  try {
    run();
    return null;
  } catch (error) {
    return error instanceof Error ? `${error.name}:${(error as { code?: string }).code ?? ""}` : "non-error";
  }
}

expose({
  engine: () => ({ hasSelf: (globalThis as { self?: unknown }).self !== undefined, hasModule: typeof (globalThis as Record<string, unknown>).module !== "undefined" }),
  factory: (factoryName: string | null, mac: string) => {
    const flash = memoryFlash(factoryName === null ? {} : { [`${FACTORY_NAMESPACE}/deviceName`]: factoryName });
    const resolved = resolveFactoryDeviceInfo(flash, { productId: "PID0000001", productSecret: "0123456789abcdef", deviceNameRule: "mac", deviceNamePrefix: "exs-" }, () => mac);
    return { deviceName: resolved.info.deviceName, source: resolved.sources.deviceName };
  },
  urls: (urls: string[]) => urls.map((url) => {
    try {
      return url.startsWith("mqtt") ? parseMqttUrl(url) : parseHttpUrl(url);
    } catch (error) {
      return { error: (error as Error).name };
    }
  }),
  limits: () => ({
    longString: errorName(() => checkNvsValue("ns", "k", "x".repeat(4000))),
    multibyte: errorName(() => checkNvsValue("ns", "k", "é".repeat(1999))),
    float: errorName(() => checkNvsValue("ns", "k", 0.5)),
  }),
  config: (raw: Record<string, unknown>) => parseFirmwareConfig(raw),
  storageKeyTwice: () => {
    const flash = memoryFlash({});
    const first = loadStorageKey(flash, { randomBytes: (n) => bridgeHal.crypto.randomBytes(n), sealedRecordsExist: () => false });
    const second = loadStorageKey(flash, {
      randomBytes: () => {
        throw new Error("a second key was drawn");
      },
      sealedRecordsExist: () => true,
    });
    return { first: hexEncode(first), second: hexEncode(second) };
  },
  /**
   * Evaluates tweetnacl's unchanged nacl-fast.js as a script, as the Moddable build loads it
   * after nacl-global: with a `self` offering crypto.getRandomValues (here the bridged random
   * source) it must attach to self.nacl, take its PRNG while loading, and seal like Node's tweetnacl.
   */
  naclScript: (source: string, message: Uint8Array, nonce: Uint8Array, key: Uint8Array) => {
    let drawn = 0;
    const getRandomValues = (view: Uint8Array) => {
      drawn += view.length;
      view.set(bridgeHal.crypto.randomBytes(view.length));
      return view;
    };
    const self: { crypto: unknown; nacl?: any } = { crypto: { getRandomValues } };
    (globalThis as { self?: unknown }).self = self;
    (0, eval)(source);
    const nacl = self.nacl;
    if (!nacl || typeof nacl.secretbox !== "function") return { loaded: false };
    const random = nacl.randomBytes(16);
    return {
      loaded: true,
      onGlobal: (globalThis as { nacl?: unknown }).nacl !== undefined,
      randomLength: random.length,
      drawnFromGetRandomValues: drawn,
      sealed: hexEncode(nacl.secretbox(message, nonce, key)),
    };
  },

});

installCommandHandler();
