import { strict as assert } from "node:assert";
import { createCipheriv } from "node:crypto";
import fc from "fast-check";
import { nodeCrypto } from "../hal/node/crypto";
import {
  LEGACY_PLATFORM_CODES,
  classifyLegacyCode,
  classifyPlatformCode,
  decryptRegisterPayload,
  parseRegisterCredentials,
  parseRegisterReply,
  stripPadding,
  type RegisterReply,
} from "../firmware/dynreg-response";
import { DynregError, PLATFORM_ERROR_CODES, isRetryableCode, type ErrorCode } from "../firmware/errors";
import type { AuthMode } from "../firmware/device-info";

const SECRET = "hzvf5LF9S0isvBhDSauWMaIk";
const VECTOR_PAYLOAD = "s6FB3a1BA/YYbcmSE12XpeDVmQNDcf1QgVD141RRbmmAnFwQfp1ECAu5O016mCOvYlJJ6V59yM4OqQSiWphfTg==";
const CERT = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----\n";

/** The platform's side of §3, written with node:crypto only. */
function encryptPayload(secret: string, plaintext: string | Uint8Array, padding: "zero" | "pkcs7"): string {
  const plain = typeof plaintext === "string" ? Buffer.from(plaintext, "utf8") : Buffer.from(plaintext);
  const cipher = createCipheriv("aes-128-cbc", Buffer.from(secret, "utf8").subarray(0, 16), Buffer.from("0000000000000000"));
  if (padding === "zero") {
    cipher.setAutoPadding(false);
    const padded = Buffer.alloc(Math.ceil(plain.length / 16) * 16 || 16);
    plain.copy(padded);
    return Buffer.concat([cipher.update(padded), cipher.final()]).toString("base64");
  }
  return Buffer.concat([cipher.update(plain), cipher.final()]).toString("base64");
}

const bytes = (value: unknown): Uint8Array => new Uint8Array(Buffer.from(typeof value === "string" ? value : JSON.stringify(value), "utf8"));

