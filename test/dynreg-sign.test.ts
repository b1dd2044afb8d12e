import { strict as assert } from "node:assert";
import { createHash, createHmac } from "node:crypto";
import fc from "fast-check";
import { nodeCrypto } from "../hal/node/crypto";
import {
  buildLegacySignText,
  buildStringToSign,
  encodeLegacyRegisterBody,
  encodeRegisterBody,
  signLegacyRegister,
  signRegisterRequest,
  verifyRegisterSignature,
  type SignAlgorithm,
} from "../firmware/dynreg-sign";

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString("utf8");

describe("dynreg-sign: docs/PROTOCOL.md §10 hmacsha1 vector", () => {
  const body = encodeRegisterBody("PRODUCT_ID1", "DEVICENAME1");
  const signed = signRegisterRequest(nodeCrypto, {
    productSecret: "PRODUCT_SECRETKEY",
    host: "ap-guangzhou.gateway.tencentdevices.com",
    path: "/device/register",
    algorithm: "hmacsha1",
    timestamp: 1629362589,
    nonce: 333464802,
    body,
  });

  it("encodes the body to exactly the vector's bytes", () => {
    assert.equal(text(body), '{"ProductId":"PRODUCT_ID1","DeviceName":"DEVICENAME1"}');
  });

  it("hashes the body to the vector's SHA-1 hex", () => {
    assert.equal(signed.bodyHashHex, "88eef715f4c42652ef51b274f174f4f81a393f75");
  });

  it("produces the vector's X-TC-Signature", () => {
    assert.equal(signed.signature, "7u3+tAPlt8O4mPpBm3lambv23sw=");
    assert.equal(signed.headers["X-TC-Signature"], "7u3+tAPlt8O4mPpBm3lambv23sw=");
  });

  it("builds the eight-line StringToSign with an empty query line", () => {
    assert.equal(
      signed.stringToSign,
      "POST\nap-guangzhou.gateway.tencentdevices.com\n/device/register\n\nhmacsha1\n1629362589\n333464802\n88eef715f4c42652ef51b274f174f4f81a393f75",
    );
  });

  it("sends the §2 headers", () => {
    assert.deepEqual(signed.headers, {
      "Content-Type": "application/json; charset=utf-8",
      "X-TC-Algorithm": "hmacsha1",
      "X-TC-Timestamp": "1629362589",
      "X-TC-Nonce": "333464802",
      "X-TC-Signature": "7u3+tAPlt8O4mPpBm3lambv23sw=",
    });
  });
});

/** The platform's side, written only with node:crypto: an independent check of the core. */
function independentSignature(secret: string, host: string, path: string, alg: SignAlgorithm, ts: number, nonce: number, body: Uint8Array): string {
  const hash = alg === "hmacsha1" ? "sha1" : "sha256";
  const bodyHash = createHash(hash).update(body).digest("hex");
  const stringToSign = ["POST", host, path, "", alg, String(ts), String(nonce), bodyHash].join("\n");
  return createHmac(hash, Buffer.from(secret, "utf8")).update(stringToSign, "utf8").digest("base64");
}

