/**
 * The engine-neutral parts of hal/esp32 (no Moddable import), run on Node: NVS limits, URL
 * splitting, the storage key, configuration parsing, factory precedence, the first-boot seed
 * and the LED patterns. The Moddable-bound adapters (Preference, http, mqtt, crypt, sntp, wifi)
 * are only typechecked here (npm run typecheck:esp32); they have not run on a board.
 */
import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import { FlashError, HalNetworkError, type FlashValue, type KeyValueFlash } from "../hal/types";
import { checkNvsName, checkNvsValue } from "../hal/esp32/nvs-limits";
import { parseHttpUrl, parseMqttUrl } from "../hal/esp32/url";
import { loadOrCreateStorageKey, STORAGE_KEY_NAME, STORAGE_KEY_NAMESPACE } from "../hal/esp32/storage-key";
import { ConfigError, parseFirmwareConfig } from "../hal/esp32/config-parse";
import { deviceNameFromMac, FACTORY_NAMESPACE, resolveFactoryDeviceInfo } from "../hal/esp32/factory";
import { seedFactoryRecord, UnreadableRecordError, type DevInfoStore } from "../hal/esp32/record-seed";
import { blinkPatternFor } from "../hal/esp32/led";
import type { DeviceInfo } from "../firmware/device-info";

function memoryFlash(initial: Record<string, FlashValue> = {}): KeyValueFlash & { writes: number } {
  const store = new Map(Object.entries(initial));
  const flash = {
    writes: 0,
    get: (ns: string, key: string) => store.get(`${ns}/${key}`),
    set: (ns: string, key: string, value: FlashValue) => {
      flash.writes++;
      store.set(`${ns}/${key}`, value);
    },
    delete: (ns: string, key: string) => void store.delete(`${ns}/${key}`),
    keys: (ns: string) => [...store.keys()].filter((k) => k.startsWith(`${ns}/`)).map((k) => k.slice(ns.length + 1)),
  };
  return flash;
}

const isLimit = (error: unknown) => error instanceof FlashError && error.code === "limit";

