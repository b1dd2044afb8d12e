import { strict as assert } from "node:assert";
import { createCipheriv, createHmac, X509Certificate } from "node:crypto";
import { PLATFORM_ERROR_CODES } from "../firmware/errors";
import { startPlatform, type RunningPlatform } from "../simulator/platform/index";
import { LEGACY_ERROR_CODES } from "../simulator/platform/register-api";
import { computeSignature, verifySignature } from "../simulator/platform/signature";
import { decryptPayload, encryptPayload } from "../simulator/platform/payload";
import {
  CERT_PID, CERT_SECRET, PID, SECRET, decrypt, freshNonce, nowSeconds, post, registerDevice, signedHeaders, testConfig,
} from "./platform-helpers";
import { apiClient, apiTarget } from "./cloud-api-helpers";
import { describeStores } from "./lib/store-matrix";

function errorCode(answer: { json: any }): string | undefined {
  return answer.json?.Response?.Error?.Code;
}

describe("platform: docs/PROTOCOL.md §10 vectors on the platform side", () => {
  it("verifies Tencent's hmacsha1 request signature vector", () => {
    const fields = {
      host: "ap-guangzhou.gateway.tencentdevices.com", path: "/device/register", query: "", algorithm: "hmacsha1" as const,
      timestamp: "1629362589", nonce: "333464802", body: Buffer.from('{"ProductId":"PRODUCT_ID1","DeviceName":"DEVICENAME1"}'),
    };
    assert.equal(computeSignature("PRODUCT_SECRETKEY", fields), "7u3+tAPlt8O4mPpBm3lambv23sw=");
    assert.equal(verifySignature("PRODUCT_SECRETKEY", fields, "7u3+tAPlt8O4mPpBm3lambv23sw="), true);
    assert.equal(verifySignature("PRODUCT_SECRETKEY", fields, "7u3+tAPlt8O4mPpBm3lambv23sX="), false);
    assert.equal(verifySignature("PRODUCT_SECRETKEY", { ...fields, nonce: "333464803" }, "7u3+tAPlt8O4mPpBm3lambv23sw="), false);
  });

  it("encrypts Tencent's payload vector byte for byte, with zero padding", () => {
    const expected = "s6FB3a1BA/YYbcmSE12XpeDVmQNDcf1QgVD141RRbmmAnFwQfp1ECAu5O016mCOvYlJJ6V59yM4OqQSiWphfTg==";
    const plain = '{"encryptionType":2,"psk":"lDZ6Uqt+I9E0wW7rvDUs7Q=="}';
    assert.deepEqual(encryptPayload("hzvf5LF9S0isvBhDSauWMaIk", plain), { len: 53, payload: expected });
    assert.equal(decryptPayload("hzvf5LF9S0isvBhDSauWMaIk", expected), plain);
  });

  it("pads with zeros to the block size: a plaintext of a whole number of blocks gets no extra block (docs/PROTOCOL.md §3)", () => {
    const secret = "hzvf5LF9S0isvBhDSauWMaIk";
    const key = Buffer.from(secret).subarray(0, 16);
    const iv = Buffer.from("0".repeat(16));
    for (const length of [1, 15, 16, 17, 31, 32, 48, 53, 64]) {
      const plain = "p".repeat(length);
      const { len, payload } = encryptPayload(secret, plain);
      const bytes = Buffer.from(payload, "base64");
      assert.equal(len, length);
      assert.equal(bytes.length, Math.ceil(length / 16) * 16, `${length} B of plaintext`);
      // The same bytes as CBC over the zero-padded plaintext, computed here with PKCS#7 (whose extra block is cut off).
      const padded = Buffer.concat([Buffer.from(plain), Buffer.alloc(bytes.length - length)]);
      const reference = createCipheriv("aes-128-cbc", key, iv).update(padded);
      assert.deepEqual(bytes, reference.subarray(0, bytes.length), `${length} B of plaintext`);
      assert.equal(decryptPayload(secret, payload), plain);
    }
  });

  it("uses only codes of the shared PLATFORM_ERROR_CODES table, each with its own legacy number", () => {
    const codes = Object.keys(LEGACY_ERROR_CODES);
    assert.deepEqual([...codes].sort(), Object.keys(PLATFORM_ERROR_CODES).sort());
    assert.equal(new Set(Object.values(LEGACY_ERROR_CODES)).size, codes.length);
    assert.equal(LEGACY_ERROR_CODES["AuthFailure.SignatureFailure"], 1010);
  });
});

