/**
 * `explorer-xs factory --csv`: the NVS CSV a factory feeds to ESP-IDF's nvs_partition_gen.py,
 * and the promise it carries: the DeviceName burnt in at the factory is the one the ESP32
 * firmware uses, over the manifest config. The round trip below reads the CSV back the way
 * nvs_partition_gen.py does (RFC 4180 rows: namespace rows, then data rows), loads it into a
 * flash, and asks hal/esp32/factory.ts for the device info.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Command } from "commander";
import type { FlashValue, KeyValueFlash } from "../firmware/contracts";
import { FACTORY_NAMESPACE, resolveFactoryDeviceInfo } from "../hal/esp32/factory";
import { loadStorageKey } from "../hal/esp32/storage-key";
import {
  FactoryInputError,
  deviceNamesFromCount,
  deviceNamesFromList,
  factoryCsv,
  register,
  runFactory,
} from "../simulator/commands/factory";

/** Minimal RFC 4180 reader (quoted fields, doubled quotes), as Python's csv module reads. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") { row.push(field); field = ""; }
    else if (ch === "\n") { row.push(field); rows.push(row); row = []; field = ""; }
    else field += ch;
  }
  if (field !== "" || row.length) { row.push(field); rows.push(row); }
  return rows;
}

/** What nvs_partition_gen.py would put in flash: namespace rows switch the namespace. */
function flashFromCsv(text: string): KeyValueFlash {
  const rows = parseCsv(text);
  assert.deepEqual(rows[0], ["key", "type", "encoding", "value"]);
  const store = new Map<string, FlashValue>();
  let namespace: string | undefined;
  for (const [key, type, encoding, value] of rows.slice(1)) {
    if (type === "namespace") {
      assert.equal(encoding, "");
      assert.equal(value, "");
      namespace = key;
      continue;
    }
    assert.equal(type, "data");
    assert.ok(encoding === "string" || encoding === "hex2bin", `encoding ${encoding}`);
    assert.ok(namespace, "a data row before any namespace row");
    store.set(`${namespace}/${key}`, encoding === "hex2bin" ? new Uint8Array(Buffer.from(value, "hex")).buffer : value);
  }
  return {
    get: (ns, key) => store.get(`${ns}/${key}`),
    set: () => assert.fail("resolving factory data must not write flash"),
    delete: () => assert.fail("resolving factory data must not write flash"),
    keys: (ns) => [...store.keys()].filter((k) => k.startsWith(`${ns}/`)).map((k) => k.slice(ns.length + 1)),
  };
}

const CONFIG = { productId: "CONFIGPID1", productSecret: "config-secret-1234567890", deviceName: "from-config", deviceNameRule: "config" as const };