describe("hal/esp32 engine-neutral parts", () => {
  describe("NVS limits", () => {
    it("accepts names of 1 to 15 printable characters and refuses others", () => {
      checkNvsName("key", "a".repeat(15));
      assert.throws(() => checkNvsName("key", "a".repeat(16)), isLimit);
      assert.throws(() => checkNvsName("namespace", ""), isLimit);
      assert.throws(() => checkNvsName("key", "has space"), isLimit);
      assert.throws(() => checkNvsName("key", "naïve"), isLimit);
    });

    it("counts the string terminator and refuses an embedded NUL", () => {
      checkNvsValue("ns", "k", "x".repeat(3999));
      assert.throws(() => checkNvsValue("ns", "k", "x".repeat(4000)), isLimit);
      assert.throws(() => checkNvsValue("ns", "k", "é".repeat(2000)), isLimit); // 4000 UTF-8 bytes + NUL
      assert.throws(() => checkNvsValue("ns", "k", "a\u0000b"), isLimit);
    });

    it("takes 32-bit integers and blobs up to 4000 bytes only", () => {
      checkNvsValue("ns", "k", -2147483648);
      checkNvsValue("ns", "k", new ArrayBuffer(4000));
      checkNvsValue("ns", "k", true);
      assert.throws(() => checkNvsValue("ns", "k", 2147483648), isLimit);
      assert.throws(() => checkNvsValue("ns", "k", 1.5), isLimit);
      assert.throws(() => checkNvsValue("ns", "k", new ArrayBuffer(4001)), isLimit);
      assert.throws(() => checkNvsValue("ns", "k", new Uint8Array(4) as unknown as ArrayBuffer), isLimit);
    });
  });

  describe("URLs", () => {
    it("splits http(s) and mqtt(s) URLs with default ports", () => {
      assert.deepEqual(parseHttpUrl("https://ap-guangzhou.gateway.tencentdevices.com/device/register"), {
        secure: true, host: "ap-guangzhou.gateway.tencentdevices.com", port: 443, path: "/device/register",
      });
      assert.deepEqual(parseHttpUrl("http://127.0.0.1:8080?x=1"), { secure: false, host: "127.0.0.1", port: 8080, path: "/?x=1" });
      assert.deepEqual(parseMqttUrl("mqtts://PID.iotcloud.tencentdevices.com"), { secure: true, host: "PID.iotcloud.tencentdevices.com", port: 8883, path: "" });
      assert.equal(parseMqttUrl("mqtt://[::1]:1884").host, "[::1]");
    });

    it("refuses what the adapters cannot honour, as HalNetworkError", () => {
      for (const bad of ["ftp://x/", "https://user:pw@host/", "https://:80/", "no-scheme", "https://h:70000/"]) {
        assert.throws(() => parseHttpUrl(bad), (e: unknown) => e instanceof HalNetworkError && e.code === "other", bad);
      }
      assert.throws(() => parseMqttUrl("https://h/"), HalNetworkError);
    });
  });

  describe("storage key", () => {
    it("is created once from the random source, then read back on every later boot", () => {
      const flash = memoryFlash();
      const first = loadOrCreateStorageKey(flash, (n) => new Uint8Array(randomBytes(n)));
      assert.equal(first.length, 32);
      assert.equal(flash.writes, 1);
      const again = loadOrCreateStorageKey(flash, () => assert.fail("no new key on a later boot"));
      assert.deepEqual(again, first);
      assert.equal(flash.writes, 1);
    });

    it("refuses to replace a stored value of the wrong shape", () => {
      const flash = memoryFlash({ [`${STORAGE_KEY_NAMESPACE}/${STORAGE_KEY_NAME}`]: new ArrayBuffer(16) });
      assert.throws(() => loadOrCreateStorageKey(flash, (n) => new Uint8Array(n)), (e: unknown) => e instanceof FlashError && e.code === "io");
      assert.equal(flash.writes, 0);
    });
  });

  describe("configuration", () => {
    it("parses mcconfig's string overrides", () => {
      const config = parseFirmwareConfig({ ledPin: "4", ledActiveLow: "true", sntpServers: "a.example, b.example", deviceNameRule: "mac", keepAliveSeconds: 240 });
      assert.equal(config.ledPin, 4);
      assert.equal(config.ledActiveLow, true);
      assert.deepEqual(config.sntpServers, ["a.example", "b.example"]);
      assert.equal(config.deviceNameRule, "mac");
      assert.equal(parseFirmwareConfig({ ledPin: "-1" }).ledPin, undefined);
      assert.equal(parseFirmwareConfig({}).registerCa, "digicert-global-root-ca.der");
      assert.equal(parseFirmwareConfig({}).mqttCa, "tencent-iot-root-ca.der");
      assert.equal(parseFirmwareConfig({ registerCa: "a.der", mqttCa: "b.der" }).registerCa, "a.der");
    });

    it("refuses a value that would silently do the wrong thing", () => {
      assert.throws(() => parseFirmwareConfig({ ledPin: "GPIO2" }), ConfigError);
      assert.throws(() => parseFirmwareConfig({ ledActiveLow: "yes" }), ConfigError);
      assert.throws(() => parseFirmwareConfig({ deviceNameRule: "serial" }), ConfigError);
      assert.throws(() => parseFirmwareConfig({ signAlgorithm: "md5" }), ConfigError);
      assert.throws(() => parseFirmwareConfig({ keepAliveSeconds: "900" }), /690/);
    });
  });

  describe("factory device info", () => {
    const config = { productId: "CONFIGPID1", productSecret: "config-secret-1234567890", deviceNamePrefix: "exs-" };

    it("derives DeviceName from the MAC only under the mac rule", () => {
      assert.equal(deviceNameFromMac("exs-", "a4:d1:8c:db:c0:20"), "exs-A4D18CDBC020");
      const derived = resolveFactoryDeviceInfo(memoryFlash(), { ...config, deviceNameRule: "mac" }, () => "A4:D1:8C:DB:C0:20");
      assert.equal(derived.info.deviceName, "exs-A4D18CDBC020");
      assert.equal(derived.sources.deviceName, "mac");
      assert.throws(() => resolveFactoryDeviceInfo(memoryFlash(), config, () => "A4:D1:8C:DB:C0:20"), /deviceName is required/);
      assert.throws(() => deviceNameFromMac("", "A4:D1:8C"), /cannot derive/);
    });

    it("lets factory NVS win over config, and config over the MAC rule", () => {
      const flash = memoryFlash({ [`${FACTORY_NAMESPACE}/deviceName`]: "bench-07" });
      const resolved = resolveFactoryDeviceInfo(flash, { ...config, deviceName: "from-config", deviceNameRule: "mac" }, () => assert.fail("MAC not needed"));
      assert.equal(resolved.info.deviceName, "bench-07");
      assert.equal(resolveFactoryDeviceInfo(memoryFlash(), { ...config, deviceName: "from-config", deviceNameRule: "mac" }, () => assert.fail("MAC not needed")).info.deviceName, "from-config");
    });

    it("yields a PSK device with no secret, so the core registers", () => {
      const { info } = resolveFactoryDeviceInfo(memoryFlash(), { ...config, deviceName: "d1" }, () => "");
      assert.equal(info.authMode, "psk");
      assert.equal(info.deviceSecret, undefined);
    });

    it("refuses a factory value of the wrong type", () => {
      const flash = memoryFlash({ [`${FACTORY_NAMESPACE}/productId`]: 12 });
      assert.throws(() => resolveFactoryDeviceInfo(flash, { ...config, deviceName: "d1" }, () => ""), /must be a string/);
    });
  });

  describe("first-boot seed", () => {
    const factory: DeviceInfo = { productId: "PID1", deviceName: "d1", productSecret: "0123456789abcdef", authMode: "psk" };
    function store(load: ReturnType<DevInfoStore["load"]>): DevInfoStore & { written: DeviceInfo[] } {
      const written: DeviceInfo[] = [];
      return { written, load: () => load, set: (info) => void written.push(info) };
    }

    it("seeds an empty store once and never overwrites a record", () => {
      const empty = store({ status: "empty" });
      assert.equal(seedFactoryRecord(empty, factory), "seeded");
      assert.deepEqual(empty.written, [factory]);
      const registered = store({ status: "ok", info: { ...factory, deviceSecret: "c2VjcmV0" } });
      assert.equal(seedFactoryRecord(registered, factory), "kept");
      assert.equal(seedFactoryRecord(store({ status: "ok", info: { ...factory, deviceName: "other" } }), factory), "kept-different");
      assert.deepEqual(registered.written, []);
    });

    it("does not paper over an unreadable record", () => {
      const broken = store({ status: "unreadable", reason: "slot A fails authentication" });
      assert.throws(() => seedFactoryRecord(broken, factory), UnreadableRecordError);
      assert.deepEqual(broken.written, []);
    });
  });

  describe("status LED", () => {
    it("gives each state a pattern and every failure the same unmistakable one", () => {
      assert.deepEqual(blinkPatternFor("online"), { onMs: 1, offMs: 0 });
      assert.deepEqual(blinkPatternFor("failed:device-activated"), blinkPatternFor("failed:storage"));
      assert.notDeepEqual(blinkPatternFor("registering"), blinkPatternFor("connecting"));
    });
  });
});
