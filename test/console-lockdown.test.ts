/**
 * Nothing unsigned reveals a secret. Each route of the former console API (which served every
 * PSK, private key and ProductSecret to anyone who reached the port) is asked as its old clients
 * asked it, without authentication; the raw bytes of each answer are searched for every secret
 * the platform holds, and what the route used to change is checked unchanged. The same holds
 * for the Cloud API's secret-bearing actions unsigned or mis-signed, and for the web console.
 */
import { strict as assert } from "node:assert";
import { connect } from "node:net";
import mqtt from "mqtt";
import { startPlatform, type RunningPlatform } from "../simulator/platform/index";
import { authorizationHeader } from "../simulator/platform/cloud-api/tc3";
import { CERT_PID, PID, SECRET, mqttCredentials, registerDevice, registerPsk, testConfig } from "./platform-helpers";

/** Sends one request over a raw socket and returns every byte the platform wrote back. */
function rawExchange(url: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<string> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.hostname, port: Number(target.port) });
    const chunks: Buffer[] = [];
    const lines = [`${method} ${path} HTTP/1.1`, `Host: ${target.host}`, "Connection: close",
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
      ...(body !== undefined ? [`Content-Length: ${Buffer.byteLength(body)}`] : [])];
    socket.on("connect", () => socket.end(`${lines.join("\r\n")}\r\n\r\n${body ?? ""}`));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
  });
}

const JSON_TYPE = { "Content-Type": "application/json" };

