import { strict as assert } from "node:assert";
import { createCipheriv, createHash, createHmac } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { HalNetworkError, type HttpRequest, type HttpResponse, type LogLevel } from "../firmware/contracts";
import { nodeCrypto } from "../hal/node/crypto";
import { createNodeHttpClient } from "../hal/node/http";
import { DEFAULT_REGISTER_URL, dynregDevice, parseRegisterUrl, type DynregHal, type DynregOptions } from "../firmware/dynreg";
import type { DeviceInfo } from "../firmware/device-info";
import { DynregError, isRetryableCode, type ErrorCode } from "../firmware/errors";

const SECRET = "hzvf5LF9S0isvBhDSauWMaIk";
const PSK = "AAECAwQFBgcICQoLDA0ODw==";
const CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";
const NOW_MS = 1_700_000_000_123;
const DEVICE: DeviceInfo = { productId: "ABCDEF1234", deviceName: "sensor-01", productSecret: SECRET, authMode: "psk", deviceSecret: "YOUR_IOT_PSK" };

function encryptPayload(secret: string, json: string, padding: "zero" | "pkcs7" = "zero"): string {
  const plain = Buffer.from(json, "utf8");
  const cipher = createCipheriv("aes-128-cbc", Buffer.from(secret, "utf8").subarray(0, 16), Buffer.from("0000000000000000"));
  if (padding === "pkcs7") return Buffer.concat([cipher.update(plain), cipher.final()]).toString("base64");
  cipher.setAutoPadding(false);
  const padded = Buffer.alloc(Math.ceil(plain.length / 16) * 16);
  plain.copy(padded);
  return Buffer.concat([cipher.update(padded), cipher.final()]).toString("base64");
}

function successBody(json: string, state = 0, padding: "zero" | "pkcs7" = "zero"): string {
  return JSON.stringify({ Response: { Len: Buffer.byteLength(json), Payload: encryptPayload(SECRET, json, padding), RequestId: "req-1", State: state } });
}

const pskJson = JSON.stringify({ encryptionType: 2, psk: PSK });

interface LogLine { level: LogLevel; event: string; fields?: Record<string, string | number | boolean> }

function makeHal(http: DynregHal["http"], logs: LogLine[] = []): DynregHal {
  return { crypto: nodeCrypto, http, clock: { nowMs: () => NOW_MS }, log: { log: (level, event, fields) => logs.push({ level, event, fields }) } };
}

/** An HTTP client stub: records the request and answers with `answer`. */
function stubHttp(answer: (request: HttpRequest) => Promise<HttpResponse> | HttpResponse) {
  const seen: HttpRequest[] = [];
  return {
    seen,
    http: { request: async (request: HttpRequest) => { seen.push(request); return answer(request); } },
  };
}

const reply = (status: number, body: string, headers: Record<string, string> = {}): HttpResponse => ({ status, headers, body: new Uint8Array(Buffer.from(body)) });