describeStores("platform: POST /device/register", function (store) {
  let platform: RunningPlatform;
  let clock = Date.now();

  beforeEach(async () => {
    clock = Date.now();
    platform = await startPlatform({ ...(await store.options()), config: testConfig(), now: () => clock, maxRegistrationsPerSecond: 50 });
  });
  afterEach(async () => platform.close());

  for (const algorithm of ["hmacsha256", "hmacsha1"] as const) {
    it(`issues a PSK for a pre-created device (${algorithm}), State 0, with a Date header`, async () => {
      const answer = await registerDevice(platform.httpUrl, { deviceName: "dev001", algorithm });
      assert.equal(answer.status, 200);
      assert.ok(answer.headers.date, "every answer carries the platform's Date");
      assert.equal(Math.floor(Date.parse(answer.headers.date!) / 1000), Math.floor(clock / 1000));
      const response = answer.json.Response;
      assert.equal(response.State, 0);
      assert.match(response.RequestId, /^[0-9a-f-]{36}$/);
      const plain = decrypt(SECRET, response.Payload);
      assert.equal(plain.encryptionType, 2);
      assert.equal(Buffer.from(plain.psk, "base64").length, 16);
      assert.equal(response.Len, JSON.stringify(plain).length);
      assert.equal((await platform.registry.getDevice(PID, "dev001"))?.state, "registered");
    });
  }

  it("re-registration before activation is idempotent: the same secret, State 1", async () => {
    const first = await registerDevice(platform.httpUrl, { deviceName: "dev001" });
    const second = await registerDevice(platform.httpUrl, { deviceName: "dev001", algorithm: "hmacsha1" });
    assert.equal(first.json.Response.State, 0);
    assert.equal(second.json.Response.State, 1);
    assert.equal(decrypt(SECRET, second.json.Response.Payload).psk, decrypt(SECRET, first.json.Response.Payload).psk);
  });

  it("refuses an activated device until the Cloud API deletes it; a re-created device registers with its new PSK", async () => {
    await registerDevice(platform.httpUrl, { deviceName: "dev002" });
    assert.equal(await platform.registry.markActivated(PID, "dev002"), true);
    const refused = await registerDevice(platform.httpUrl, { deviceName: "dev002" });
    assert.equal(refused.status, 200);
    assert.equal(errorCode(refused), "FailedOperation.DeviceAlreadyActivated");
    const api = apiClient({ ...apiTarget(platform) });
    await api.DeleteDevice({ ProductId: PID, DeviceName: "dev002" });
    const created = await api.CreateDevice({ ProductId: PID, DeviceName: "dev002" });
    const again = await registerDevice(platform.httpUrl, { deviceName: "dev002" });
    assert.equal(again.json.Response.State, 1, "CreateDevice issued the PSK before registration");
    assert.equal(decrypt(SECRET, again.json.Response.Payload).psk, created.Data?.DevicePsk);
  });

  it("signs over the Host header without its port", async () => {
    const answer = await registerDevice(platform.httpUrl, { deviceName: "dev003", hostHeader: "ap-guangzhou.gateway.tencentdevices.com:8080" });
    assert.equal(answer.json.Response.State, 0);
    // Signed for another host than the one the request names: refused.
    const body = JSON.stringify({ ProductId: PID, DeviceName: "dev003" });
    const headers = signedHeaders({ secret: SECRET, host: "other.example.com", body });
    const refused = await post(platform.httpUrl, "/device/register", body, { ...headers, Host: "ap-guangzhou.gateway.tencentdevices.com" });
    assert.equal(errorCode(refused), "AuthFailure.SignatureFailure");
  });

  it("refuses a wrong ProductSecret, a tampered body and a wrong path with SignatureFailure", async () => {
    assert.equal(errorCode(await registerDevice(platform.httpUrl, { deviceName: "dev001", secret: "wrongwrongwrongwrong" })), "AuthFailure.SignatureFailure");
    const body = JSON.stringify({ ProductId: PID, DeviceName: "dev001" });
    const headers = signedHeaders({ secret: SECRET, host: "127.0.0.1", body });
    const tampered = await post(platform.httpUrl, "/device/register", body.replace("dev001", "dev002"), { ...headers, Host: "127.0.0.1" });
    assert.equal(errorCode(tampered), "AuthFailure.SignatureFailure");
    const wrongPath = signedHeaders({ secret: SECRET, host: "127.0.0.1", body, path: "/register" });
    assert.equal(errorCode(await post(platform.httpUrl, "/device/register", body, { ...wrongPath, Host: "127.0.0.1" })), "AuthFailure.SignatureFailure");
    assert.equal((await platform.registry.getDevice(PID, "dev001"))?.state, "created");
  });

  it("refuses stale and future timestamps beyond the window, accepts them inside it", async () => {
    const now = Math.floor(clock / 1000);
    assert.equal(errorCode(await registerDevice(platform.httpUrl, { deviceName: "dev001", timestamp: now - 301 })), "AuthFailure.TimestampExpired");
    assert.equal(errorCode(await registerDevice(platform.httpUrl, { deviceName: "dev001", timestamp: now + 301 })), "AuthFailure.TimestampExpired");
    assert.equal((await registerDevice(platform.httpUrl, { deviceName: "dev001", timestamp: now - 299 })).json.Response.State, 0);
    assert.equal((await registerDevice(platform.httpUrl, { deviceName: "dev001", timestamp: now + 299 })).json.Response.State, 1);
  });

  it("accepts a timestamp exactly 300 s off either way and refuses one a second further, on the platform's clock to the millisecond", async () => {
    // The window is inclusive (|now - timestamp| > 300 is refused); the clock's milliseconds do not count.
    clock = Math.floor(clock / 1000) * 1000 + 999;
    const now = Math.floor(clock / 1000);
    assert.equal((await registerDevice(platform.httpUrl, { deviceName: "dev001", timestamp: now - 300 })).json.Response.State, 0);
    assert.equal((await registerDevice(platform.httpUrl, { deviceName: "dev001", timestamp: now + 300 })).json.Response.State, 1);
    assert.equal(errorCode(await registerDevice(platform.httpUrl, { deviceName: "dev001", timestamp: now - 301 })), "AuthFailure.TimestampExpired");
    assert.equal(errorCode(await registerDevice(platform.httpUrl, { deviceName: "dev001", timestamp: now + 301 })), "AuthFailure.TimestampExpired");
  });

  it("honours a configured timestamp window", async () => {
    const narrow = await startPlatform({ ...(await store.options()), config: testConfig(), timestampWindowSeconds: 10 });
    try {
      assert.equal(errorCode(await registerDevice(narrow.httpUrl, { deviceName: "dev001", timestamp: nowSeconds() - 30 })), "AuthFailure.TimestampExpired");
      assert.equal((await registerDevice(narrow.httpUrl, { deviceName: "dev001", timestamp: nowSeconds() - 5 })).json.Response.State, 0);
    } finally {
      await narrow.close();
    }
  });

  it("refuses a replayed nonce within the window, and accepts it again once expired", async () => {
    const nonce = freshNonce();
    const timestamp = Math.floor(clock / 1000);
    const body = JSON.stringify({ ProductId: PID, DeviceName: "dev004" });
    const headers = { ...signedHeaders({ secret: SECRET, host: "127.0.0.1", body, nonce, timestamp }), Host: "127.0.0.1" };
    assert.equal((await post(platform.httpUrl, "/device/register", body, headers)).json.Response.State, 0);
    assert.equal(errorCode(await post(platform.httpUrl, "/device/register", body, headers)), "AuthFailure.NonceReplayed");
    // A refused signature does not consume a nonce.
    const otherNonce = freshNonce();
    const bad = { ...signedHeaders({ secret: "wrongwrongwrongwrong", host: "127.0.0.1", body, nonce: otherNonce, timestamp }), Host: "127.0.0.1" };
    assert.equal(errorCode(await post(platform.httpUrl, "/device/register", body, bad)), "AuthFailure.SignatureFailure");
    const good = { ...signedHeaders({ secret: SECRET, host: "127.0.0.1", body, nonce: otherNonce, timestamp }), Host: "127.0.0.1" };
    assert.equal((await post(platform.httpUrl, "/device/register", body, good)).json.Response.State, 1);
    // Past the window, the old request is refused for its timestamp, and the nonce may be reused.
    clock += 400_000;
    assert.equal(errorCode(await post(platform.httpUrl, "/device/register", body, headers)), "AuthFailure.TimestampExpired");
    const reused = { ...signedHeaders({ secret: SECRET, host: "127.0.0.1", body, nonce, timestamp: Math.floor(clock / 1000) }), Host: "127.0.0.1" };
    assert.equal((await post(platform.httpUrl, "/device/register", body, reused)).json.Response.State, 1);
  });

  it("remembers a nonce for the whole timestamp window while the platform's clock moves (past, present and future timestamps)", async () => {
    const window = 300;
    const body = JSON.stringify({ ProductId: PID, DeviceName: "dev004" });
    const start = Math.floor(clock / 1000);
    // A request stamped at the window's past edge, one stamped now, one at its future edge.
    for (const [offset, label] of [[-(window - 1), "past"], [0, "now"], [window - 1, "future"]] as const) {
      clock = start * 1000 + 500;
      const timestamp = start + offset;
      const headers = { ...signedHeaders({ secret: SECRET, host: "127.0.0.1", body, nonce: freshNonce(), timestamp }), Host: "127.0.0.1" };
      assert.ok([0, 1].includes((await post(platform.httpUrl, "/device/register", body, headers)).json.Response.State), label);
      // Replays while the timestamp stays acceptable, the last one a second before the window closes
      // on it; other requests in between move the clock past the platform's 30 s nonce pruning.
      const ats = [start, start + 31, start + 200, timestamp + window - 1].filter((t) => t >= start && t <= timestamp + window - 1);
      for (const at of new Set(ats)) {
        clock = at * 1000;
        const other = { ...signedHeaders({ secret: SECRET, host: "127.0.0.1", body, nonce: freshNonce(), timestamp: at }), Host: "127.0.0.1" };
        assert.equal((await post(platform.httpUrl, "/device/register", body, other)).json.Response.State, 1, `${label}: fresh nonce at ${at}`);
        assert.equal(errorCode(await post(platform.httpUrl, "/device/register", body, headers)), "AuthFailure.NonceReplayed", `${label}: replay at ${at - timestamp} s`);
      }
    }
  });

  it("refuses an unknown product, disabled dynamic registration and an unknown device", async () => {
    assert.equal(errorCode(await registerDevice(platform.httpUrl, { productId: "NOSUCHPROD", deviceName: "dev001" })), "ResourceNotFound.ProductNotExist");
    assert.equal(errorCode(await registerDevice(platform.httpUrl, { productId: "DISABLED01", secret: "ZGlzYWJsZWRTZWNyZXQwMQ", deviceName: "dev001" })), "UnauthorizedOperation.DynamicRegistrationDisabled");
    assert.equal(errorCode(await registerDevice(platform.httpUrl, { deviceName: "unknown99" })), "ResourceNotFound.DeviceNotExist");
    assert.equal(await platform.registry.getDevice(PID, "unknown99"), undefined);
  });

  it("auto-creates unknown names only when the product allows it, and only for a good signature", async () => {
    const secret = "YXV0b0NyZWF0ZVNlY3JldA";
    assert.equal(errorCode(await registerDevice(platform.httpUrl, { productId: "AUTOCREATE", secret: "wrongwrongwrongwrong", deviceName: "new001" })), "AuthFailure.SignatureFailure");
    assert.equal(await platform.registry.getDevice("AUTOCREATE", "new001"), undefined);
    const answer = await registerDevice(platform.httpUrl, { productId: "AUTOCREATE", secret, deviceName: "new001" });
    assert.equal(answer.json.Response.State, 0);
    assert.equal((await platform.registry.getDevice("AUTOCREATE", "new001"))?.autoCreated, true);
  });

  it("follows the registration type set through the Cloud API", async () => {
    const api = apiClient(apiTarget(platform));
    await api.ModifyProductDynamicRegister({ ProductId: PID, RegisterType: 0, RegisterLimit: 0 });
    assert.equal(errorCode(await registerDevice(platform.httpUrl, { deviceName: "dev001" })), "UnauthorizedOperation.DynamicRegistrationDisabled");
    await api.ModifyProductDynamicRegister({ ProductId: PID, RegisterType: 2, RegisterLimit: 0 });
    assert.equal((await registerDevice(platform.httpUrl, { deviceName: "brandnew" })).json.Response.State, 0);
  });

  it("refuses a wrong content type, malformed JSON and non-object JSON", async () => {
    const body = JSON.stringify({ ProductId: PID, DeviceName: "dev001" });
    const headers = { ...signedHeaders({ secret: SECRET, host: "127.0.0.1", body }), Host: "127.0.0.1" };
    assert.equal(errorCode(await post(platform.httpUrl, "/device/register", body, { ...headers, "Content-Type": "text/plain" })), "InvalidParameter.ContentType");
    assert.equal(errorCode(await post(platform.httpUrl, "/device/register", body, { ...headers, "Content-Type": "application/x-www-form-urlencoded" })), "InvalidParameter.ContentType");
    assert.equal(errorCode(await post(platform.httpUrl, "/device/register", "{not json", headers)), "InvalidParameter.MalformedJson");
    assert.equal(errorCode(await post(platform.httpUrl, "/device/register", "[1,2]", headers)), "InvalidParameter.MalformedJson");
    assert.equal(errorCode(await post(platform.httpUrl, "/device/register", Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), headers)), "InvalidParameter.MalformedJson");
  });

  it("refuses a body over the cap before reading it, then keeps serving", async () => {
    const huge = JSON.stringify({ ProductId: PID, DeviceName: "dev001", pad: "x".repeat(8000) });
    const headers = { ...signedHeaders({ secret: SECRET, host: "127.0.0.1", body: huge }), Host: "127.0.0.1" };
    const answer = await post(platform.httpUrl, "/device/register", huge, headers);
    assert.equal(answer.status, 200);
    assert.equal(errorCode(answer), "InvalidParameter.BodyTooLarge");
    assert.equal((await registerDevice(platform.httpUrl, { deviceName: "dev001" })).json.Response.State, 0);
  });

  it("checks ProductId and DeviceName limits and types", async () => {
    const cases: Array<[unknown, unknown, string]> = [
      ["ABCDEFGHIJK", "dev001", "InvalidParameterValue.ProductId"],   // 11 characters
      ["", "dev001", "InvalidParameterValue.ProductId"],
      [12345, "dev001", "InvalidParameterValue.ProductId"],
      [undefined, "dev001", "InvalidParameterValue.ProductId"],
      [PID, "d".repeat(49), "InvalidParameterValue.DeviceName"],     // 49 characters
      [PID, "", "InvalidParameterValue.DeviceName"],
      [PID, "bad/name", "InvalidParameterValue.DeviceName"],
      [PID, null, "InvalidParameterValue.DeviceName"],
    ];
    for (const [productId, deviceName, code] of cases) {
      const body = JSON.stringify({ ProductId: productId, DeviceName: deviceName });
      const headers = { ...signedHeaders({ secret: SECRET, host: "127.0.0.1", body }), Host: "127.0.0.1" };
      assert.equal(errorCode(await post(platform.httpUrl, "/device/register", body, headers)), code, `${String(productId)}/${String(deviceName)}`);
    }
    // 48 characters is within the limit (and then unknown).
    assert.equal(errorCode(await registerDevice(platform.httpUrl, { deviceName: "d".repeat(48) })), "ResourceNotFound.DeviceNotExist");
  });

  it("refuses missing or malformed X-TC headers and unsupported algorithms", async () => {
    const body = JSON.stringify({ ProductId: PID, DeviceName: "dev001" });
    const headers = { ...signedHeaders({ secret: SECRET, host: "127.0.0.1", body }), Host: "127.0.0.1" };
    for (const name of ["X-TC-Algorithm", "X-TC-Timestamp", "X-TC-Nonce", "X-TC-Signature"]) {
      const without = { ...headers } as Record<string, string>;
      delete without[name];
      const answer = await post(platform.httpUrl, "/device/register", body, without);
      assert.equal(errorCode(answer), "MissingParameter.Header", name);
      assert.match(answer.json.Response.Error.Message, new RegExp(name, "i"));
    }
    assert.equal(errorCode(await post(platform.httpUrl, "/device/register", body, { ...headers, "X-TC-Timestamp": "12ab" })), "MissingParameter.Header");
    assert.equal(errorCode(await post(platform.httpUrl, "/device/register", body, { ...headers, "X-TC-Nonce": "-5" })), "MissingParameter.Header");
    for (const algorithm of ["hmacmd5", "HMACSHA256", "sha256"]) {
      assert.equal(errorCode(await post(platform.httpUrl, "/device/register", body, { ...headers, "X-TC-Algorithm": algorithm })), "AuthFailure.UnsupportedAlgorithm", algorithm);
    }
  });

  it("answers RequestLimitExceeded with HTTP 429 past the per-product rate", async () => {
    // Requests without the secret do not count.
    const strangers = await Promise.all(Array.from({ length: 60 }, () => registerDevice(platform.httpUrl, { deviceName: "dev005", secret: "wrongwrongwrongwrong" })));
    assert.ok(strangers.every((answer) => errorCode(answer) === "AuthFailure.SignatureFailure"));
    const answers = await Promise.all(Array.from({ length: 60 }, () => registerDevice(platform.httpUrl, { deviceName: "dev005" })));
    const limited = answers.filter((answer) => errorCode(answer) === "RequestLimitExceeded");
    assert.equal(limited.length, 10); // the platform's clock stands still: all 60 fall in one second
    for (const answer of limited) assert.equal(answer.status, 429);
    assert.ok(answers.some((answer) => answer.json.Response.State !== undefined));
  });

  it("issues a real X.509 certificate and key signed by the mock CA for cert products", async () => {
    const answer = await registerDevice(platform.httpUrl, { productId: CERT_PID, secret: CERT_SECRET, deviceName: "cam001" });
    assert.equal(answer.json.Response.State, 0, answer.text);
    const plain = decrypt(CERT_SECRET, answer.json.Response.Payload);
    assert.equal(plain.encryptionType, 1);
    const certificate = new X509Certificate(plain.clientCert);
    const ca = new X509Certificate((await platform.certAuthority()).caCertPem);
    assert.equal(certificate.verify(ca.publicKey), true);
    assert.match(certificate.subject, /CN=CERTPROD01cam001/);
    assert.match(plain.clientKey, /BEGIN PRIVATE KEY/);
    const again = await registerDevice(platform.httpUrl, { productId: CERT_PID, secret: CERT_SECRET, deviceName: "cam001" });
    assert.equal(again.json.Response.State, 1);
    assert.equal(decrypt(CERT_SECRET, again.json.Response.Payload).clientCert, plain.clientCert);
  });

  it("answers other methods and paths without crashing", async () => {
    const get = await fetch(`${platform.httpUrl}/device/register`);
    assert.equal(get.status, 405);
    assert.ok(get.headers.get("date"));
    assert.equal((await fetch(`${platform.httpUrl}/nothing`)).status, 404);
  });
});

