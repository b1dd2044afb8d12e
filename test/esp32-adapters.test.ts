/**
 * The Moddable-bound adapters of hal/esp32 (http, socket, flash, crypto), driven on Node against
 * stand-ins for Moddable's modules (test/esp32-fakes/, each following the documented callback
 * protocol). A resolve hook sends hal/esp32's imports of "http", "socket", "preference", ... to
 * the stand-ins, and only those: Node's own modules stay Node's everywhere else. This checks the
 * adapters' logic (timeouts, caps, error mapping, send queue, NVS limits, byte plumbing), and
 * runs the MQTT contract's scenarios over the socket adapter; Moddable itself has not run here.
 */
import { strict as assert } from "node:assert";
import { register } from "node:module";
import { pathToFileURL } from "node:url";
import type { HttpRequest, SocketHandlers } from "../firmware/contracts";
import type * as HalTypes from "../firmware/contracts";
import type * as Encoding from "../firmware/encoding";
import type * as DynregSign from "../firmware/dynreg-sign";
import type * as FakeHttp from "./esp32-fakes/http";
import type * as FakeSocket from "./esp32-fakes/socket";
import type * as ContractDevice from "./mqtt-contract/device";
import type * as NodeClock from "../hal/node/clock";
import { startScriptedBroker, type ScriptedBroker } from "./mqtt-contract/broker";
import { SCENARIOS } from "./mqtt-contract/scenarios";
import type * as FakePreference from "./esp32-fakes/preference";
import type * as FakeRng from "./esp32-fakes/hwrng";