async function expectDynreg(promise: Promise<unknown>, code: ErrorCode, messagePart?: RegExp): Promise<DynregError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof DynregError, `expected DynregError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.retryable, isRetryableCode(code));
    if (messagePart) assert.match(error.message, messagePart);
    return error;
  }
  assert.fail(`expected DynregError ${code}`);
}

/** The platform's check of §2, written with node:crypto only, against the Host header without port. */
function verifyLikePlatform(hostHeader: string, path: string, headers: Record<string, string>, body: Buffer, secret = SECRET): boolean {
  const alg = headers["x-tc-algorithm"];
  const hash = alg === "hmacsha1" ? "sha1" : "sha256";
  const host = hostHeader.replace(/:\d+$/, "");
  const stringToSign = ["POST", host, path, "", alg, headers["x-tc-timestamp"], headers["x-tc-nonce"], createHash(hash).update(body).digest("hex")].join("\n");
  return createHmac(hash, secret).update(stringToSign).digest("base64") === headers["x-tc-signature"];
}

describe("dynreg: request building (stubbed HTTP)", () => {
  it("posts the signed body to the default URL with timeout and size cap", async () => {
    const stub = stubHttp(() => reply(200, successBody(pskJson, 0), { date: "Tue, 14 Nov 2023 22:13:20 GMT" }));
    const result = await dynregDevice(makeHal(stub.http), DEVICE);
    const request = stub.seen[0];
    assert.equal(request.url, DEFAULT_REGISTER_URL);
    assert.equal(request.method, "POST");
    assert.equal(Buffer.from(request.body!).toString(), '{"ProductId":"ABCDEF1234","DeviceName":"sensor-01"}');
    assert.equal(request.headers["X-TC-Algorithm"], "hmacsha256");
    assert.equal(request.headers["X-TC-Timestamp"], "1700000000");
    const nonce = Number(request.headers["X-TC-Nonce"]);
    assert.ok(Number.isInteger(nonce) && nonce > 0 && nonce <= 0x7fffffff);
    assert.ok(request.timeoutMs > 0 && request.maxResponseBytes === 8192);
    const lower = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]));
    assert.ok(verifyLikePlatform("ap-guangzhou.gateway.tencentdevices.com", "/device/register", lower, Buffer.from(request.body!)));
    assert.deepEqual(result.deviceInfo, { ...DEVICE, deviceSecret: PSK });
    assert.equal(result.state, 0);
    assert.equal(result.serverDate, "Tue, 14 Nov 2023 22:13:20 GMT");
    assert.equal(result.requestId, "req-1");
  });

  it("signs with hmacsha1 on request and honours timeout and cap options", async () => {
    const stub = stubHttp(() => reply(200, successBody(pskJson, 1)));
    const options: DynregOptions = { algorithm: "hmacsha1", registerUrl: "http://Example.COM:8080/device/register", timeoutMs: 1234, maxResponseBytes: 999 };
    const result = await dynregDevice(makeHal(stub.http), DEVICE, options);
    const request = stub.seen[0];
    const lower = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]));
    assert.equal(lower["x-tc-algorithm"], "hmacsha1");
    assert.ok(verifyLikePlatform("example.com:8080", "/device/register", lower, Buffer.from(request.body!)), "host signed without port, lower case");
    assert.equal(request.timeoutMs, 1234);
    assert.equal(request.maxResponseBytes, 999);
    assert.equal(result.state, 1);
  });

  it("draws a fresh nonce each time", async () => {
    const stub = stubHttp(() => reply(200, successBody(pskJson)));
    await dynregDevice(makeHal(stub.http), DEVICE);
    await dynregDevice(makeHal(stub.http), DEVICE);
    assert.notEqual(stub.seen[0].headers["X-TC-Nonce"], stub.seen[1].headers["X-TC-Nonce"]);
  });

  it("completes a cert-mode device with clientCert and clientKey (PKCS#7 payload)", async () => {
    const json = JSON.stringify({ encryptionType: 1, clientCert: CERT, clientKey: KEY });
    const stub = stubHttp(() => reply(200, successBody(json, 0, "pkcs7")));
    const certDevice: DeviceInfo = { productId: "ABCDEF1234", deviceName: "cam", productSecret: SECRET, authMode: "cert" };
    const result = await dynregDevice(makeHal(stub.http), certDevice);
    assert.deepEqual(result.deviceInfo, { ...certDevice, clientCert: CERT, clientKey: KEY });
  });

  it("speaks the legacy /register/dev protocol on request", async () => {
    const legacyJson = pskJson;
    const stub = stubHttp(() => reply(200, JSON.stringify({ code: 0, message: "", payload: encryptPayload(SECRET, legacyJson) })));
    const result = await dynregDevice(makeHal(stub.http), DEVICE, { protocol: "legacy" });
    const request = stub.seen[0];
    assert.match(request.url, /\/register\/dev$/);
    assert.equal(request.headers["Content-Type"], "application/x-www-form-urlencoded");
    const body = JSON.parse(Buffer.from(request.body!).toString());
    assert.deepEqual(Object.keys(body), ["deviceName", "nonce", "productId", "timestamp", "signature"]);
    const text = `deviceName=sensor-01&nonce=${body.nonce}&productId=ABCDEF1234&timestamp=1700000000`;
    assert.equal(body.signature, Buffer.from(createHmac("sha1", SECRET).update(text).digest("hex")).toString("base64"));
    assert.equal(result.deviceInfo.deviceSecret, PSK);
    assert.equal(result.state, undefined);
  });

  it("refuses bad device info before any request", async () => {
    const stub = stubHttp(() => reply(200, "{}"));
    await expectDynreg(dynregDevice(makeHal(stub.http), { ...DEVICE, productSecret: undefined }), "invalid-device-info", /productSecret/);
    await expectDynreg(dynregDevice(makeHal(stub.http), { ...DEVICE, productSecret: "short" }), "invalid-device-info", /16/);
    await expectDynreg(dynregDevice(makeHal(stub.http), { ...DEVICE, productId: "WAY_TOO_LONG_ID" }), "invalid-device-info", /productId/);
    await expectDynreg(dynregDevice(makeHal(stub.http), DEVICE, { registerUrl: "ftp://x/y" }), "request-rejected", /registerUrl/);
    await expectDynreg(dynregDevice(makeHal(stub.http), DEVICE, { algorithm: "md5" as never }), "request-rejected", /algorithm/);
    assert.equal(stub.seen.length, 0);
  });

  const networkCases: Array<[HalNetworkError["code"], ErrorCode]> = [
    ["timeout", "timeout"], ["refused", "network"], ["reset", "network"], ["dns", "network"], ["tls", "network"], ["too-large", "network"], ["other", "network"],
  ];
  for (const [halCode, code] of networkCases) {
    it(`classifies HalNetworkError ${halCode} as ${code}`, async () => {
      const stub = stubHttp(() => { throw new HalNetworkError(halCode, "boom"); });
      await expectDynreg(dynregDevice(makeHal(stub.http), DEVICE), code, new RegExp(halCode));
    });
  }

  it("reports an HTTP client breaking its contract as internal", async () => {
    const stub = stubHttp(() => { throw new TypeError("bug"); });
    await expectDynreg(dynregDevice(makeHal(stub.http), DEVICE), "internal");
  });

  it("never logs the ProductSecret or the PSK", async () => {
    const logs: LogLine[] = [];
    const stub = stubHttp(() => reply(200, successBody(pskJson)));
    await dynregDevice(makeHal(stub.http, logs), DEVICE);
    const failing = stubHttp(() => reply(200, JSON.stringify({ Response: { Error: { Code: "AuthFailure.SignatureFailure", Message: "no" } } })));
    await expectDynreg(dynregDevice(makeHal(failing.http, logs), DEVICE), "signature-invalid");
    const text = JSON.stringify(logs);
    assert.ok(logs.some((l) => l.event === "dynreg.registered") && logs.some((l) => l.event === "dynreg.failed"));
    assert.ok(!text.includes(SECRET) && !text.includes(PSK), text);
  });
});

describe("dynreg: against a real node:http server on 127.0.0.1", () => {
  type Handler = (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => void;
  let server: http.Server;
  let url: string;
  let handler: Handler;
  const client = createNodeHttpClient();
  const hal = () => makeHal(client);

  before(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => handler(req, Buffer.concat(chunks), res));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/device/register`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "Content-Type": "application/json", ...headers });
    res.end(typeof body === "string" ? body : JSON.stringify(body));
  };

  it("registers: the server verifies the signature against its Host header without port", async () => {
    let verified = false;
    handler = (req, body, res) => {
      verified = verifyLikePlatform(req.headers.host!, req.url!, req.headers as Record<string, string>, body);
      if (!verified) return json(res, 200, { Response: { Error: { Code: "AuthFailure.SignatureFailure", Message: "bad" } } });
      json(res, 200, successBody(pskJson, 0));
    };
    const result = await dynregDevice(hal(), DEVICE, { registerUrl: url });
    assert.ok(verified);
    assert.equal(result.deviceInfo.deviceSecret, PSK);
    assert.equal(typeof result.serverDate, "string", "node:http sends a Date header");
  });

  it("reports a signature the server rejects as fatal signature-invalid", async () => {
    handler = (req, body, res) => {
      const ok = verifyLikePlatform(req.headers.host!, req.url!, req.headers as Record<string, string>, body, "another-product-secret!");
      json(res, 200, ok ? successBody(pskJson) : { Response: { Error: { Code: "AuthFailure.SignatureFailure", Message: "signature mismatch" } } });
    };
    const err = await expectDynreg(dynregDevice(hal(), DEVICE, { registerUrl: url }), "signature-invalid");
    assert.equal(err.platformCode, "AuthFailure.SignatureFailure");
  });

  it("reports 'device already activated' with the console action", async () => {
    handler = (_req, _body, res) => json(res, 200, { Response: { Error: { Code: "FailedOperation.DeviceAlreadyActivated", Message: "activated" }, RequestId: "r" } });
    await expectDynreg(dynregDevice(hal(), DEVICE, { registerUrl: url }), "device-activated", /delete it in the console to register it again/);
  });

  it("keeps the server's Date on timestamp-rejected so the clock can be corrected", async () => {
    handler = (_req, _body, res) => json(res, 200, { Response: { Error: { Code: "AuthFailure.TimestampExpired", Message: "late" } } }, { Date: "Wed, 01 Jan 2025 00:00:00 GMT" });
    const err = await expectDynreg(dynregDevice(hal(), DEVICE, { registerUrl: url }), "timestamp-rejected");
    assert.equal(err.serverDate, "Wed, 01 Jan 2025 00:00:00 GMT");
    assert.equal(err.httpStatus, 200);
  });

  const statusCases: Array<[number, ErrorCode]> = [[500, "server-error"], [502, "server-error"], [503, "server-error"], [429, "rate-limited"], [408, "timeout"], [302, "malformed-response"], [404, "request-rejected"], [403, "request-rejected"]];
  for (const [status, code] of statusCases) {
    it(`classifies HTTP ${status} with a non-platform body as ${code}`, async () => {
      handler = (_req, _body, res) => {
        res.writeHead(status, { "Content-Type": "text/html", ...(status === 302 ? { Location: "http://portal.local/" } : {}) });
        res.end("<html>nope</html>");
      };
      const err = await expectDynreg(dynregDevice(hal(), DEVICE, { registerUrl: url }), code);
      assert.equal(err.httpStatus, status);
    });
  }

  it("maps a platform error body carried by a 4xx status by its code", async () => {
    handler = (_req, _body, res) => json(res, 400, { Response: { Error: { Code: "InvalidParameterValue.DeviceName", Message: "bad name" } } });
    const err = await expectDynreg(dynregDevice(hal(), DEVICE, { registerUrl: url }), "request-rejected", /InvalidParameterValue\.DeviceName/);
    assert.equal(err.httpStatus, 400);
  });

  it("reports a 200 with a non-JSON body (captive portal) as retryable malformed-response", async () => {
    handler = (_req, _body, res) => { res.writeHead(200, { "Content-Type": "text/html" }); res.end("<html>Please log in</html>"); };
    await expectDynreg(dynregDevice(hal(), DEVICE, { registerUrl: url }), "malformed-response");
  });

  it("times out on a server that never answers", async () => {
    handler = () => { /* hold the request open */ };
    await expectDynreg(dynregDevice(hal(), DEVICE, { registerUrl: url, timeoutMs: 150 }), "timeout");
  });

  it("fails a slow-dripping answer on the whole-exchange timeout", async () => {
    handler = (_req, _body, res) => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.write("{");
      const t = setInterval(() => res.write(" "), 20);
      res.on("close", () => clearInterval(t));
    };
    await expectDynreg(dynregDevice(hal(), DEVICE, { registerUrl: url, timeoutMs: 200 }), "timeout");
  });

  it("refuses an oversized answer as network (too-large)", async () => {
    handler = (_req, _body, res) => json(res, 200, JSON.stringify({ Response: { Payload: "A".repeat(20_000) } }));
    await expectDynreg(dynregDevice(hal(), DEVICE, { registerUrl: url }), "network", /too-large/);
  });

  it("refuses an oversized chunked answer as network (too-large)", async () => {
    handler = (_req, _body, res) => {
      res.writeHead(200, { "Content-Type": "application/json" });
      for (let i = 0; i < 20; i++) res.write("x".repeat(1000));
      res.end();
    };
    await expectDynreg(dynregDevice(hal(), DEVICE, { registerUrl: url }), "network", /too-large/);
  });

  it("reports a connection reset as network", async () => {
    handler = (req) => req.socket.destroy();
    await expectDynreg(dynregDevice(hal(), DEVICE, { registerUrl: url }), "network", /reset/);
  });

  it("reports a refused connection as network", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expectDynreg(dynregDevice(hal(), DEVICE, { registerUrl: `http://127.0.0.1:${port}/device/register` }), "network", /refused/);
  });
});

