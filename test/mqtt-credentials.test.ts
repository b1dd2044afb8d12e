import { strict as assert } from "node:assert";
import { createHmac } from "node:crypto";
import fc from "fast-check";
import { nodeCrypto } from "../hal/node/crypto";
import {
  DEFAULT_KEEP_ALIVE_SECONDS,
  FAR_FUTURE_EXPIRY,
  buildMqttCredentials,
  clampKeepAlive,
  defaultMqttUrl,
  randomConnid,
} from "../firmware/mqtt-credentials";
import { parseThingTopic, thingTopic, thingTopics } from "../firmware/topics";
import type { DeviceInfo } from "../firmware/device-info";
import { DeviceInfoError } from "../firmware/errors";

const PSK = "lDZ6Uqt+I9E0wW7rvDUs7Q==";
const DEVICE: DeviceInfo = { productId: "ABCDEF1234", deviceName: "sensor-01", authMode: "psk", deviceSecret: PSK };

describe("mqtt-credentials (docs/PROTOCOL.md §5)", () => {
  it("builds client id, username and an hmacsha256 password keyed by the decoded PSK", () => {
    const creds = buildMqttCredentials(nodeCrypto, DEVICE, { nowSeconds: 1_700_000_000, lifetimeSeconds: 3600, connid: "a1B2c" });
    assert.equal(creds.clientId, "ABCDEF1234sensor-01");
    assert.equal(creds.username, "ABCDEF1234sensor-01;21010406;a1B2c;1700003600");
    const expected = createHmac("sha256", Buffer.from(PSK, "base64")).update(creds.username).digest("hex");
    assert.equal(creds.password, `${expected};hmacsha256`);
    const keyedByText = createHmac("sha256", PSK).update(creds.username).digest("hex");
    assert.notEqual(creds.password, `${keyedByText};hmacsha256`, "the key is the decoded bytes, not the Base64 text");
    assert.equal(creds.url, "mqtts://ABCDEF1234.iotcloud.tencentdevices.com:8883");
    assert.equal(creds.keepAliveSeconds, DEFAULT_KEEP_ALIVE_SECONDS);
  });

  it("uses hmacsha1 on request", () => {
    const creds = buildMqttCredentials(nodeCrypto, DEVICE, { algorithm: "hmacsha1", connid: "zzzzz" });
    const expected = createHmac("sha1", Buffer.from(PSK, "base64")).update(creds.username).digest("hex");
    assert.equal(creds.password, `${expected};hmacsha1`);
    assert.equal(expected.length, 40);
  });

  it("with a known clock and no lifetime given, the username expires a day from now (docs/PROTOCOL.md §5), not at once", () => {
    const creds = buildMqttCredentials(nodeCrypto, DEVICE, { nowSeconds: 1_700_000_000.9, connid: "a1B2c" });
    assert.equal(creds.expiry, 1_700_000_000 + 86_400);
    assert.equal(creds.username, "ABCDEF1234sensor-01;21010406;a1B2c;1700086400");
  });

  it("uses a far-future expiry when the clock is unknown", () => {
    const creds = buildMqttCredentials(nodeCrypto, DEVICE);
    assert.equal(creds.expiry, FAR_FUTURE_EXPIRY);
    assert.match(creds.username, /^ABCDEF1234sensor-01;21010406;[A-Za-z0-9]{5};2147483647$/);
  });

  it("draws a 5-alphanumeric connid from the HAL's CSPRNG, redrawing biased bytes", () => {
    let calls = 0;
    const crypto = { randomBytes: (n: number) => { calls++; return calls === 1 ? new Uint8Array(n).fill(255) : Uint8Array.from({ length: n }, (_, i) => i); } };
    assert.equal(randomConnid(crypto), "ABCDE");
    assert.equal(calls, 2, "bytes >= 248 were rejected, not folded");
    fc.assert(fc.property(fc.uint8Array({ minLength: 10, maxLength: 10 }), (raw) => {
      let first = true;
      const connid = randomConnid({ randomBytes: (n) => (first ? ((first = false), raw) : new Uint8Array(n)) });
      assert.match(connid, /^[A-Za-z0-9]{5}$/);
    }));
    const a = buildMqttCredentials(nodeCrypto, DEVICE).connid;
    const b = buildMqttCredentials(nodeCrypto, DEVICE).connid;
    assert.match(a, /^[A-Za-z0-9]{5}$/);
    assert.ok(a !== b || buildMqttCredentials(nodeCrypto, DEVICE).connid !== a, "fresh connid per connect");
  });

  it("clamps keep-alive to at most 690 s", () => {
    assert.equal(clampKeepAlive(1000), 690);
    assert.equal(clampKeepAlive(690), 690);
    assert.equal(clampKeepAlive(60), 60);
    assert.equal(clampKeepAlive(0), DEFAULT_KEEP_ALIVE_SECONDS);
    assert.equal(clampKeepAlive(-5), DEFAULT_KEEP_ALIVE_SECONDS);
    assert.equal(clampKeepAlive(Number.NaN), DEFAULT_KEEP_ALIVE_SECONDS);
    assert.equal(clampKeepAlive(undefined), DEFAULT_KEEP_ALIVE_SECONDS);
    assert.equal(buildMqttCredentials(nodeCrypto, DEVICE, { keepAliveSeconds: 5000 }).keepAliveSeconds, 690);
  });

  it("takes a broker URL override", () => {
    assert.equal(defaultMqttUrl("P1"), "mqtts://P1.iotcloud.tencentdevices.com:8883");
    assert.equal(buildMqttCredentials(nodeCrypto, DEVICE, { mqttUrl: "mqtt://127.0.0.1:1883" }).url, "mqtt://127.0.0.1:1883");
  });

  it("refuses a device without a usable PSK, naming the field", () => {
    for (const deviceSecret of [undefined, "", "YOUR_IOT_PSK", "not base64!"]) {
      assert.throws(
        () => buildMqttCredentials(nodeCrypto, { ...DEVICE, deviceSecret }),
        (e: unknown) => e instanceof DeviceInfoError && e.field === "deviceSecret" && e.code === "invalid-device-info",
        String(deviceSecret),
      );
    }
    assert.throws(() => buildMqttCredentials(nodeCrypto, DEVICE, { connid: "abc" }), DeviceInfoError);
  });

  it("gives cert-mode devices the username with an empty password (TLS client auth)", () => {
    const creds = buildMqttCredentials(nodeCrypto, { productId: "P1", deviceName: "d", authMode: "cert", clientCert: "c", clientKey: "k" }, { connid: "AAAAA" });
    assert.equal(creds.password, "");
    assert.equal(creds.username, "P1d;21010406;AAAAA;2147483647");
  });
});

describe("topics (data template)", () => {
  it("names the six per-device topics", () => {
    assert.deepEqual(thingTopics("P1", "dev"), {
      propertyUp: "$thing/up/property/P1/dev",
      propertyDown: "$thing/down/property/P1/dev",
      eventUp: "$thing/up/event/P1/dev",
      eventDown: "$thing/down/event/P1/dev",
      actionUp: "$thing/up/action/P1/dev",
      actionDown: "$thing/down/action/P1/dev",
    });
  });

  it("parses its own topics back and nothing else", () => {
    assert.deepEqual(parseThingTopic(thingTopic("down", "action", "P1", "d-1")), { direction: "down", kind: "action", productId: "P1", deviceName: "d-1" });
    for (const bad of ["$thing/up/property/P1", "$thing/side/property/P1/d", "$thing/up/property/+/d", "$thing/up/property/P1/d/x", "thing/up/property/P1/d"]) {
      assert.equal(parseThingTopic(bad), undefined, bad);
    }
  });
});