const FAKES: Record<string, string> = {
  http: "http", timer: "timer", securesocket: "securesocket", socket: "socket", Resource: "resource",
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
let Socket: typeof FakeSocket.Socket;
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
    ({ FlashError, HalMqttError, HalNetworkError } = await load("../firmware/contracts.ts"));
    ({ base64Decode, hexEncode, utf8Decode, utf8Encode } = await load("../firmware/encoding.ts"));
    ({ encodeRegisterBody, signRegisterRequest } = await load("../firmware/dynreg-sign.ts"));
    ({ Request } = await load("./esp32-fakes/http.ts"));
    ({ Socket } = await load("./esp32-fakes/socket.ts"));
    prefs = await load("./esp32-fakes/preference.ts");
    ({ stats: rngStats } = await load("./esp32-fakes/hwrng.ts"));
  });
  afterEach(() => {
    Request.behaviour = undefined;
    Request.throwOnConstruct = undefined;
    Request.instances.length = 0;
    Socket.instances.length = 0;
    Socket.sendBufferBytes = 512;
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

  describe("ModdableSocketTransport (socket and securesocket stand-ins)", () => {
    let transport: { connect(endpoint: object, handlers: SocketHandlers, timeoutMs: number): Promise<{ write(bytes: Uint8Array): void; close(): void }> };
    let pemToDer: (pem: string, what: string) => ArrayBuffer[];
    let MAX_QUEUED_BYTES: number;
    let broker: ScriptedBroker;
    let server: import("node:net").Server;
    let port: number;
    let received: Buffer;
    const serverSockets = new Set<import("node:net").Socket>();
    before(async () => {
      ({ pemToDer, MAX_QUEUED_BYTES } = await esp32("socket"));
      const { ModdableSocketTransport } = await esp32("socket");
      transport = new ModdableSocketTransport("tencent-root-ca.der");
      const net = await import("node:net");
      server = net.createServer((socket) => {
        received = Buffer.alloc(0);
        serverSockets.add(socket);
        socket.on("close", () => serverSockets.delete(socket));
        socket.on("data", (data) => {
          received = Buffer.concat([received, data]);
          if (data.includes(0x21)) socket.write("!"); // "!" asks for an echo
          if (data.includes(0x2e)) socket.end(); // "." asks the server to close
        });
        socket.on("error", () => undefined);
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      port = (server.address() as import("node:net").AddressInfo).port;
      broker = await startScriptedBroker();
    });
    after(async () => {
      await broker?.close();
      for (const socket of serverSockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    });

    function recorder() {
      const events: string[] = [];
      let wake: (() => void) | undefined;
      const handlers: SocketHandlers = {
        onData: (bytes) => (events.push(`data ${utf8Decode(bytes)}`), wake?.()),
        onClose: (error) => (events.push(`close ${error ? (error as { code: string }).code : "clean"}`), wake?.()),
      };
      const until = async (ready: () => boolean) => {
        while (!ready()) await new Promise<void>((resolve) => (wake = resolve));
      };
      return { events, handlers, until };
    }

    it("queues what the send buffer cannot take and writes it as room appears, in order", async () => {
      Socket.sendBufferBytes = 100;
      const rec = recorder();
      const socket = await transport.connect({ host: "127.0.0.1", port }, rec.handlers, 2000);
      const big = "x".repeat(450);
      socket.write(utf8Encode(big));
      socket.write(utf8Encode("!"));
      await rec.until(() => rec.events.length > 0);
      assert.deepEqual(rec.events, ["data !"]);
      assert.equal(received.toString(), `${big}!`);
      assert.ok(Socket.instances[0].written.every((chunk) => chunk.length <= 100), "never more than the room at once");
      assert.throws(() => socket.write(new Uint8Array(MAX_QUEUED_BYTES + 1)), isNet("too-large"));
      socket.close();
    });

    it("reports the peer's close once, then refuses writes; nothing after close()", async () => {
      const rec = recorder();
      const socket = await transport.connect({ host: "127.0.0.1", port }, rec.handlers, 2000);
      socket.write(utf8Encode("."));
      await rec.until(() => rec.events.length > 0);
      assert.deepEqual(rec.events, ["close clean"]);
      assert.throws(() => socket.write(utf8Encode("late")), isNet("reset"));
      const second = recorder();
      const other = await transport.connect({ host: "127.0.0.1", port }, second.handlers, 2000);
      other.close();
      other.close();
      await tick();
      assert.deepEqual(second.events, []);
      assert.throws(() => other.write(utf8Encode("late")), isNet("reset"));
    });

    it("rejects a connection that fails or does not open in time, without calling the handlers", async () => {
      const rec = recorder();
      const probe = (await import("node:net")).createServer();
      await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
      const closedPort = (probe.address() as import("node:net").AddressInfo).port;
      await new Promise((resolve) => probe.close(resolve));
      await assert.rejects(transport.connect({ host: "127.0.0.1", port: closedPort }, rec.handlers, 2000), isNet("other"));
      await assert.rejects(transport.connect({ host: "127.0.0.1", port }, rec.handlers, 0), isNet("other"));
      assert.deepEqual(rec.events, []);
    });

    it("opens mqtts:// endpoints on SecureSocket with the root CA, the server name and a client certificate as DER", async () => {
      const der = (text: string) => Buffer.from(text).toString("base64").match(/.{1,64}/g)!.join("\n");
      const certPem = `-----BEGIN CERTIFICATE-----\n${der("leaf cert")}\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\n${der("issuer")}\n-----END CERTIFICATE-----\n`;
      const { generateKeyPairSync } = await import("node:crypto");
      const rsaKey = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey;
      const keyPem = rsaKey.export({ type: "pkcs8", format: "pem" }).toString();
      const socket = await transport.connect({ host: "127.0.0.1", port, tls: { serverName: "PID.iotcloud.example", clientCertificate: { certPem, keyPem } } }, recorder().handlers, 2000);
      const secure = Socket.instances[0].dictionary.secure as Record<string, unknown>;
      assert.equal(Socket.instances[0].constructor.name, "SecureSocket");
      assert.ok(secure.certificate, "the trust anchor");
      assert.equal(secure.protocolVersion, 0x0303);
      assert.equal(secure.tls_server_name, "PID.iotcloud.example");
      assert.deepEqual((secure.clientCertificates as ArrayBuffer[]).map((item) => Buffer.from(item).toString()), ["leaf cert", "issuer"]);
      assert.deepEqual(Buffer.from(secure.clientKey as ArrayBuffer), rsaKey.export({ type: "pkcs8", format: "der" }));
      socket.close();
      assert.throws(() => pemToDer("no armour here", "client key"), isNet("tls"));
    });

    it("refuses a client key Moddable's TLS cannot sign with (EC) as unusable credentials, before opening a socket", async () => {
      const { generateKeyPairSync } = await import("node:crypto");
      const der = (text: string) => Buffer.from(text).toString("base64");
      const certPem = `-----BEGIN CERTIFICATE-----\n${der("leaf cert")}\n-----END CERTIFICATE-----\n`;
      const keyPem = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
      const opened = Socket.instances.length;
      await assert.rejects(
        transport.connect({ host: "127.0.0.1", port, tls: { clientCertificate: { certPem, keyPem } } }, recorder().handlers, 2000),
        (error: unknown) => isNet("credentials")(error) && /RSA client keys only/.test((error as Error).message),
      );
      assert.equal(Socket.instances.length, opened);
    });

    describe("the MQTT contract's scenarios on this adapter (over the stand-ins)", () => {
      let runScenario: typeof ContractDevice.runScenario;
      let clock: NodeClock.NodeClock;
      before(async () => {
        ({ runScenario } = await load("./mqtt-contract/device.ts"));
        clock = (await load("../hal/node/clock.ts")).createNodeClock();
      });
      after(() => clock?.cancelAll());
      for (const scenario of SCENARIOS) {
        it(`${scenario.name}: ${scenario.says}`, async () => {
          Socket.sendBufferBytes = 64; // most packets wait in the adapter's queue at least once
          broker.arm(scenario);
          let outcomes: unknown;
          try {
            outcomes = await runScenario({ socket: transport as never, clock }, scenario, broker.url);
          } finally {
            var report = await broker.finish();
          }
          assert.deepEqual(outcomes, scenario.expect);
          assert.deepEqual(report.violations, []);
        }).timeout(30_000);
      }
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

    it("decrypts docs/PROTOCOL.md §10's payload vector with AES-128-CBC and no padding removal", () => {
      const secret = "hzvf5LF9S0isvBhDSauWMaIk";
      const payload = base64Decode("s6FB3a1BA/YYbcmSE12XpeDVmQNDcf1QgVD141RRbmmAnFwQfp1ECAu5O016mCOvYlJJ6V59yM4OqQSiWphfTg==");
      const plain = crypto.aes128CbcDecrypt(utf8Encode(secret.slice(0, 16)), utf8Encode("0".repeat(16)), payload);
      const json = '{"encryptionType":2,"psk":"lDZ6Uqt+I9E0wW7rvDUs7Q=="}';
      assert.equal(utf8Decode(plain.subarray(0, json.length)), json);
      assert.deepEqual([...plain.subarray(json.length)], new Array(11).fill(0));
      assert.deepEqual(crypto.aes128CbcEncrypt(utf8Encode(secret.slice(0, 16)), utf8Encode("0".repeat(16)), plain), payload);
    });

    it("reproduces §10's hmacsha1 request signature through the core's signer", () => {
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
