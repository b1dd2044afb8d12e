/**
 * The engine-neutral parts of hal/esp32 inside XS (the XS lane, xsnap), compared with Node:
 * what the ESP32 build runs must not depend on Node. Also loads tweetnacl's unchanged
 * nacl-fast.js the way the Moddable build does (hal/esp32/tweetnacl/nacl.ts): with `self` pointed at the
 * global object and no CommonJS `module`.
 */
import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import nacl from "tweetnacl";
import { createNodeHal } from "../hal/node/index";
import { parseFirmwareConfig } from "../hal/esp32/config-parse";
import { parseHttpUrl, parseMqttUrl } from "../hal/esp32/url";
import { startXsLane, xsLaneUnavailableReason, type XsLane } from "../xs/host";

const ENTRY = fileURLToPath(new URL("./esp32-xs-entry.ts", import.meta.url));

describe("hal/esp32 on the XS engine", function () {
  let lane: XsLane;

  before(async function () {
    const reason = xsLaneUnavailableReason();
    if (reason !== undefined) {
      if (process.env.CI) throw new Error(`XS lane cannot run in CI: ${reason}`);
      console.warn(`\n  !!! XS LANE SKIPPED: ${reason}\n`);
      this.skip();
    }
    lane = await startXsLane({ hal: createNodeHal({ storageKey: new Uint8Array(randomBytes(32)) }), entry: ENTRY });
  });
  after(async () => lane?.close());

  it("runs where there is neither a CommonJS module nor a self for tweetnacl to attach to", async () => {
    assert.deepEqual(await lane.invoke("engine"), { hasSelf: false, hasModule: false });
  });

  it("resolves factory data as on Node: factory NVS first, then the MAC rule", async () => {
    assert.deepEqual(await lane.invoke("factory", "bench-07", "A4:D1:8C:DB:C0:20"), { deviceName: "bench-07", source: "factory" });
    assert.deepEqual(await lane.invoke("factory", null, "a4:d1:8c:db:c0:20"), { deviceName: "exs-A4D18CDBC020", source: "mac" });
  });

  it("splits URLs as on Node", async () => {
    const urls = ["https://ap-guangzhou.gateway.tencentdevices.com/device/register", "http://127.0.0.1:8080/r?x=1", "mqtts://PID.iotcloud.tencentdevices.com", "ftp://nope/"];
    const onNode = urls.map((url) => {
      try {
        return url.startsWith("mqtt") ? parseMqttUrl(url) : parseHttpUrl(url);
      } catch (error) {
        return { error: (error as Error).name };
      }
    });
    assert.deepEqual(await lane.invoke("urls", urls), onNode);
  });

  it("applies the NVS limits and parses config as on Node", async () => {
    assert.deepEqual(await lane.invoke("limits"), { longString: "FlashError:limit", multibyte: null, float: "FlashError:limit" });
    const raw = { ledPin: "4", ledActiveLow: "1", sntpServers: "a, b", deviceNameRule: "mac" };
    assert.deepEqual(await lane.invoke("config", raw), JSON.parse(JSON.stringify(parseFirmwareConfig(raw))));
  });

  it("creates the storage key once and reads the same key back", async () => {
    const { first, second } = (await lane.invoke("storageKeyTwice")) as { first: string; second: string };
    assert.match(first, /^[0-9a-f]{64}$/);
    assert.equal(second, first);
  });

  it("loads tweetnacl's unchanged nacl-fast.js onto self.nacl, with its PRNG from self.crypto.getRandomValues, and seals as Node's tweetnacl", async () => {
    const source = readFileSync(createRequire(import.meta.url).resolve("tweetnacl/nacl-fast.js"), "utf8");
    const message = new Uint8Array(randomBytes(100));
    const nonce = new Uint8Array(randomBytes(24));
    const key = new Uint8Array(randomBytes(32));
    const result = (await lane.invoke("naclScript", source, message, nonce, key)) as Record<string, unknown>;
    assert.equal(result.loaded, true);
    assert.equal(result.onGlobal, false, "attached to the self made for it, not to the global object");
    assert.equal(result.randomLength, 16);
    assert.ok(Number(result.drawnFromGetRandomValues) >= 16, "randomBytes drew from getRandomValues, with no setPRNG at run time");
    assert.equal(result.sealed, Buffer.from(nacl.secretbox(message, nonce, key)).toString("hex"));
  });
});