describeStores("platform: legacy POST /register/dev (C SDK 3.1)", function (store) {
  let platform: RunningPlatform;
  beforeEach(async () => { platform = await startPlatform({ ...(await store.options()), config: testConfig() }); });
  afterEach(async () => platform.close());

  function legacyBody(deviceName: string, secret = SECRET, overrides: Record<string, unknown> = {}) {
    const nonce = Number(freshNonce());
    const timestamp = nowSeconds();
    const text = `deviceName=${deviceName}&nonce=${nonce}&productId=${PID}&timestamp=${timestamp}`;
    const signature = Buffer.from(createHmac("sha1", secret).update(text).digest("hex")).toString("base64");
    return { deviceName, nonce, productId: PID, timestamp, signature, ...overrides };
  }

  it("registers with the C SDK's JSON body under a form content type", async () => {
    const body = JSON.stringify(legacyBody("dev001"));
    const answer = await post(platform.httpUrl, "/register/dev", body, { "Content-Type": "application/x-www-form-urlencoded" });
    assert.equal(answer.status, 200);
    assert.equal(answer.json.code, 0, answer.text);
    assert.equal(answer.json.message, "");
    assert.ok(answer.headers.date);
    assert.equal(decrypt(SECRET, answer.json.payload).encryptionType, 2);
  });

  it("registers with a real form body and a JSON content type alike", async () => {
    const form = new URLSearchParams(Object.entries(legacyBody("dev002")).map(([k, v]): [string, string] => [k, String(v)])).toString();
    assert.equal((await post(platform.httpUrl, "/register/dev", form, { "Content-Type": "application/x-www-form-urlencoded" })).json.code, 0);
    const json = JSON.stringify(legacyBody("dev003"));
    assert.equal((await post(platform.httpUrl, "/register/dev", json, { "Content-Type": "application/json" })).json.code, 0);
  });

  it("answers 1010 Check signature failed for a bad signature, and numbered codes for the rest", async () => {
    const bad = await post(platform.httpUrl, "/register/dev", JSON.stringify(legacyBody("dev001", "wrongwrongwrongwrong")), { "Content-Type": "application/json" });
    assert.deepEqual([bad.json.code, bad.json.message], [1010, "Check signature failed"]);
    assert.match(bad.json.requestId, /^[0-9a-f-]{36}$/);
    const stale = await post(platform.httpUrl, "/register/dev", JSON.stringify(legacyBody("dev001", SECRET, { timestamp: nowSeconds() - 1000 })), { "Content-Type": "application/json" });
    assert.equal(stale.json.code, LEGACY_ERROR_CODES["AuthFailure.TimestampExpired"]);
    const unknown = await post(platform.httpUrl, "/register/dev", JSON.stringify(legacyBody("nobody")), { "Content-Type": "application/json" });
    assert.equal(unknown.json.code, LEGACY_ERROR_CODES["ResourceNotFound.DeviceNotExist"]);
    const body = JSON.stringify(legacyBody("dev004"));
    assert.equal((await post(platform.httpUrl, "/register/dev", body, { "Content-Type": "application/json" })).json.code, 0);
    const replay = await post(platform.httpUrl, "/register/dev", body, { "Content-Type": "application/json" });
    assert.equal(replay.json.code, LEGACY_ERROR_CODES["AuthFailure.NonceReplayed"]);
    const typeless = await post(platform.httpUrl, "/register/dev", body, { "Content-Type": "text/plain" });
    assert.equal(typeless.json.code, LEGACY_ERROR_CODES["InvalidParameter.ContentType"]);
  });

  it("shares its devices with the current endpoint: same PSK, State 1", async () => {
    const legacy = await post(platform.httpUrl, "/register/dev", JSON.stringify(legacyBody("dev005")), { "Content-Type": "application/json" });
    const current = await registerDevice(platform.httpUrl, { deviceName: "dev005" });
    assert.equal(current.json.Response.State, 1);
    assert.equal(decrypt(SECRET, current.json.Response.Payload).psk, decrypt(SECRET, legacy.json.payload).psk);
  });
});
