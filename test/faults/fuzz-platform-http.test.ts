/**
 * Fuzzing the mock platform's HTTP side with fast-check: the registration API, the Cloud API and
 * the web console with arbitrary methods, paths, headers and bodies, and raw bytes over TCP. Every exchange
 * ends with a typed JSON error (never a 5xx) or a closed connection, and a canary device still
 * registers and comes online afterwards.
 */
import { strict as assert } from "node:assert";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import fc from "fast-check";
import { checkProperty, expectCanaryOnline } from "./lib/fuzz";
import { startFaultPlatform, CANARY_PRODUCT, CERT_PRODUCT, PSK_PRODUCT, type FaultPlatform } from "./lib/harness";

interface Answer { status?: number; body?: string; closed?: boolean }

function exchange(url: string, method: string, path: string, headers: Record<string, string>, body: Uint8Array | undefined): Promise<Answer> {
  const target = new URL(url);
  return new Promise((resolve) => {
    let req;
    try {
      req = httpRequest({ host: target.hostname, port: target.port, method, path, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", () => resolve({ closed: true }));
      });
    } catch {
      return resolve({ closed: true }); // the client refused to send it: nothing reached the platform
    }
    req.setTimeout(5000, () => req.destroy(new Error("the platform did not answer in 5 s")));
    req.on("error", (error) => resolve(error.message.includes("did not answer") ? { status: -1, body: error.message } : { closed: true }));
    req.end(body === undefined ? undefined : Buffer.from(body));
  });
}

/** A typed error: JSON whose error object names a code (console, register current or legacy shape). */
function isTypedAnswer(answer: Answer): boolean {
  if (answer.closed) return true;
  if (answer.status === undefined || answer.status < 100 || answer.status >= 500) return false;
  if (answer.status < 300 && answer.status >= 200) return true;
  // Requests the HTTP parser itself rejects get a bare status line and a closed connection.
  if ([400, 408, 431].includes(answer.status) && answer.body === "") return true;
  try {
    const body = JSON.parse(answer.body ?? "") as Record<string, any>;
    return typeof body?.error?.code === "string" || typeof body?.Response?.Error?.Code === "string" || typeof body?.code === "number";
  } catch {
    return false;
  }
}

const headerText = fc.string({ unit: fc.constantFrom(..."abcXYZ019 -_+/=.;:,"), maxLength: 40 });
const anyJson = fc.jsonValue({ maxDepth: 3 });

