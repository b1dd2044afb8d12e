/**
 * The Moddable-bound adapters of hal/esp32 (http, mqtt, flash, crypto), driven on Node against
 * stand-ins for Moddable's modules (test/esp32-fakes/, each following the documented callback
 * protocol). A resolve hook sends hal/esp32's imports of "http", "mqtt", "preference", ... to
 * the stand-ins, and only those: Node's own modules stay Node's everywhere else. This checks the
 * adapters' logic (timeouts, caps, error mapping, CONNACK codes, NVS limits, byte plumbing);
 * Moddable itself has not run here.
 */
import { strict as assert } from "node:assert";
import { register } from "node:module";
import { pathToFileURL } from "node:url";
import type { HttpRequest, MqttConnectOptions } from "../hal/types";
import type * as HalTypes from "../hal/types";
import type * as Encoding from "../firmware/encoding";
import type * as DynregSign from "../firmware/dynreg-sign";
import type * as FakeHttp from "./esp32-fakes/http";
import type * as FakeMqtt from "./esp32-fakes/mqtt";
import type * as FakePreference from "./esp32-fakes/preference";
import type * as FakeRng from "./esp32-fakes/hwrng";

const FAKES: Record<string, string> = {
  http: "http", timer: "timer", securesocket: "securesocket", Resource: "resource", mqtt: "mqtt",
  preference: "preference", crypt: "crypt", hmac: "hmac", "hal/esp32/hwrng": "hwrng",
};
const map = Object.fromEntries(Object.entries(FAKES).map(([name, file]) => [name, new URL(`./esp32-fakes/${file}.ts`, import.meta.url).href]));
const hook = `const MAP = ${JSON.stringify(map)};
export async function resolve(specifier, context, next) {
  if (context.parentURL && context.parentURL.includes("/hal/esp32/") && Object.hasOwn(MAP, specifier)) return next(MAP[specifier], context);
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);

// Everything with identity (error classes, the stand-ins' recorded state) is loaded through
// ESM import(), the same graph hal/esp32 is loaded into, so instanceof and shared state hold.
const load = (relative: string) => import(pathToFileURL(new URL(relative, import.meta.url).pathname).href);
const esp32 = (file: string) => load(`../hal/esp32/${file}.ts`);

let FlashError: typeof HalTypes.FlashError;
let HalMqttError: typeof HalTypes.HalMqttError;
let HalNetworkError: typeof HalTypes.HalNetworkError;
let base64Decode: typeof Encoding.base64Decode, hexEncode: typeof Encoding.hexEncode;
let utf8Decode: typeof Encoding.utf8Decode, utf8Encode: typeof Encoding.utf8Encode;
let encodeRegisterBody: typeof DynregSign.encodeRegisterBody, signRegisterRequest: typeof DynregSign.signRegisterRequest;
let Request: typeof FakeHttp.Request;
let Client: typeof FakeMqtt.default;
let prefs: typeof FakePreference;
let rngStats: typeof FakeRng.stats;


function request(overrides: Partial<HttpRequest> = {}): HttpRequest {
  return { method: "POST", url: "https://gw.example/device/register", headers: { "Content-Type": "application/json", Connection: "keep-alive" }, body: utf8Encode("{}"), timeoutMs: 2000, maxResponseBytes: 64, ...overrides };
}

const isNet = (code: string) => (error: unknown) => error instanceof HalNetworkError && error.code === code;
/** Lets the adapter's deferred close (a zero-delay Moddable timer) run. */
const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe("hal/esp32 adapters on stand-ins for Moddable modules", () => {
  before(async () => {
    ({ FlashError, HalMqttError, HalNetworkError } = await load("../hal/types.ts"));
    ({ base64Decode, hexEncode, utf8Decode, utf8Encode } = await load("../firmware/encoding.ts"));
    ({ encodeRegisterBody, signRegisterRequest } = await load("../firmware/dynreg-sign.ts"));
    ({ Request } = await load("./esp32-fakes/http.ts"));
    ({ default: Client } = await load("./esp32-fakes/mqtt.ts"));
    prefs = await load("./esp32-fakes/preference.ts");
    ({ stats: rngStats } = await load("./esp32-fakes/hwrng.ts"));
  });
  afterEach(() => {
    Request.behaviour = undefined;
    Request.throwOnConstruct = undefined;
    Request.instances.length = 0;
    Client.instances.length = 0;
  });

  describe("ModdableHttpClient (http Request)", () => {
    let client: { request(r: HttpRequest): Promise<any> };
    before(async () => {
      const { ModdableHttpClient } = await esp32("http");
      client = new ModdableHttpClient("tencent-root-ca.der");
    });

    it("sends the request as Request options and assembles the response", async () => {
      Request.behaviour = (r) => r.respond(200, [["content-type", "application/json"], ["x-a", "1"], ["x-a", "2"]], [utf8Encode('{"Resp'), utf8Encode('onse":{}}')]);
      const response = await client.request(request());
      assert.equal(response.status, 200);
      assert.deepEqual(response.headers, { "content-type": "application/json", "x-a": "1, 2" });
      assert.equal(utf8Decode(response.body), '{"Response":{}}');
      const { options } = Request.instances[0];
      assert.deepEqual([options.host, options.port, options.path, options.method], ["gw.example", 443, "/device/register", "POST"]);
      assert.deepEqual(options.headers, ["Content-Type", "application/json"], "Connection is Request's own");
      assert.equal(utf8Decode(new Uint8Array(options.body)), "{}");
      assert.ok(options.Socket && options.secure.certificate && options.secure.protocolVersion === 0x0303, "https goes through SecureSocket with the root CA");
    });

    it("uses a plain socket for http:// and sends no body for a GET", async () => {
      Request.behaviour = (r) => r.respond(204, [], []);
      const response = await client.request(request({ method: "GET", url: "http://127.0.0.1:8080/x?y=1", body: undefined }));
      assert.equal(response.status, 204);
      const { options } = Request.instances[0];
      assert.deepEqual([options.port, options.path, options.Socket, options.body], [8080, "/x?y=1", undefined, undefined]);
    });

    it("fails too-large as soon as the body passes the cap, closing outside the callback", async () => {
      Request.behaviour = (r) => r.respond(200, [], [new Uint8Array(40), new Uint8Array(40), new Uint8Array(40)]);
      await assert.rejects(client.request(request()), isNet("too-large"));
      const sent = Request.instances[0];
      await tick();
      assert.equal(sent.closed, true);
      assert.equal(sent.closedInsideCallback, false, "closing inside the callback makes http.js call a deleted callback");
    });

    it("fails too-large on runaway headers", async () => {
      Request.behaviour = (r) => {
        r.emit(Request.status, 200);
        for (let i = 0; i < 20; i++) r.emit(Request.header, `x-${i}`, "v".repeat(500));
      };
      await assert.rejects(client.request(request()), isNet("too-large"));
    });

    it("times out the whole exchange and closes the request", async () => {
      Request.behaviour = (r) => r.emit(Request.status, 200); // then silence
      await assert.rejects(client.request(request({ timeoutMs: 50 })), isNet("timeout"));
      await tick();
      assert.equal(Request.instances[0].closed, true);
    });

    it("maps socket errors: before a status line to other, after it to reset", async () => {
      Request.behaviour = (r) => r.emit(Request.error);
      await assert.rejects(client.request(request()), isNet("other"));
      Request.behaviour = (r) => {
        r.emit(Request.status, 200);
        r.emit(Request.error);
      };
      await assert.rejects(client.request(request()), isNet("reset"));
    });

    it("rejects bad input and a Request that cannot start as HalNetworkError, never anything else", async () => {
      await assert.rejects(client.request(request({ url: "ftp://x/" })), isNet("other"));
      await assert.rejects(client.request(request({ timeoutMs: 0 })), isNet("other"));
      Request.throwOnConstruct = new Error("DNS queue full");
      await assert.rejects(client.request(request()), isNet("other"));
      assert.equal(Request.instances.length, 0);
    });
  });

  describe("ModdableMqttTransport (mqtt Client)", () => {
    let transport: { connect(o: MqttConnectOptions, h: any): Promise<any> };
    const options: MqttConnectOptions = { url: "mqtts://PID.iotcloud.example", clientId: "PIDdev1", username: "PIDdev1;21010406;abcde;4102444800", password: "f00d;hmacsha256", keepAliveSeconds: 240, connectTimeoutMs: 2000 };
    const events: string[] = [];
    const handlers = { onMessage: (topic: string, payload: Uint8Array) => events.push(`msg ${topic} ${utf8Decode(payload)}`), onClose: (error?: Error) => events.push(`close ${error ? error.message : "asked"}`) };
    beforeEach(() => (events.length = 0));
    before(async () => {
      const { ModdableMqttTransport } = await esp32("mqtt");
      transport = new ModdableMqttTransport("tencent-root-ca.der");
    });

    it("connects with the credentials, TLS on 8883, keep-alive in ms, and relays messages", async () => {
      const connecting = transport.connect(options, handlers);
      const mqtt = Client.instances[0];
      const { host, port, id, user, password, timeout, Socket, secure } = mqtt.options;
      assert.deepEqual([host, port, id, user, timeout], ["PID.iotcloud.example", 8883, "PIDdev1", options.username, 240_000]);
      assert.equal(utf8Decode(new Uint8Array(password)), "f00d;hmacsha256");
      assert.ok(Socket && secure.certificate, "TLS with the root CA");
      mqtt.ready();
      const session = await connecting;
      mqtt.deliver("$thing/down/property/PID/dev1", utf8Encode("{}"));
      await session.subscribe("$thing/down/property/PID/dev1", 0);
      await session.publish("$thing/up/property/PID/dev1", utf8Encode('{"a":1}'), 1);
      assert.deepEqual(mqtt.subscribed, ["$thing/down/property/PID/dev1"]);
      assert.equal(mqtt.published[0].flags?.quality, 1);
      assert.equal(utf8Decode(new Uint8Array(mqtt.published[0].data)), '{"a":1}');
      await session.close();
      assert.deepEqual(events, ["msg $thing/down/property/PID/dev1 {}", "close asked"]);
      assert.equal(mqtt.connected, false);
    });

    it("turns a refused CONNACK into HalMqttError with its return code", async () => {
      const connecting = transport.connect(options, handlers);
      Client.instances[0].refuse(5);
      await assert.rejects(connecting, (error: unknown) => error instanceof HalMqttError && error.returnCode === 5);
      assert.deepEqual(events, [], "a refusal is not a session close");
    });

    it("refuses a client-certificate connect before opening any socket", async () => {
      const withCert = { ...options, clientCertificate: { certPem: "-----BEGIN CERTIFICATE-----", keyPem: "-----BEGIN PRIVATE KEY-----" } };
      await assert.rejects(transport.connect(withCert, handlers), (error: unknown) => error instanceof HalMqttError && /PSK/.test(error.message));
      assert.equal(Client.instances.length, 0);
    });

    it("reports a drop before CONNACK as a network error and a later drop through onClose", async () => {
      const first = transport.connect(options, handlers);
      Client.instances[0].fail("socket error -2");
      await assert.rejects(first, isNet("reset"));
      const second = transport.connect(options, handlers);
      Client.instances[1].ready();
      const session = await second;
      Client.instances[1].fail("read time out");
      assert.deepEqual(events, ["close MQTT connection lost: read time out"]);
      await assert.rejects(session.publish("t", utf8Encode("x"), 0), isNet("reset"));
    });

    it("times out a connect with no CONNACK, closing without DISCONNECT", async () => {
      await assert.rejects(transport.connect({ ...options, connectTimeoutMs: 30 }, handlers), isNet("timeout"));
      assert.deepEqual(Client.instances[0].closedWith, [true]);
    });

    it("uses a plain socket for mqtt://", async () => {
      const connecting = transport.connect({ ...options, url: "mqtt://127.0.0.1:1884" }, handlers);
      const mqtt = Client.instances[0];
      assert.deepEqual([mqtt.options.port, mqtt.options.Socket], [1884, undefined]);
      mqtt.ready();
      await (await connecting).close();
    });
  });

  describe("PreferenceFlash (Preference)", () => {
    let PreferenceFlash: any;
    before(async () => ({ PreferenceFlash } = await esp32("flash")));
    beforeEach(() => {
      prefs.nvs.clear();
      prefs.calls.length = 0;
    });

    it("stores typed values and lists keys with Preference.keys(), which works on ESP32 (nvs_entry_find)", () => {
      const flash = new PreferenceFlash();
      flash.set("exs", "rec.b", new Uint8Array([1, 2]).buffer);
      flash.set("other", "count", 7);
      assert.deepEqual(flash.keys("exs"), ["rec.b"]);
      assert.deepEqual(flash.keys("other"), ["count"]);
      flash.delete("exs", "rec.b");
      assert.deepEqual(flash.keys("exs"), []);
      assert.equal(flash.get("other", "count"), 7);
    });

    it("lists keys written on an earlier boot under names it was never told, with one Preference.keys() call and no reads", () => {
      prefs.nvs.set("exs/rec.a.7", new Uint8Array([9]).buffer);
      prefs.nvs.set("exs/zz-stray", "left by an older firmware");
      const flash = new PreferenceFlash();
      prefs.calls.length = 0;
      assert.deepEqual(flash.keys("exs"), ["rec.a.7", "zz-stray"]);
      assert.deepEqual(prefs.calls, ["keys exs"]);
    });

    it("reports a failing Preference.keys() as FlashError io", () => {
      const flash = new PreferenceFlash();
      prefs.failures.next = new Error("nvs_entry_find failed");
      assert.throws(() => flash.keys("exs"), (e: unknown) => e instanceof FlashError && e.code === "io" && /listing exs failed/.test(e.message));
    });

    it("refuses limit violations before Preference is touched", () => {
      const flash = new PreferenceFlash();
      assert.throws(() => flash.set("ns", "a-key-longer-than-15", 1), (e: unknown) => e instanceof FlashError && e.code === "limit");
      assert.throws(() => flash.set("ns", "k", "x".repeat(4000)), (e: unknown) => e instanceof FlashError && e.code === "limit");
      assert.deepEqual(prefs.calls, []);
    });

    it("reports a failing NVS operation as FlashError io", () => {
      const flash = new PreferenceFlash();
      prefs.failures.next = new Error("nvs set fail");
      assert.throws(() => flash.set("ns", "k", 1), (e: unknown) => e instanceof FlashError && e.code === "io" && /nvs set fail/.test(e.message));
    });
  });

  describe("CryptHal (crypt, hmac, hardware RNG)", () => {
    let crypto: any;
    before(async () => {
      const { CryptHal } = await esp32("crypto");
      crypto = new CryptHal();
    });

    it("decrypts PROTOCOL.md §4's payload vector with AES-128-CBC and no padding removal", () => {
      const secret = "hzvf5LF9S0isvBhDSauWMaIk";
      const payload = base64Decode("s6FB3a1BA/YYbcmSE12XpeDVmQNDcf1QgVD141RRbmmAnFwQfp1ECAu5O016mCOvYlJJ6V59yM4OqQSiWphfTg==");
      const plain = crypto.aes128CbcDecrypt(utf8Encode(secret.slice(0, 16)), utf8Encode("0".repeat(16)), payload);
      const json = '{"encryptionType":2,"psk":"lDZ6Uqt+I9E0wW7rvDUs7Q=="}';
      assert.equal(utf8Decode(plain.subarray(0, json.length)), json);
      assert.deepEqual([...plain.subarray(json.length)], new Array(11).fill(0));
      assert.deepEqual(crypto.aes128CbcEncrypt(utf8Encode(secret.slice(0, 16)), utf8Encode("0".repeat(16)), plain), payload);
    });

    it("reproduces §4's hmacsha1 request signature through the core's signer", () => {
      const body = encodeRegisterBody("PRODUCT_ID1", "DEVICENAME1");
      const signed = signRegisterRequest(crypto, {
        productSecret: "PRODUCT_SECRETKEY", host: "ap-guangzhou.gateway.tencentdevices.com", path: "/device/register",
        algorithm: "hmacsha1", timestamp: 1629362589, nonce: 333464802, body,
      });
      assert.equal(signed.bodyHashHex, "88eef715f4c42652ef51b274f174f4f81a393f75");
      assert.equal(signed.signature, "7u3+tAPlt8O4mPpBm3lambv23sw=");
      assert.equal(hexEncode(crypto.digest("sha1", body)), signed.bodyHashHex);
    });

    it("refuses malformed AES input and draws randomness from the hardware RNG module", () => {
      assert.throws(() => crypto.aes128CbcDecrypt(new Uint8Array(15), new Uint8Array(16), new Uint8Array(16)), RangeError);
      assert.throws(() => crypto.aes128CbcDecrypt(new Uint8Array(16), new Uint8Array(16), new Uint8Array(17)), RangeError);
      const before = rngStats.calls;
      assert.equal(crypto.randomBytes(24).length, 24);
      assert.equal(rngStats.calls, before + 1);
      assert.throws(() => crypto.randomBytes(1e6), RangeError);
    });
  });
});
