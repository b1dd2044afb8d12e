/**
 * The small engine-neutral pieces every other part leans on: encodings (checked against Node's
 * own Buffer), the device-info rules of docs/PROTOCOL.md §1, backoff, HTTP dates and down messages.
 */
import { strict as assert } from "node:assert";
import fc from "fast-check";
import { base64Decode, base64Encode, constantTimeEqual, EncodingError, hexDecode, hexEncode, maskSecret, utf8Decode, utf8Encode } from "../firmware/encoding";
import { needsRegistration, validateDeviceInfo, type DeviceInfo } from "../firmware/device-info";
import { DeviceInfoError } from "../firmware/errors";
import { backoffDelayMs } from "../firmware/backoff";
import { parseHttpDate } from "../firmware/http-date";
import { encodeReport, parseDownMessage } from "../firmware/data-template";
import { parseTencentDeviceInfo, toTencentDeviceInfo } from "../simulator/device-info-file";

describe("encodings (against Node's Buffer)", () => {
  it("UTF-8 round-trips any string of well-formed code points exactly as Buffer encodes it", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (text) => {
        const bytes = utf8Encode(text);
        assert.deepEqual(Buffer.from(bytes), Buffer.from(text, "utf8"));
        assert.equal(utf8Decode(bytes), text);
      }),
    );
  });

  it("UTF-8 decoding rejects malformed bytes with EncodingError, never another error", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          const text = utf8Decode(bytes);
          assert.deepEqual(Buffer.from(text, "utf8"), Buffer.from(bytes), "a decoded text re-encodes to the same bytes");
        } catch (error) {
          assert.ok(error instanceof EncodingError, String(error));
        }
      }),
    );
    assert.throws(() => utf8Decode(Uint8Array.of(0xc0, 0x80)), EncodingError); // overlong NUL
    assert.throws(() => utf8Decode(Uint8Array.of(0xed, 0xa0, 0x80)), EncodingError); // surrogate
    assert.throws(() => utf8Decode(Uint8Array.of(0xe2, 0x82)), EncodingError); // truncated
  });

  it("Base64 and hex match Buffer for any bytes, and reject malformed text", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        assert.equal(base64Encode(bytes), Buffer.from(bytes).toString("base64"));
        assert.deepEqual(base64Decode(base64Encode(bytes)), bytes);
        assert.equal(hexEncode(bytes), Buffer.from(bytes).toString("hex"));
        assert.deepEqual(hexDecode(hexEncode(bytes)), bytes);
      }),
    );
    for (const bad of ["abc", "ab=c", "a===", "ab\ncd==", "****"]) assert.throws(() => base64Decode(bad), EncodingError, bad);
    for (const bad of ["abc", "zz"]) assert.throws(() => hexDecode(bad), EncodingError, bad);
  });

  it("constant-time comparison agrees with plain equality, lengths included", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 }), (a, b) => {
        assert.equal(constantTimeEqual(a, b), Buffer.from(a).equals(Buffer.from(b)));
      }),
    );
    assert.equal(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 0)), false);
  });

  it("masks all but the last 4 characters of a secret", () => {
    assert.equal(maskSecret("lDZ6Uqt+I9E0wW7rvDUs7Q=="), "********7Q==");
    assert.equal(maskSecret("abc"), "***");
    assert.equal(maskSecret(undefined), "(none)");
  });
});