describe("explorer-xs factory --csv", () => {
  describe("the CSV", () => {
    it("has the nvs_partition_gen.py header, the factory namespace row, then data rows", () => {
      const rows = parseCsv(factoryCsv({ deviceName: "dev001", productId: "ABCDEFGHIJ" }));
      assert.deepEqual(rows, [
        ["key", "type", "encoding", "value"],
        [FACTORY_NAMESPACE, "namespace", "", ""],
        ["deviceName", "data", "string", "dev001"],
        ["productId", "data", "string", "ABCDEFGHIJ"],
      ]);
    });

    it("carries a DeviceName that wins over the manifest config on the device", () => {
      const flash = flashFromCsv(factoryCsv({ deviceName: "line7-unit-0042" }));
      const resolved = resolveFactoryDeviceInfo(flash, CONFIG, () => assert.fail("no MAC needed"));
      assert.equal(resolved.info.deviceName, "line7-unit-0042");
      assert.equal(resolved.sources.deviceName, "factory");
      assert.equal(resolved.info.productId, "CONFIGPID1");
      assert.equal(resolved.sources.productId, "config");
    });

    it("carries ProductId and ProductSecret when given, and they win too", () => {
      const flash = flashFromCsv(factoryCsv({ deviceName: "d1", productId: "FACTORYPID", productSecret: "factory-secret-abcdefgh" }));
      const { info, sources } = resolveFactoryDeviceInfo(flash, CONFIG, () => "00:00:00:00:00:00");
      assert.deepEqual([info.productId, info.productSecret, sources.productSecret], ["FACTORYPID", "factory-secret-abcdefgh", "factory"]);
    });

    it("quotes a value the way Python's csv module reads it back", () => {
      // ProductSecret may hold any printable character; a comma or quote must survive.
      const secret = 'ab,cd"ef-0123456789';
      const rows = parseCsv(factoryCsv({ deviceName: "d1", productSecret: secret }));
      assert.equal(rows[3][3], secret);
    });

    it("refuses values the firmware would refuse, naming the device", () => {
      assert.throws(() => factoryCsv({ deviceName: "x".repeat(49) }), (e: Error) => e instanceof FactoryInputError && /"x{49}".*48/.test(e.message));
      assert.throws(() => factoryCsv({ deviceName: "has space" }), FactoryInputError);
      assert.throws(() => factoryCsv({ deviceName: "d1", productId: "TOO-LONG-PID" }), /productId/);
      assert.throws(() => factoryCsv({ deviceName: "d1", productSecret: "short" }), /at least 16/);
    });
  });

  describe("device names", () => {
    it("reads a list, skipping blanks and comments, refusing duplicates", () => {
      assert.deepEqual(deviceNamesFromList("# batch 7\ndev-a\n\n dev-b \r\n"), ["dev-a", "dev-b"]);
      assert.throws(() => deviceNamesFromList("a\nb\na\n"), /line 3: DeviceName a appears twice/);
      assert.throws(() => deviceNamesFromList("# nothing\n"), /no DeviceName/);
    });

    it("generates zero-padded names from a count", () => {
      assert.deepEqual(deviceNamesFromCount(3, "dev", 9), ["dev09", "dev10", "dev11"]);
      assert.throws(() => deviceNamesFromCount(0, "dev"), /--count/);
    });
  });

  describe("the command", () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "exs-factory-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("writes one CSV per device of a list into --out-dir", async () => {
      const list = path.join(dir, "devices.txt");
      fs.writeFileSync(list, "unit-1\nunit-2\n");
      const out = path.join(dir, "csv");
      const program = new Command().exitOverride();
      register(program);
      const written: string[] = [];
      const write = process.stdout.write;
      process.stdout.write = ((chunk: string) => (written.push(String(chunk)), true)) as typeof process.stdout.write;
      try {
        await program.parseAsync(["node", "x", "factory", "--csv", "--devices", list, "--product-id", "ABCDEFGHIJ", "--product-secret", "0123456789abcdef", "--out-dir", out]);
      } finally {
        process.stdout.write = write;
      }
      assert.deepEqual(fs.readdirSync(out).sort(), ["unit-1.csv", "unit-2.csv"]);
      const flash = flashFromCsv(fs.readFileSync(path.join(out, "unit-2.csv"), "utf8"));
      assert.equal(resolveFactoryDeviceInfo(flash, {}, () => "").info.deviceName, "unit-2");
      assert.ok(!written.join("").includes("0123456789abcdef"), "the secret is never printed");
    });

    it("--seal-key gives each device its own 32-byte storage key (hex2bin), which the firmware then uses and never writes", () => {
      const out = path.join(dir, "sealed");
      runFactory({ csv: true, count: "2", prefix: "key", sealKey: true, outDir: out });
      const keys = ["key1", "key2"].map((name) => {
        const text = fs.readFileSync(path.join(out, `${name}.csv`), "utf8");
        assert.match(text, /\nsealKey,data,hex2bin,[0-9a-f]{64}\n/);
        assert.equal((fs.statSync(path.join(out, `${name}.csv`)).mode & 0o777), 0o600);
        const flash = flashFromCsv(text);
        const key = loadStorageKey(flash, { randomBytes: () => assert.fail("no key is drawn"), sealedRecordsExist: () => false });
        assert.equal(Buffer.from(key).toString("hex"), /sealKey,data,hex2bin,([0-9a-f]{64})/.exec(text)![1]);
        return Buffer.from(key).toString("hex");
      });
      assert.notEqual(keys[0], keys[1]);
      assert.throws(() => runFactory({ csv: true, count: "1", sealKey: true }), /write to a file/);
    });

    it("prints a single device's CSV, but never one holding a secret", () => {
      const lines = runFactory({ csv: true, count: "1", prefix: "solo" });
      assert.match(lines[0], /^key,type,encoding,value\nfactory,namespace,,\ndeviceName,data,string,solo1$/);
      assert.throws(() => runFactory({ csv: true, count: "1", productSecret: "0123456789abcdef" }), /write to a file/);
    });

    it("refuses ambiguous or incomplete requests", () => {
      assert.throws(() => runFactory({ count: "1" }), /--csv/);
      assert.throws(() => runFactory({ csv: true }), /exactly one of --devices/);
      assert.throws(() => runFactory({ csv: true, count: "2" }), /--out-dir/);
      assert.throws(() => runFactory({ csv: true, count: "2", out: "a", outDir: "b" }), /not both/);
      assert.throws(() => runFactory({ csv: true, count: "x2" }), /whole number/);
    });
  });
});