describe("dynreg-sign: round trip", () => {
  it("hmacsha256 (the default) verifies with node:crypto", () => {
    const body = encodeRegisterBody("ABCDEF1234", "sensor-01");
    const input = { productSecret: "0123456789abcdefghijklmn", host: "127.0.0.1", path: "/device/register", algorithm: "hmacsha256" as const, timestamp: 1700000000, nonce: 42, body };
    const signed = signRegisterRequest(nodeCrypto, input);
    assert.equal(signed.signature, independentSignature(input.productSecret, "127.0.0.1", "/device/register", "hmacsha256", 1700000000, 42, body));
    assert.equal(signed.bodyHashHex, createHash("sha256").update(body).digest("hex"));
    assert.equal(signed.headers["X-TC-Algorithm"], "hmacsha256");
    assert.equal(verifyRegisterSignature(nodeCrypto, input, signed.signature), true);
  });

  it("verification fails for any changed field or signature", () => {
    const body = encodeRegisterBody("ABCDEF1234", "dev");
    const input = { productSecret: "0123456789abcdefghijklmn", host: "h.example", path: "/device/register", algorithm: "hmacsha256" as const, timestamp: 1, nonce: 2, body };
    const signature = signRegisterRequest(nodeCrypto, input).signature;
    assert.equal(verifyRegisterSignature(nodeCrypto, { ...input, productSecret: "0123456789abcdefghijklmX" }, signature), false);
    assert.equal(verifyRegisterSignature(nodeCrypto, { ...input, nonce: 3 }, signature), false);
    assert.equal(verifyRegisterSignature(nodeCrypto, { ...input, host: "h.example:8080" }, signature), false);
    assert.equal(verifyRegisterSignature(nodeCrypto, { ...input, algorithm: "hmacsha1" }, signature), false);
    assert.equal(verifyRegisterSignature(nodeCrypto, { ...input, body: encodeRegisterBody("ABCDEF1234", "dew") }, signature), false);
    assert.equal(verifyRegisterSignature(nodeCrypto, input, signature.slice(0, -2) + "A="), false);
    assert.equal(verifyRegisterSignature(nodeCrypto, input, ""), false);
  });

  it("matches node:crypto for any names, secrets, times and nonces (property)", () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 10 }),
        fc.string({ maxLength: 48 }),
        fc.string({ minLength: 16, maxLength: 32 }),
        fc.constantFrom<SignAlgorithm>("hmacsha1", "hmacsha256"),
        fc.nat(),
        fc.nat(),
        (pid, dn, secret, alg, ts, nonce) => {
          const body = encodeRegisterBody(pid, dn);
          assert.equal(text(body), JSON.stringify({ ProductId: pid, DeviceName: dn }));
          const signed = signRegisterRequest(nodeCrypto, { productSecret: secret, host: "gw.example", path: "/device/register", algorithm: alg, timestamp: ts, nonce, body });
          assert.equal(signed.signature, independentSignature(secret, "gw.example", "/device/register", alg, ts, nonce, body));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("buildStringToSign joins exactly eight fields", () => {
    const s = buildStringToSign({ method: "POST", host: "h", path: "/p", query: "", algorithm: "hmacsha256", timestamp: 5, nonce: 6, bodyHashHex: "ab" });
    assert.deepEqual(s.split("\n"), ["POST", "h", "/p", "", "hmacsha256", "5", "6", "ab"]);
  });
});

describe("dynreg-sign: legacy /register/dev (§4)", () => {
  const input = { productSecret: "PRODUCT_SECRETKEY", productId: "PRODUCT_ID1", deviceName: "DEVICENAME1", timestamp: 1629362589, nonce: 333464802 };

  it("signs Base64 of the hex text of HMAC-SHA1 over the sorted query text", () => {
    assert.equal(buildLegacySignText(input), "deviceName=DEVICENAME1&nonce=333464802&productId=PRODUCT_ID1&timestamp=1629362589");
    const hex = createHmac("sha1", "PRODUCT_SECRETKEY").update(buildLegacySignText(input)).digest("hex");
    const signature = signLegacyRegister(nodeCrypto, input);
    assert.equal(signature, Buffer.from(hex, "utf8").toString("base64"));
    assert.equal(Buffer.from(signature, "base64").toString("utf8"), hex);
    assert.equal(hex.length, 40);
  });

  it("encodes the body in the C SDK's key order with integer nonce and timestamp", () => {
    const body = text(encodeLegacyRegisterBody(input, "c2ln"));
    assert.equal(body, '{"deviceName":"DEVICENAME1","nonce":333464802,"productId":"PRODUCT_ID1","timestamp":1629362589,"signature":"c2ln"}');
  });
});