describe("device info (docs/PROTOCOL.md §1)", () => {
  const base: DeviceInfo = { productId: "ABCDEFGHIJ", deviceName: "dev001", productSecret: "0123456789abcdefXYZ", authMode: "psk" };

  it("treats absent, empty and placeholder secrets as not provisioned", () => {
    assert.equal(needsRegistration(base), true);
    assert.equal(needsRegistration({ ...base, deviceSecret: "" }), true);
    assert.equal(needsRegistration({ ...base, deviceSecret: "YOUR_IOT_PSK" }), true);
    assert.equal(needsRegistration({ ...base, deviceSecret: "c2VjcmV0" }), false);
    const cert: DeviceInfo = { ...base, authMode: "cert" };
    assert.equal(needsRegistration({ ...cert, clientCert: "YOUR_DEVICE_CERT_FILE_NAME", clientKey: "k" }), true);
    assert.equal(needsRegistration({ ...cert, clientCert: "c", clientKey: "YOUR_DEVICE_PRIVATE_KEY_FILE_NAME" }), true);
    assert.equal(needsRegistration({ ...cert, clientCert: "c", clientKey: "k" }), false);
  });

  it("names the field and the limit in every validation error", () => {
    const cases: Array<[Partial<DeviceInfo>, string, RegExp]> = [
      [{ productId: "ABCDEFGHIJK" }, "productId", /11 characters; the limit is 10/],
      [{ deviceName: "d".repeat(49) }, "deviceName", /the limit is 48/],
      [{ productSecret: "short" }, "productSecret", /at least 16/],
      [{ productSecret: "p".repeat(33) }, "productSecret", /the limit is 32/],
      [{ deviceSecret: "s".repeat(65) }, "deviceSecret", /the limit is 64/],
      [{ productId: "" }, "productId", /required/],
      [{ authMode: "key" as never }, "authMode", /psk.*cert/],
      [{ productSecret: undefined }, "productSecret", /neither connect nor register/],
    ];
    for (const [change, field, message] of cases) {
      assert.throws(
        () => validateDeviceInfo({ ...base, ...change }),
        (error: unknown) => error instanceof DeviceInfoError && error.field === field && message.test(error.message),
        field,
      );
    }
    assert.doesNotThrow(() => validateDeviceInfo({ ...base, productSecret: undefined, deviceSecret: "c2VjcmV0" }));
  });

  it("reads Tencent's device_info.json and writes it back", () => {
    const text = JSON.stringify({ auth_mode: "KEY", productId: "ABCDEFGHIJ", productSecret: "0123456789abcdefXYZ", deviceName: "dev001", key_deviceinfo: { deviceSecret: "YOUR_IOT_PSK" }, region: "china" });
    const info = parseTencentDeviceInfo(text);
    assert.deepEqual(info, { productId: "ABCDEFGHIJ", productSecret: "0123456789abcdefXYZ", deviceName: "dev001", authMode: "psk", region: "china" });
    const registered = { ...info, deviceSecret: "c2VjcmV0UFNL" };
    assert.deepEqual(parseTencentDeviceInfo(JSON.stringify(toTencentDeviceInfo(registered))), registered);
    assert.throws(() => parseTencentDeviceInfo("{not json"), DeviceInfoError);
    assert.throws(() => parseTencentDeviceInfo(JSON.stringify({ auth_mode: "PSK", productId: "A", deviceName: "d" })), /auth_mode/);
  });
});

describe("backoff, HTTP dates and down messages", () => {
  it("full jitter stays within [0, min(cap, base * 2^attempt))", () => {
    const policy = { baseMs: 100, capMs: 5000 };
    assert.equal(backoffDelayMs(policy, 0, () => 0.999999), 99);
    assert.equal(backoffDelayMs(policy, 3, () => 0.5), 400);
    assert.equal(backoffDelayMs(policy, 40, () => 0.999999), 4999);
    assert.equal(backoffDelayMs(policy, 5, () => 0), 0);
  });

  it("parses IMF-fixdate exactly as Date does, and nothing else", () => {
    fc.assert(
      fc.property(fc.date({ min: new Date("1990-01-01"), max: new Date("2100-01-01"), noInvalidDate: true }), (date) => {
        const text = date.toUTCString();
        assert.equal(parseHttpDate(text), Math.floor(date.getTime() / 1000) * 1000);
      }),
    );
    for (const bad of [undefined, "", "yesterday", "Sun, 06 Nov 1994 08:49:37 PST", "Sun, 06 Foo 1994 08:49:37 GMT"]) assert.equal(parseHttpDate(bad), undefined);
  });

  it("classifies down messages and never throws on hostile payloads", () => {
    const bytes = (value: unknown) => new Uint8Array(Buffer.from(typeof value === "string" ? value : JSON.stringify(value)));
    assert.deepEqual(parseDownMessage(bytes({ method: "report_reply", clientToken: "t1", code: 0, status: "success" })), { kind: "report_reply", clientToken: "t1", code: 0, status: "success" });
    assert.deepEqual(parseDownMessage(bytes({ method: "control", clientToken: "t2", params: { a: 1 } })), { kind: "control", clientToken: "t2", params: { a: 1 } });
    assert.equal(parseDownMessage(bytes({ method: "control", clientToken: "t2", params: [1] })).kind, "invalid");
    assert.equal(parseDownMessage(bytes({ method: "get_status_reply" })).kind, "invalid", "a reply the device awaits needs its clientToken");
    assert.equal(parseDownMessage(bytes({ method: "ota_update" })).kind, "other");
    assert.equal(parseDownMessage(new Uint8Array(20_000)).kind, "invalid");
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (payload) => void parseDownMessage(payload)));
    fc.assert(fc.property(fc.jsonValue(), (value) => void parseDownMessage(bytes(JSON.stringify(value)))));
    const report = JSON.parse(Buffer.from(encodeReport("t3", 1700000000, { power: 1 })).toString());
    assert.deepEqual(report, { method: "report", clientToken: "t3", timestamp: 1700000000, params: { power: 1 } });
  });
});