function expectDynreg(fn: () => unknown, code: ErrorCode, messagePart?: RegExp): DynregError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof DynregError, `expected DynregError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.retryable, isRetryableCode(code));
    if (messagePart) assert.match(error.message, messagePart);
    return error;
  }
  assert.fail(`expected DynregError ${code}`);
}

function decode(secret: string, payload: string, authMode: AuthMode, len?: number) {
  return parseRegisterCredentials(decryptRegisterPayload(nodeCrypto, secret, payload, len), authMode);
}

describe("dynreg-response: docs/PROTOCOL.md §10 payload vector", () => {
  it("decrypts to the PSK JSON; the 11 zero bytes of padding are stripped and Len 53 matches", () => {
    const raw = nodeCrypto.aes128CbcDecrypt(bytes(SECRET.slice(0, 16)), bytes("0000000000000000"), new Uint8Array(Buffer.from(VECTOR_PAYLOAD, "base64")));
    const json = '{"encryptionType":2,"psk":"lDZ6Uqt+I9E0wW7rvDUs7Q=="}';
    assert.equal(raw.length, 64);
    assert.deepEqual(Array.from(raw.slice(53)), new Array(11).fill(0));
    assert.equal(Buffer.from(raw.slice(0, 53)).toString("utf8"), json);
    assert.equal(decryptRegisterPayload(nodeCrypto, SECRET, VECTOR_PAYLOAD, 53), json);
    assert.deepEqual(decode(SECRET, VECTOR_PAYLOAD, "psk", 53), { encryptionType: 2, psk: "lDZ6Uqt+I9E0wW7rvDUs7Q==" });
  });

  it("rejects the vector when the announced Len differs", () => {
    expectDynreg(() => decryptRegisterPayload(nodeCrypto, SECRET, VECTOR_PAYLOAD, 54), "payload-undecryptable", /announced 54/);
  });
});

describe("dynreg-response: PSK and cert payloads", () => {
  const pskJson = JSON.stringify({ encryptionType: 2, psk: "AAECAwQFBgcICQoLDA0ODw==" });
  const certJson = JSON.stringify({ encryptionType: 1, clientCert: CERT, clientKey: KEY });

  for (const padding of ["zero", "pkcs7"] as const) {
    it(`decodes a PSK payload with ${padding} padding`, () => {
      const payload = encryptPayload(SECRET, pskJson, padding);
      assert.deepEqual(decode(SECRET, payload, "psk", pskJson.length), { encryptionType: 2, psk: "AAECAwQFBgcICQoLDA0ODw==" });
    });
    it(`decodes a cert payload with ${padding} padding`, () => {
      const payload = encryptPayload(SECRET, certJson, padding);
      assert.deepEqual(decode(SECRET, payload, "cert", Buffer.byteLength(certJson)), { encryptionType: 1, clientCert: CERT, clientKey: KEY });
    });
  }

  it("decodes a plaintext that fills whole blocks (no padding at all)", () => {
    const json = JSON.stringify({ encryptionType: 2, psk: "QUJDRA==", x: "" }).padEnd(64, " ");
    assert.equal(json.length % 16, 0);
    const payload = encryptPayload(SECRET, json, "zero");
    assert.equal(decode(SECRET, payload, "psk", 64).encryptionType, 2);
  });

  it("strips PKCS#7 and then trailing NULs, and nothing from a JSON tail", () => {
    assert.deepEqual(Array.from(stripPadding(Uint8Array.from([0x7d, 0, 0, 0]))), [0x7d]);
    assert.deepEqual(Array.from(stripPadding(Uint8Array.from([0x7d, 3, 3, 3]))), [0x7d]);
    assert.deepEqual(Array.from(stripPadding(Uint8Array.from([0x7d, 0, 2, 2]))), [0x7d]);
    assert.deepEqual(Array.from(stripPadding(Uint8Array.from([0x7d]))), [0x7d]);
    assert.deepEqual(Array.from(stripPadding(new Uint8Array(16).fill(16))), []);
    assert.deepEqual(Array.from(stripPadding(new Uint8Array(0))), []);
  });

  it("reports a wrong ProductSecret as payload-undecryptable", () => {
    const payload = encryptPayload(SECRET, pskJson, "zero");
    for (const wrong of ["hzvf5LF9S0isvBhXSauWMaIk", "0000000000000000", "PRODUCT_SECRETKEY"]) {
      expectDynreg(() => decode(wrong, payload, "psk", pskJson.length), "payload-undecryptable", /ProductSecret/);
      expectDynreg(() => decode(wrong, payload, "psk"), "payload-undecryptable");
    }
  });

  it("reports encryptionType not matching the auth mode, both ways", () => {
    const err = expectDynreg(() => decode(SECRET, encryptPayload(SECRET, certJson, "zero"), "psk"), "encryption-type-mismatch", /auth mode psk/);
    assert.equal(err.retryable, false);
    expectDynreg(() => decode(SECRET, encryptPayload(SECRET, pskJson, "zero"), "cert"), "encryption-type-mismatch", /encryptionType 2/);
  });

  const incomplete: Array<[string, unknown, AuthMode]> = [
    ["no psk", { encryptionType: 2 }, "psk"],
    ["empty psk", { encryptionType: 2, psk: "" }, "psk"],
    ["psk not Base64", { encryptionType: 2, psk: "not base64!" }, "psk"],
    ["psk not a string", { encryptionType: 2, psk: 12 }, "psk"],
    ["psk too long", { encryptionType: 2, psk: "A".repeat(68) }, "psk"],
    ["no clientKey", { encryptionType: 1, clientCert: CERT }, "cert"],
    ["clientCert not PEM", { encryptionType: 1, clientCert: "hello", clientKey: KEY }, "cert"],
    ["clientKey is a certificate", { encryptionType: 1, clientCert: CERT, clientKey: CERT }, "cert"],
    ["unknown encryptionType", { encryptionType: 3, psk: "QUJD" }, "psk"],
    ["no encryptionType", { psk: "QUJD" }, "psk"],
  ];
  for (const [name, body, mode] of incomplete) {
    it(`reports a decrypted payload with ${name} as malformed-response`, () => {
      expectDynreg(() => decode(SECRET, encryptPayload(SECRET, JSON.stringify(body), "pkcs7"), mode), "malformed-response");
    });
  }

  it("reports a decrypted non-object as payload-undecryptable", () => {
    expectDynreg(() => decode(SECRET, encryptPayload(SECRET, "[1,2]", "zero"), "psk"), "payload-undecryptable");
    expectDynreg(() => decode(SECRET, encryptPayload(SECRET, "{broken", "zero"), "psk"), "payload-undecryptable");
  });

  it("reports a payload that is not whole AES blocks or not Base64 as malformed-response", () => {
    expectDynreg(() => decryptRegisterPayload(nodeCrypto, SECRET, "AAAA"), "malformed-response");
    expectDynreg(() => decryptRegisterPayload(nodeCrypto, SECRET, "@@@@"), "malformed-response");
    expectDynreg(() => decryptRegisterPayload(nodeCrypto, SECRET, ""), "malformed-response");
  });

  it("refuses a ProductSecret shorter than the 16-byte AES key", () => {
    expectDynreg(() => decryptRegisterPayload(nodeCrypto, "short", VECTOR_PAYLOAD), "invalid-device-info", /16/);
  });
});

describe("dynreg-response: reply shapes", () => {
  it("parses the success shape", () => {
    const reply = parseRegisterReply(bytes({ Response: { Len: 53, Payload: VECTOR_PAYLOAD, RequestId: "r-1", State: 1 } }));
    assert.deepEqual(reply, { shape: "current", payload: VECTOR_PAYLOAD, len: 53, state: 1, requestId: "r-1" });
  });

  it("parses the legacy success shape", () => {
    const reply = parseRegisterReply(bytes({ code: 0, message: "", payload: VECTOR_PAYLOAD }));
    assert.deepEqual(reply, { shape: "legacy", payload: VECTOR_PAYLOAD, requestId: undefined });
  });

  for (const [platformCode, code] of Object.entries(PLATFORM_ERROR_CODES)) {
    it(`maps Response.Error ${platformCode} to ${code}, keeping the platform code`, () => {
      const body = bytes({ Response: { Error: { Code: platformCode, Message: "m" }, RequestId: "r" } });
      const err = expectDynreg(() => parseRegisterReply(body, { productId: "P1", deviceName: "d1", httpStatus: 200 }), code);
      assert.equal(err.platformCode, platformCode);
      assert.equal(err.httpStatus, 200);
      assert.match(err.message, new RegExp(platformCode.replace(/\./g, "\\.")));
    });
  }

  it("tells a person what to do for each fatal answer", () => {
    const message = (platformCode: string) =>
      expectDynreg(() => parseRegisterReply(bytes({ Response: { Error: { Code: platformCode, Message: "x" } } }), { productId: "P1", deviceName: "d1" }), PLATFORM_ERROR_CODES[platformCode]).message;
    assert.match(message("FailedOperation.DeviceAlreadyActivated"), /^device already activated: delete it in the console to register it again/);
    assert.match(message("UnauthorizedOperation.DynamicRegistrationDisabled"), /enable it in the console/);
    assert.match(message("ResourceNotFound.DeviceNotExist"), /P1\/d1.*create the device in the console or enable auto-create/);
    assert.match(message("AuthFailure.SignatureFailure"), /ProductSecret/);
    assert.match(message("ResourceNotFound.ProductNotExist"), /product P1/);
  });

  it("classifies unknown platform codes by family and keeps the code", () => {
    assert.equal(classifyPlatformCode("InternalError.DbError"), "server-error");
    assert.equal(classifyPlatformCode("ResourceUnavailable"), "server-error");
    assert.equal(classifyPlatformCode("RequestLimitExceeded.Device"), "rate-limited");
    assert.equal(classifyPlatformCode("AuthFailure.SignatureExpire"), "timestamp-rejected");
    assert.equal(classifyPlatformCode("AuthFailure.Other"), "signature-invalid");
    assert.equal(classifyPlatformCode("UnauthorizedOperation.Whatever"), "dynreg-disabled");
    assert.equal(classifyPlatformCode("ResourceNotFound.Thing"), "device-unknown");
    assert.equal(classifyPlatformCode("Totally.New"), "request-rejected");
    // Names that Object.prototype carries are codes like any other (found by the device-parser fuzz).
    for (const inherited of ["valueOf", "constructor", "toString", "__proto__", "hasOwnProperty"]) assert.equal(classifyPlatformCode(inherited), "request-rejected", inherited);
    const err = expectDynreg(() => parseRegisterReply(bytes({ Response: { Error: { Code: "Totally.New", Message: "new\u0000text" } } })), "request-rejected");
    assert.equal(err.platformCode, "Totally.New");
    assert.match(err.message, /"new\?text"/);
  });

  it("maps the legacy {code,message} failure shape, 1010 being a bad signature", () => {
    const err = expectDynreg(() => parseRegisterReply(bytes({ code: 1010, message: "Check signature failed", requestId: "x" })), "signature-invalid", /Check signature failed/);
    assert.equal(err.platformCode, "1010");
    const other = expectDynreg(() => parseRegisterReply(bytes({ code: 1999, message: "whatever" })), "request-rejected");
    assert.equal(other.platformCode, "1999");
    expectDynreg(() => parseRegisterReply(bytes({ code: 1023, message: "activated" })), "device-activated", /delete it in the console/);
    expectDynreg(() => parseRegisterReply(bytes({ code: 1008, message: "late" })), "timestamp-rejected");
    expectDynreg(() => parseRegisterReply(bytes({ code: 1050, message: "oops" })), "server-error");
  });

  it("knows every legacy code the mock platform sends, with the same meaning", async () => {
    const { LEGACY_ERROR_CODES } = await import("../simulator/platform/register-api");
    for (const [name, number] of Object.entries(LEGACY_ERROR_CODES)) {
      assert.equal(LEGACY_PLATFORM_CODES[number], name, `legacy ${number}`);
      assert.equal(classifyLegacyCode(number), PLATFORM_ERROR_CODES[name]);
    }
    for (const name of Object.values(LEGACY_PLATFORM_CODES)) assert.ok(name in PLATFORM_ERROR_CODES, name);
  });

  const malformed: Array<[string, Uint8Array]> = [
    ["an empty body", new Uint8Array(0)],
    ["HTML from a captive portal", bytes("<html><body>Login</body></html>")],
    ["invalid UTF-8", Uint8Array.from([0x7b, 0xff, 0x7d])],
    ["a JSON array", bytes([1, 2])],
    ["JSON null", bytes("null")],
    ["an object of neither shape", bytes({ hello: "world" })],
    ["Response not an object", bytes({ Response: "x" })],
    ["Response.Error without Code", bytes({ Response: { Error: { Message: "m" } } })],
    ["Response.Error with numeric Code", bytes({ Response: { Error: { Code: 5 } } })],
    ["no Payload", bytes({ Response: { Len: 3, State: 0 } })],
    ["Payload not Base64", bytes({ Response: { Payload: "***" } })],
    ["Payload not whole blocks", bytes({ Response: { Payload: "QUJD" } })],
    ["Payload far too long", bytes({ Response: { Payload: "A".repeat(9000) } })],
    ["State 2", bytes({ Response: { Payload: VECTOR_PAYLOAD, State: 2 } })],
    ["Len negative", bytes({ Response: { Payload: VECTOR_PAYLOAD, Len: -1 } })],
    ["Len a string", bytes({ Response: { Payload: VECTOR_PAYLOAD, Len: "53" } })],
    ["legacy code a string", bytes({ code: "0", payload: VECTOR_PAYLOAD })],
    ["legacy success without payload", bytes({ code: 0, message: "" })],
  ];
  for (const [name, body] of malformed) {
    it(`reports ${name} as malformed-response`, () => {
      expectDynreg(() => parseRegisterReply(body, { httpStatus: 200 }), "malformed-response");
    });
  }
});

describe("dynreg-response: property tests", () => {
  /** Either a well-formed reply or a DynregError; any other exception fails the property. */
  function replyOrTypedError(body: Uint8Array): RegisterReply | DynregError {
    try {
      return parseRegisterReply(body);
    } catch (error) {
      if (error instanceof DynregError) return error;
      throw error;
    }
  }

  function credentialsOrTypedError(payload: string, mode: AuthMode, len?: number) {
    try {
      const result = decode(SECRET, payload, mode, len);
      if (result.encryptionType === 2) assert.ok(result.psk.length > 0);
      else assert.ok(result.clientCert.length > 0 && result.clientKey.length > 0);
      return result;
    } catch (error) {
      if (error instanceof DynregError) return error;
      throw error;
    }
  }

  it("any body bytes give a reply or a DynregError", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (body) => void replyOrTypedError(body)), { numRuns: 1000 });
  });

  it("any JSON value, and any object under Response or Response.Error, gives a reply or a DynregError", () => {
    const json = fc.jsonValue({ maxDepth: 3 });
    const shaped = fc.oneof(
      json,
      fc.record({ Response: json }),
      fc.record({ Response: fc.record({ Error: json, RequestId: json }) }),
      fc.record({ Response: fc.record({ Payload: fc.oneof(json, fc.base64String()), Len: json, State: json }, { requiredKeys: [] }) }),
      fc.record({ code: json, message: json, payload: fc.oneof(json, fc.base64String()) }, { requiredKeys: [] }),
    );
    fc.assert(fc.property(shaped, (value) => void replyOrTypedError(bytes(value))), { numRuns: 1000 });
  });

  it("any payload bytes give credentials or a DynregError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 256 }), fc.constantFrom<AuthMode>("psk", "cert"), fc.option(fc.nat({ max: 300 }), { nil: undefined }), (raw, mode, len) => {
        void credentialsOrTypedError(Buffer.from(raw).toString("base64"), mode, len);
      }),
      { numRuns: 500 },
    );
  });

  it("any correctly encrypted plaintext gives credentials or a DynregError", () => {
    const plaintext = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString("latin1")),
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? ""),
      fc.record({ encryptionType: fc.oneof(fc.constantFrom(1, 2), fc.jsonValue()), psk: fc.oneof(fc.base64String(), fc.jsonValue()), clientCert: fc.string(), clientKey: fc.string() }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
    );
    fc.assert(
      fc.property(plaintext, fc.constantFrom<"zero" | "pkcs7">("zero", "pkcs7"), fc.constantFrom<AuthMode>("psk", "cert"), (text, padding, mode) => {
        void credentialsOrTypedError(encryptPayload(SECRET, text, padding), mode, Buffer.byteLength(text));
      }),
      { numRuns: 500 },
    );
  });
});
