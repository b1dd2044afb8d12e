/**
 * The engine-neutral parts of hal/esp32 (no Moddable import), run on Node: NVS limits, URL
 * splitting, the storage key, configuration parsing, factory precedence, the first-boot seed
 * and the LED patterns. The Moddable-bound adapters (Preference, http, mqtt, crypt, sntp, wifi)
 * are only typechecked here (npm run typecheck:esp32); they have not run on a board.
 */
import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import { FlashError, HalNetworkError, type FlashValue, type KeyValueFlash } from "../firmware/contracts";
import { checkNvsName, checkNvsValue } from "../hal/esp32/nvs-limits";
import { parseHttpUrl, parseMqttUrl } from "../hal/esp32/url";
import { FACTORY_SEAL_KEY, loadStorageKey, STORAGE_KEY_NAMES, STORAGE_KEY_NAMESPACE, StorageKeyLostError } from "../hal/esp32/storage-key";
import { nodeCrypto } from "../hal/node/crypto";
import { loadDevInfo, RECORD_NAMESPACE, setDevInfo } from "../firmware/record-store";
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
    const random = (n: number) => new Uint8Array(randomBytes(n));
    const noRecord = { randomBytes: random, sealedRecordsExist: () => false };
    const keyAt = (name: string) => `${STORAGE_KEY_NAMESPACE}/${name}`;

    /** A device whose record store seals with loadStorageKey over `flash`, as hal/esp32/hal.ts wires it. */
    function deviceOn(flash: KeyValueFlash) {
      const source = { randomBytes: random, sealedRecordsExist: () => flash.keys(RECORD_NAMESPACE).length > 0 };
      return { flash, crypto: nodeCrypto, storageKey: () => loadStorageKey(flash, source) };
    }
    const info: DeviceInfo = { productId: "ABCDEFGHIJ", deviceName: "dev001", authMode: "psk", deviceSecret: "c2VjcmV0c2VjcmV0MTIzNA==" } as DeviceInfo;

    it("is drawn once from the random source and kept twice, then read back on every later boot", () => {
      const flash = memoryFlash();
      const first = loadStorageKey(flash, noRecord);
      assert.equal(first.length, 32);
      assert.equal(flash.writes, 2);
      for (const name of STORAGE_KEY_NAMES) assert.deepEqual(new Uint8Array(flash.get(STORAGE_KEY_NAMESPACE, name) as ArrayBuffer), first);
      const again = loadStorageKey(flash, { randomBytes: () => assert.fail("no new key on a later boot"), sealedRecordsExist: () => true });
      assert.deepEqual(again, first);
      assert.equal(flash.writes, 2);
    });

    it("prefers the factory key, which it never writes", () => {
      const factoryKey = random(32);
      const flash = memoryFlash({ [`${FACTORY_NAMESPACE}/${FACTORY_SEAL_KEY}`]: factoryKey.slice().buffer });
      assert.deepEqual(loadStorageKey(flash, noRecord), factoryKey);
      assert.equal(flash.writes, 0);
    });

    it("lost key: with one NVS entry gone the record still opens and the copy is restored; with both gone the boot stops, naming the loss, and writes nothing", () => {
      const flash = memoryFlash();
      setDevInfo(deviceOn(flash), info);
      const key = loadStorageKey(flash, noRecord);

      flash.delete(STORAGE_KEY_NAMESPACE, STORAGE_KEY_NAMES[0]); // one entry lost
      const load = loadDevInfo(deviceOn(flash));
      assert.equal(load.status, "ok");
      assert.deepEqual(new Uint8Array(flash.get(STORAGE_KEY_NAMESPACE, STORAGE_KEY_NAMES[0]) as ArrayBuffer), key, "the lost copy is written back");

      for (const name of STORAGE_KEY_NAMES) flash.delete(STORAGE_KEY_NAMESPACE, name); // both lost
      const writes = flash.writes;
      assert.throws(() => loadDevInfo(deviceOn(flash)), (e: unknown) => e instanceof StorageKeyLostError && /refusing to create a new one/.test(e.message));
      assert.equal(flash.writes, writes, "no new key was created");
      assert.equal(flash.get(STORAGE_KEY_NAMESPACE, STORAGE_KEY_NAMES[0]), undefined);
    });

    it("refuses to replace damaged copies, and copies that disagree", () => {
      const damaged = memoryFlash({ [keyAt(STORAGE_KEY_NAMES[0])]: new ArrayBuffer(16) });
      assert.throws(() => loadStorageKey(damaged, noRecord), StorageKeyLostError);
      assert.equal(damaged.writes, 0);
      const disagree = memoryFlash({ [keyAt(STORAGE_KEY_NAMES[0])]: random(32).buffer, [keyAt(STORAGE_KEY_NAMES[1])]: random(32).buffer });
      assert.throws(() => loadStorageKey(disagree, noRecord), (e: unknown) => e instanceof StorageKeyLostError && /differ/.test(e.message));
      const badFactory = memoryFlash({ [`${FACTORY_NAMESPACE}/${FACTORY_SEAL_KEY}`]: "not a key" });
      assert.throws(() => loadStorageKey(badFactory, noRecord), (e: unknown) => e instanceof FlashError && e.code === "io");
    });

    it("reads the single copy earlier firmware kept and adds the second", () => {
      const old = random(32);
      const flash = memoryFlash({ [keyAt("sealkey")]: old.slice().buffer });
      assert.deepEqual(loadStorageKey(flash, { randomBytes: random, sealedRecordsExist: () => true }), old);
      assert.deepEqual(new Uint8Array(flash.get(STORAGE_KEY_NAMESPACE, STORAGE_KEY_NAMES[1]) as ArrayBuffer), old);
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

    it("yields a certificate device for a certificate product (factory NVS or config authMode), so the registration's cert credentials are accepted", () => {
      assert.equal(resolveFactoryDeviceInfo(memoryFlash(), { ...config, deviceName: "d1", authMode: "cert" }, () => "").info.authMode, "cert");
      const flash = memoryFlash({ [`${FACTORY_NAMESPACE}/authMode`]: "cert" });
      assert.equal(resolveFactoryDeviceInfo(flash, { ...config, deviceName: "d1", authMode: "psk" }, () => "").info.authMode, "cert");
      assert.throws(() => resolveFactoryDeviceInfo(memoryFlash({ [`${FACTORY_NAMESPACE}/authMode`]: "rsa" }), { ...config, deviceName: "d1" }, () => ""), /authMode/);
      assert.equal(parseFirmwareConfig({ authMode: "cert" }).authMode, "cert");
      assert.throws(() => parseFirmwareConfig({ authMode: "key" }), ConfigError);
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
