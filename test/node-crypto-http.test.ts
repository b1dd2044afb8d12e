import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import type { AddressInfo } from "node:net";
import { HalNetworkError, type HttpRequest, type NetworkErrorCode } from "../firmware/contracts";
import { nodeCrypto } from "../hal/node/crypto";
import { createNodeHttpClient, networkErrorCode } from "../hal/node/http";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const fromHex = (h: string) => new Uint8Array(Buffer.from(h, "hex"));
const ascii = (s: string) => new Uint8Array(Buffer.from(s, "utf8"));

describe("hal/node/crypto", () => {
  it("hashes with SHA-1 and SHA-256 (FIPS 180 'abc' vectors)", () => {
    assert.equal(hex(nodeCrypto.digest("sha1", ascii("abc"))), "a9993e364706816aba3e25717850c26c9cd0d89d");
    assert.equal(hex(nodeCrypto.digest("sha256", ascii("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("computes HMAC (RFC 4231 case 2, RFC 2202 case 2)", () => {
    const data = ascii("what do ya want for nothing?");
    assert.equal(hex(nodeCrypto.hmac("sha256", ascii("Jefe"), data)), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    assert.equal(hex(nodeCrypto.hmac("sha1", ascii("Jefe"), data)), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  });

  it("runs AES-128-CBC without padding (SP 800-38A F.2.1/F.2.2)", () => {
    const key = fromHex("2b7e151628aed2a6abf7158809cf4f3c");
    const iv = fromHex("000102030405060708090a0b0c0d0e0f");
    const plain = fromHex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
    const cipher = nodeCrypto.aes128CbcEncrypt(key, iv, plain);
    assert.equal(hex(cipher), "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2");
    assert.deepEqual(nodeCrypto.aes128CbcDecrypt(key, iv, cipher), plain);
  });

  it("returns plain Uint8Arrays, not Buffers", () => {
    for (const out of [nodeCrypto.digest("sha1", ascii("")), nodeCrypto.randomBytes(8), nodeCrypto.aes128CbcEncrypt(new Uint8Array(16), new Uint8Array(16), new Uint8Array(16))]) {
      assert.equal(Object.getPrototypeOf(out), Uint8Array.prototype);
    }
  });

  it("refuses AES arguments of the wrong size", () => {
    const k = new Uint8Array(16);
    assert.throws(() => nodeCrypto.aes128CbcDecrypt(new Uint8Array(15), k, k), RangeError);
    assert.throws(() => nodeCrypto.aes128CbcDecrypt(k, new Uint8Array(8), k), RangeError);
    assert.throws(() => nodeCrypto.aes128CbcEncrypt(k, k, new Uint8Array(17)), RangeError);
  });

  it("draws random bytes of the asked length", () => {
    assert.equal(nodeCrypto.randomBytes(0).length, 0);
    assert.equal(nodeCrypto.randomBytes(32).length, 32);
    assert.notDeepEqual(nodeCrypto.randomBytes(32), nodeCrypto.randomBytes(32));
    assert.throws(() => nodeCrypto.randomBytes(-1), RangeError);
  });

  it("never hands out the same random bytes twice, across many refills of its block", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 3000; i++) { // 3000 x 24 bytes spans about 18 blocks of 4 KiB
      const value = nodeCrypto.randomBytes(24);
      const hex = Array.from(value, (byte) => byte.toString(16).padStart(2, "0")).join("");
      assert.ok(!seen.has(hex), `draw ${i} repeated an earlier value`);
      seen.add(hex);
      value.fill(0); // a caller wiping its copy must not touch what others receive
    }
    const big = nodeCrypto.randomBytes(4096);
    assert.ok(big.some((byte) => byte !== 0) && new Set(big).size > 200, "large requests are random too");
  });
});

describe("hal/node/http", () => {
  type Handler = (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => void;
  let server: http.Server;
  let base: string;
  let handler: Handler;
  const client = createNodeHttpClient();

  before(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => handler(req, Buffer.concat(chunks), res));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const request = (overrides: Partial<HttpRequest> = {}): HttpRequest => ({
    method: "POST", url: `${base}/echo`, headers: { "X-Test": "1" }, body: ascii("hello"), timeoutMs: 2000, maxResponseBytes: 1024, ...overrides,
  });

  async function expectNetwork(promise: Promise<unknown>, code: NetworkErrorCode): Promise<void> {
    await assert.rejects(promise, (e: unknown) => e instanceof HalNetworkError && e.code === code);
  }

  it("sends method, headers and body; returns status, lower-case headers and body bytes", async () => {
    handler = (req, body, res) => {
      res.setHeader("X-Echo-Method", req.method!);
      res.setHeader("X-Echo-Host", req.headers.host!);
      res.setHeader("Set-Cookie", ["a=1", "b=2"]);
      res.writeHead(418, { "X-Header": req.headers["x-test"] as string });
      res.end(Buffer.concat([body, Buffer.from([0, 255])]));
    };
    const response = await client.request(request());
    assert.equal(response.status, 418);
    assert.equal(response.headers["x-echo-method"], "POST");
    assert.equal(response.headers["x-echo-host"], new URL(base).host);
    assert.equal(response.headers["x-header"], "1");
    assert.equal(response.headers["set-cookie"], "a=1, b=2");
    assert.ok(Object.keys(response.headers).every((k) => k === k.toLowerCase()));
    assert.deepEqual(response.body, Uint8Array.from([...ascii("hello"), 0, 255]));
    assert.equal(Object.getPrototypeOf(response.body), Uint8Array.prototype);
  });

  it("sends a GET without body", async () => {
    handler = (req, body, res) => res.end(`${req.method} ${body.length}`);
    const response = await client.request(request({ method: "GET", body: undefined }));
    assert.equal(Buffer.from(response.body).toString(), "GET 0");
  });

  it("times out the whole exchange", async () => {
    handler = () => { /* never answers */ };
    await expectNetwork(client.request(request({ timeoutMs: 100 })), "timeout");
  });

  it("refuses an answer over the cap, declared or streamed", async () => {
    handler = (_req, _body, res) => res.end("x".repeat(2000));
    await expectNetwork(client.request(request()), "too-large");
    handler = (_req, _body, res) => { res.write("x".repeat(600)); res.write("x".repeat(600)); res.end(); };
    await expectNetwork(client.request(request()), "too-large");
    handler = (_req, _body, res) => res.end("x".repeat(1024));
    assert.equal((await client.request(request())).body.length, 1024, "exactly the cap is allowed");
  });

  it("maps a reset connection to reset", async () => {
    handler = (req) => req.socket.destroy();
    await expectNetwork(client.request(request()), "reset");
  });

  it("maps a connection cut mid-answer to reset", async () => {
    handler = (req, _body, res) => { res.writeHead(200, { "Content-Length": "100" }); res.write("partial"); setTimeout(() => req.socket.destroy(), 10); };
    await expectNetwork(client.request(request()), "reset");
  });

  it("maps a refused connection to refused", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expectNetwork(client.request(request({ url: `http://127.0.0.1:${port}/x` })), "refused");
  });

  it("maps a TLS handshake failure to tls (https to a plain HTTP port)", async () => {
    handler = (_req, _body, res) => res.end("plain");
    await expectNetwork(client.request(request({ url: base.replace("http:", "https:") + "/x" })), "tls");
  });

  it("refuses invalid URLs and schemes with HalNetworkError other", async () => {
    await expectNetwork(client.request(request({ url: "not a url" })), "other");
    await expectNetwork(client.request(request({ url: "ftp://127.0.0.1/x" })), "other");
  });

  it("maps Node error codes to the HAL's vocabulary", () => {
    const err = (code: string, message = "x") => Object.assign(new Error(message), { code });
    const cases: Array<[string, NetworkErrorCode]> = [
      ["ECONNREFUSED", "refused"], ["ECONNRESET", "reset"], ["EPIPE", "reset"], ["ENOTFOUND", "dns"], ["EAI_AGAIN", "dns"], ["ETIMEDOUT", "timeout"],
      ["DEPTH_ZERO_SELF_SIGNED_CERT", "tls"], ["ERR_TLS_CERT_ALTNAME_INVALID", "tls"], ["ERR_SSL_WRONG_VERSION_NUMBER", "tls"], ["CERT_HAS_EXPIRED", "tls"], ["EWHATEVER", "other"],
    ];
    for (const [code, expected] of cases) assert.equal(networkErrorCode(err(code)), expected, code);
    assert.equal(networkErrorCode(new Error("socket hang up")), "reset");
  });
});

describe("hal/node/http over TLS", () => {
  let dir: string;
  let server: https.Server | undefined;
  let base: string;
  let cert: string;

  before(async function () {
    this.timeout(30_000);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "explorer-xs-http-tls-"));
    const made = spawnSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
      "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem"),
      "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ], { encoding: "utf8" });
    if (made.status !== 0) this.skip(); // no openssl on this machine
    cert = fs.readFileSync(path.join(dir, "cert.pem"), "utf8");
    server = https.createServer({ key: fs.readFileSync(path.join(dir, "key.pem")), cert }, (req, res) => {
      req.resume();
      req.on("end", () => res.end("secure"));
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server!.close(() => resolve()));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const request = (url: string): HttpRequest => ({ method: "POST", url, headers: {}, body: ascii("x"), timeoutMs: 5000, maxResponseBytes: 1024 });

  it("talks https to a server whose CA it was given", async () => {
    const response = await createNodeHttpClient({ ca: cert }).request(request(`${base}/device/register`));
    assert.equal(response.status, 200);
    assert.equal(Buffer.from(response.body).toString(), "secure");
  });

  it("refuses a server certificate it cannot verify with tls", async () => {
    await assert.rejects(createNodeHttpClient().request(request(`${base}/x`)), (e: unknown) => e instanceof HalNetworkError && e.code === "tls");
  });
});