describe("fuzz: the mock platform's HTTP APIs", function () {
  this.timeout(180_000);
  let env: FaultPlatform;
  before(async () => {
    env = await startFaultPlatform({ platform: { httpLimits: { headersTimeoutMs: 600, requestTimeoutMs: 1200, idleTimeoutMs: 1500, keepAliveTimeoutMs: 300 } } });
  });
  after(async () => env && (await env.close()));

  afterEach(async function () {
    await expectCanaryOnline(env.platform, "fuzz: platform HTTP canary", this.currentTest?.title ?? "?");
  });

  it("registration API: arbitrary signature headers, content types and bodies", async () => {
    const headers = fc.record({
      "content-type": fc.oneof(fc.constantFrom("application/json; charset=utf-8", "application/json", "text/plain", "application/x-www-form-urlencoded"), headerText),
      "x-tc-algorithm": fc.oneof(fc.constantFrom("hmacsha256", "hmacsha1", "HMACSHA256", ""), headerText),
      "x-tc-timestamp": fc.oneof(fc.integer({ min: -1e12, max: 1e12 }).map(String), fc.constant(String(Math.floor(Date.now() / 1000))), headerText),
      "x-tc-nonce": fc.oneof(fc.integer().map(String), headerText),
      "x-tc-signature": fc.oneof(fc.base64String({ maxLength: 60 }), headerText),
    }, { requiredKeys: [] });
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 6000 }),
      fc.record({ ProductId: fc.oneof(fc.constant(PSK_PRODUCT.productId), anyJson), DeviceName: fc.oneof(fc.constantFrom("d000", "d001", "x".repeat(100)), anyJson), EncryptionType: anyJson, ClientCert: anyJson }, { requiredKeys: [] }).map((v) => Buffer.from(JSON.stringify(v))),
      fc.record({ deviceName: anyJson, nonce: anyJson, productId: anyJson, timestamp: anyJson, signature: anyJson }, { requiredKeys: [] }).map((v) => Buffer.from(JSON.stringify(v))),
    );
    const path = fc.constantFrom("/device/register", "/register/dev", "/device/register?x=1", "/device/register/", "//device/register");
    const method = fc.constantFrom("POST", "POST", "POST", "GET", "PUT", "DELETE");
    await checkProperty("fuzz: platform registration API", fc.asyncProperty(method, path, headers, body, async (m, p, h, b) => {
      const answer = await exchange(env.platform.httpUrl, m, p, h as Record<string, string>, m === "GET" ? undefined : b);
      assert.ok(isTypedAnswer(answer), `untyped answer ${answer.status}: ${answer.body?.slice(0, 200)}`);
      if (answer.status === 200) {
        const json = JSON.parse(answer.body!) as Record<string, any>;
        assert.ok(json.Response?.Error || json.code !== 0, "a fuzzed request must not register anything");
      }
    }), 300);
  });

  it("Cloud API and web console: arbitrary methods, paths, X-TC headers, authorizations and bodies; nothing secret comes back", async () => {
    const secrets = [PSK_PRODUCT.productSecret, CERT_PRODUCT.productSecret, CANARY_PRODUCT.productSecret, env.platform.apiCredentials.secretKey];
    const segment = fc.oneof(
      fc.constantFrom("console", "session", "events", "app.js", "index.html", "products", "devices", PSK_PRODUCT.productId, "d005", "..", "%2F", "%E0%A4%A", "%00"),
      fc.string({ unit: fc.constantFrom(..."abcXYZ0189-_.~%"), maxLength: 20 }),
    );
    const path = fc.oneof(
      fc.constantFrom("/", "/?Action=DescribeDevice&ProductId=FAULTPSK01&DeviceName=d005", "/console", "/console/", "/console/session", "/console/events", "/console/app.js"),
      fc.array(segment, { maxLength: 5 }).map((parts) => `/console/${parts.join("/")}`),
    );
    const method = fc.constantFrom("GET", "POST", "POST", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS");
    const now = String(Math.floor(Date.now() / 1000));
    const authorization = fc.oneof(
      headerText,
      fc.tuple(fc.constantFrom(env.platform.apiCredentials.secretId, "AKIDnobody", ""), fc.constantFrom(new Date().toISOString().slice(0, 10), "2020-01-01", "x"),
        fc.constantFrom("iotexplorer", "127", ""), fc.constantFrom("content-type;host", "host", "content-type;host;x-tc-action", ""), fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), maxLength: 64 }))
        .map(([id, date, service, signed, signature]) => `TC3-HMAC-SHA256 Credential=${id}/${date}/${service}/tc3_request, SignedHeaders=${signed}, Signature=${signature}`),
    );
    const headers = fc.record({
      "content-type": fc.constantFrom("application/json", "application/json; charset=utf-8", "text/plain", "multipart/form-data"),
      "x-tc-action": fc.oneof(fc.constantFrom("DescribeDevice", "GetDeviceList", "CreateDevice", "DescribeProductDynamicRegister", "DeleteDevices", "NoSuchAction", "__proto__", "constructor"), headerText),
      "x-tc-version": fc.constantFrom("2019-04-23", "2021-04-08", ""),
      "x-tc-timestamp": fc.oneof(fc.constant(now), fc.integer({ min: -1e12, max: 1e12 }).map(String), headerText),
      "x-tc-region": fc.constantFrom("ap-guangzhou", "", "nowhere", "ap guangzhou"),
      "x-tc-token": headerText,
      authorization,
    }, { requiredKeys: [] });
    const body = fc.oneof(
      anyJson.map((v) => Buffer.from(JSON.stringify(v))),
      fc.record({ ProductId: fc.oneof(fc.constant(PSK_PRODUCT.productId), anyJson), DeviceName: fc.oneof(fc.constantFrom("d005", "d006"), anyJson), DeviceId: anyJson, Token: anyJson,
        DevicesItems: anyJson, RegisterType: anyJson, Limit: anyJson, Offset: anyJson }, { requiredKeys: [] }).map((v) => Buffer.from(JSON.stringify(v))),
      fc.uint8Array({ maxLength: 300 }),
    );
    await checkProperty("fuzz: platform Cloud API and console", fc.asyncProperty(method, path, headers, body, async (m, p, h, b) => {
      const answer = await exchange(env.platform.httpUrl, m, p, h as Record<string, string>, m === "GET" || m === "HEAD" ? undefined : b);
      if (m === "HEAD" && answer.status !== undefined && answer.status < 500) return; // no body by definition
      assert.ok(isTypedAnswer(answer), `untyped answer ${answer.status} to ${m} ${p}: ${answer.body?.slice(0, 200)}`);
      const text = answer.body ?? "";
      for (const secret of secrets) assert.ok(!text.includes(secret), `a secret in the answer to ${m} ${p}`);
      assert.doesNotMatch(text, /PRIVATE KEY|"DevicePsk":"[^"]|"ProductSecret":"[^"]|"SecretKey"/, `a secret field in the answer to ${m} ${p}`);
      if ((p.startsWith("/?") || p === "/") && !answer.closed && text !== "") {
        if (answer.status === 302) return; // a browser's GET / goes to the console
        assert.equal(typeof JSON.parse(text).Response?.Error?.Code, "string", "an unsigned Cloud API call must fail");
      }
    }), 300);
  });

  it("raw bytes over TCP: garbage and mangled requests get an HTTP answer or a closed connection", async () => {
    const valid = `POST /device/register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{"a":1234}`;
    const mangled = fc.tuple(fc.nat({ max: valid.length }), fc.uint8Array({ maxLength: 40 })).map(([at, junk]) => Buffer.concat([Buffer.from(valid.slice(0, at)), Buffer.from(junk), Buffer.from(valid.slice(at))]));
    const lines = fc.array(fc.string({ maxLength: 60 }), { maxLength: 8 }).map((ls) => Buffer.from(`POST /device/register HTTP/1.1\r\n${ls.join("\r\n")}\r\n\r\n`));
    const bytes = fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 2000 }).map((b) => Buffer.from(b)), mangled, lines);
    await checkProperty("fuzz: platform raw HTTP bytes", fc.asyncProperty(bytes, fc.boolean(), async (payload, halfClose) => {
      const target = new URL(env.platform.httpUrl);
      const outcome = await new Promise<string>((resolve) => {
        const socket = connect({ host: target.hostname, port: Number(target.port) });
        let received = "";
        // A keep-alive connection may stay open after its answer; silence with no answer is the failure.
        const timer = setTimeout(() => { socket.destroy(); resolve(received.startsWith("HTTP/1.1 ") ? "ok" : `hung: ${received.slice(0, 80)}`); }, 2500);
        socket.on("data", (chunk) => (received += chunk.toString("latin1")));
        socket.on("error", () => undefined);
        socket.on("close", () => { clearTimeout(timer); resolve(received === "" || received.startsWith("HTTP/1.1 ") ? "ok" : `not HTTP: ${received.slice(0, 80)}`); });
        socket.on("connect", () => (halfClose ? socket.end(payload) : socket.write(payload)));
      });
      assert.equal(outcome, "ok");
    }), 120);
  });
});