describe("no secret without authentication", function () {
  let platform: RunningPlatform;
  let secrets: string[];
  const clients: mqtt.MqttClient[] = [];

  // A fresh platform per case: one route's effect (say, a deleted product) must not hide another's.
  beforeEach(async () => {
    platform = await startPlatform({ memory: true, config: testConfig() });
    // Every kind of secret exists: issued PSKs, a certificate device's private key, ProductSecrets, the API key.
    const psk = await registerPsk(platform.httpUrl, "dev001");
    await registerPsk(platform.httpUrl, "dev002");
    const client = await mqtt.connectAsync(platform.mqttUrl, { ...mqttCredentials(PID, "dev001", psk), reconnectPeriod: 0 });
    clients.push(client);
    await registerDevice(platform.httpUrl, { productId: CERT_PID, secret: "Qm9ndXNDZXJ0U2VjcmV0MDE", deviceName: "cam001" });
    const cam = (await platform.registry.getDevice(CERT_PID, "cam001"))!;
    assert.ok(cam.keyPem && cam.certPem);
    secrets = [
      (await platform.registry.getDevice(PID, "dev001"))!.psk!, (await platform.registry.getDevice(PID, "dev002"))!.psk!,
      ...cam.keyPem!.split("\n").filter((line) => line.length > 40 && !line.startsWith("-----")),
      ...(await platform.registry.listProducts()).map((product) => product.productSecret),
      platform.apiCredentials.secretKey,
    ];
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.endAsync(true);
    await platform.close();
  });

  function assertNoSecret(raw: string, route: string): void {
    assert.match(raw, /^HTTP\/1\.1 \d{3} /, `${route}: an HTTP answer`);
    for (const secret of secrets) assert.ok(!raw.includes(secret), `${route} revealed a secret: ${raw.slice(0, 300)}`);
    assert.doesNotMatch(raw, /PRIVATE KEY|"psk"|"productSecret"|"keyPem"/, route);
  }

  const FORMER_ROUTES: Array<{ method: string; path: string; body?: unknown; unchanged?: () => Promise<void> }> = [
    { method: "GET", path: "/console/products" },
    { method: "POST", path: "/console/products", body: { productId: "STOLEN0001" }, unchanged: async () => assert.equal(await platform.registry.getProduct("STOLEN0001"), undefined) },
    { method: "GET", path: `/console/products/${PID}` },
    { method: "PATCH", path: `/console/products/${PID}`, body: { dynamicRegistration: false, autoCreate: true },
      unchanged: async () => assert.deepEqual([(await platform.registry.getProduct(PID))!.dynamicRegistration, (await platform.registry.getProduct(PID))!.autoCreate], [true, false]) },
    { method: "DELETE", path: `/console/products/${PID}`, unchanged: async () => assert.ok(await platform.registry.getProduct(PID)) },
    { method: "GET", path: `/console/products/${PID}/devices` },
    { method: "POST", path: `/console/products/${PID}/devices`, body: { deviceName: "planted" }, unchanged: async () => assert.equal(await platform.registry.getDevice(PID, "planted"), undefined) },
    { method: "GET", path: `/console/products/${PID}/devices/dev001` },
    { method: "GET", path: `/console/products/${CERT_PID}/devices/cam001` },
    { method: "DELETE", path: `/console/products/${PID}/devices/dev002`, unchanged: async () => assert.ok(await platform.registry.getDevice(PID, "dev002")) },
    { method: "POST", path: `/console/products/${PID}/devices/dev001/control`, body: { params: { power_switch: 1 } }, unchanged: async () => assert.deepEqual(await platform.registry.listControls(PID, "dev001"), []) },
    { method: "GET", path: `/console/products/${PID}/devices/dev001/control` },
    { method: "POST", path: `/console/products/${PID}/devices/dev001/action`, body: { actionId: "reboot", params: {} }, unchanged: async () => assert.deepEqual(await platform.registry.listActions(PID, "dev001"), []) },
    { method: "GET", path: `/console/products/${PID}/devices/dev001/action` },
    { method: "GET", path: `/console/products/${PID}/devices/dev001/data` },
    { method: "GET", path: "/console/ca" },
  ];

  for (const route of FORMER_ROUTES) {
    it(`${route.method} ${route.path.replace(PID, ":pid").replace(CERT_PID, ":cert-pid").replace(/devices\/\w+/, "devices/:dn")} (former console API) reveals and changes nothing`, async () => {
      const raw = await rawExchange(platform.httpUrl, route.method, route.path, route.body === undefined ? {} : JSON_TYPE, route.body === undefined ? undefined : JSON.stringify(route.body));
      assertNoSecret(raw, `${route.method} ${route.path}`);
      assert.match(raw, /^HTTP\/1\.1 (404|405) /, "the route is gone");
      await route.unchanged?.();
    });
  }

  it("the Cloud API's secret-bearing actions, unsigned or signed with a wrong key, reveal nothing", async () => {
    const actions: Array<[string, unknown]> = [
      ["DescribeDevice", { ProductId: PID, DeviceName: "dev001" }],
      ["DescribeProductDynamicRegister", { ProductId: PID }],
      ["ModifyProductDynamicRegister", { ProductId: PID, RegisterType: 2, RegisterLimit: 0 }],
      ["CreateDevice", { ProductId: PID, DeviceName: "planted2" }],
      ["GetDeviceList", { ProductId: PID }],
      ["DescribeDevice", { ProductId: CERT_PID, DeviceName: "cam001" }],
      // What the console's firmware view calls: nothing of it without a signature either.
      ["GetCOSURL", { ProductID: PID, FirmwareVersion: "9.9.9", FileSize: 10 }],
      ["UploadFirmware", { ProductID: PID, FirmwareVersion: "9.9.9", Md5sum: "0".repeat(32), FileSize: 10 }],
      ["ListFirmwares", { PageNum: 1, PageSize: 10, ProductID: PID }],
      ["UpdateFirmware", { ProductID: PID, DeviceName: "dev001", FirmwareVersion: "9.9.9", FirmwareOriVersion: "1.0.0" }],
      ["BatchUpdateFirmware", { ProductID: PID, FirmwareVersion: "9.9.9", DeviceNames: ["dev001"] }],
    ];
    const timestamp = Math.floor(Date.now() / 1000);
    for (const [action, params] of actions) {
      const body = JSON.stringify(params);
      const base = { ...JSON_TYPE, "X-TC-Action": action, "X-TC-Version": "2019-04-23", "X-TC-Timestamp": String(timestamp) };
      const wrongKey = authorizationHeader({ secretId: platform.apiCredentials.secretId, secretKey: "notTheKeyNotTheKeyNotTheKey00000", timestamp, headers: { "content-type": "application/json", host: "127.0.0.1" }, payload: body });
      for (const headers of [base, { ...base, Authorization: wrongKey }, { ...base, Authorization: "TC3-HMAC-SHA256 Credential=x" }] as Array<Record<string, string>>) {
        const raw = await rawExchange(platform.httpUrl, "POST", "/", headers, body);
        assertNoSecret(raw, `${action} ${headers.Authorization ? "mis-signed" : "unsigned"}`);
        assert.match(raw, /"Code":"AuthFailure\./);
      }
      const query = new URLSearchParams(params as Record<string, string>).toString();
      assertNoSecret(await rawExchange(platform.httpUrl, "GET", `/?${query}`, { "X-TC-Action": action, "X-TC-Version": "2019-04-23" }), `GET ${action}`);
    }
    assert.equal(await platform.registry.getDevice(PID, "planted2"), undefined);
    assert.equal((await platform.registry.firmware.listFirmwares({ productId: PID }, 0, 10)).total, 0, "no firmware published unsigned");
    assert.equal((await platform.registry.getProduct(PID))!.autoCreate, false);
  });

  it("the web console's page, scripts, event stream and link exchange reveal nothing unsigned", async () => {
    for (const path of ["/console", "/console/", "/console/app.js", "/console/tc3.js", "/console/chart.js", "/console/template.js", "/console/ota.js", "/console/md5.js", "/console/app.css", "/"]) {
      const raw = await rawExchange(platform.httpUrl, "GET", path, { Accept: "text/html" });
      assertNoSecret(raw, `GET ${path}`);
      if (path !== "/") assert.match(raw, /^HTTP\/1\.1 200 /, `${path} is served`);
    }
    // A browser opening the platform's address is sent to the console.
    assert.match(await rawExchange(platform.httpUrl, "GET", "/", { Accept: "text/html" }), /^HTTP\/1\.1 302 [^]*\r\nLocation: \/console\r\n/i);
    const events = await rawExchange(platform.httpUrl, "POST", "/console/events", JSON_TYPE, "{}");
    assertNoSecret(events, "POST /console/events");
    assert.match(events, /^HTTP\/1\.1 401 /);
    const session = await rawExchange(platform.httpUrl, "POST", "/console/session", JSON_TYPE, JSON.stringify({ Token: "A".repeat(43) }));
    assertNoSecret(session, "POST /console/session");
    assert.match(session, /^HTTP\/1\.1 403 /);
    assert.ok(!session.includes(SECRET));
    // The object store takes no file without a URL the platform signed (GetCOSURL, itself signed).
    const put = await rawExchange(platform.httpUrl, "PUT", `/ota/firmware/${PID}/9.9.9`, { "Content-Type": "application/octet-stream" }, "not firmware");
    assert.match(put, /^HTTP\/1\.1 403 /);
    assert.equal(await platform.registry.firmware.objectInfo(PID, "9.9.9"), undefined);
  });
});