describe("dynreg: URL parsing without the URL global", () => {
  it("takes the host name without port, lower-cased, and the path", () => {
    assert.deepEqual(parseRegisterUrl("https://AP-Guangzhou.gateway.tencentdevices.com/device/register"), { hostname: "ap-guangzhou.gateway.tencentdevices.com", path: "/device/register" });
    assert.deepEqual(parseRegisterUrl("http://127.0.0.1:8080/device/register"), { hostname: "127.0.0.1", path: "/device/register" });
    assert.deepEqual(parseRegisterUrl("http://host"), { hostname: "host", path: "/" });
    assert.deepEqual(parseRegisterUrl("http://[::1]:80/x"), { hostname: "[::1]", path: "/x" });
    for (const good of ["https://AP-Guangzhou.gateway.tencentdevices.com/device/register", "http://127.0.0.1:8080/a/b", "http://[::1]:80/x"]) {
      assert.equal(parseRegisterUrl(good).hostname, new URL(good).hostname, "agrees with WHATWG URL (what Tencent's SDKs sign)");
    }
  });

  it("refuses what is not an http(s) URL", () => {
    for (const bad of ["", "ftp://h/x", "http://", "http://h/x?q=1", "http://user@h/x", "https://h:99999999/x", "//h/x"]) {
      assert.throws(() => parseRegisterUrl(bad), (e: unknown) => e instanceof DynregError && e.code === "request-rejected", bad);
    }
  });
});
