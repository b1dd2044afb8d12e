import { strict as assert } from "node:assert";
import { startPlatform, type RunningPlatform } from "../simulator/platform/index";
import { PID, SECRET, registerDevice, registerPsk, testConfig } from "./platform-helpers";

describe("platform: console API", () => {
  let platform: RunningPlatform;
  beforeEach(async () => { platform = await startPlatform({ memory: true, config: testConfig() }); });
  afterEach(async () => platform.close());

  async function call(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<{ status: number; json: any; date: string | null }> {
    const response = await fetch(`${platform.consoleUrl}${path}`, {
      method, headers: body === undefined ? {} : { "content-type": contentType }, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: response.status, json: await response.json(), date: response.headers.get("date") };
  }

  it("creates a product with a generated secret, lists it, toggles its switches and deletes it", async () => {
    const created = await call("POST", "/products", { productId: "NEWPROD001", autoCreate: true });
    assert.equal(created.status, 201);
    assert.ok(created.date);
    assert.match(created.json.productSecret, /^[A-Za-z0-9]{24}$/);
    assert.deepEqual([created.json.dynamicRegistration, created.json.autoCreate, created.json.authType], [true, true, "psk"]);
    const listed = await call("GET", "/products");
    assert.deepEqual(listed.json.products.map((p: any) => p.productId), ["AUTOCREATE", "ABCDEFGHIJ", "CERTPROD01", "DISABLED01", "NEWPROD001"].sort());
    // The ProductSecret exists only while dynamic registration is on.
    const off = await call("PATCH", "/products/NEWPROD001", { dynamicRegistration: false });
    assert.equal(off.json.productSecret, null);
    const on = await call("PATCH", "/products/NEWPROD001", { dynamicRegistration: true });
    assert.equal(on.json.productSecret, created.json.productSecret);
    assert.equal((await call("DELETE", "/products/NEWPROD001")).status, 200);
    assert.equal((await call("GET", "/products/NEWPROD001")).status, 404);
  });

  it("registration sees each console change to a product at once: switches, deletion, re-creation", async () => {
    const created = await call("POST", "/products", { productId: "LIVEPROD01", autoCreate: true });
    const secret: string = created.json.productSecret;
    const register = async (deviceName: string) => (await registerDevice(platform.httpUrl, { productId: "LIVEPROD01", secret, deviceName })).json.Response;
    assert.ok((await register("live1")).Payload, "registers while dynamic registration is on");
    await call("PATCH", "/products/LIVEPROD01", { autoCreate: false });
    assert.equal((await register("live2")).Error?.Code, "ResourceNotFound.DeviceNotExist");
    await call("PATCH", "/products/LIVEPROD01", { dynamicRegistration: false });
    assert.equal((await register("live1")).Error?.Code, "UnauthorizedOperation.DynamicRegistrationDisabled");
    await call("PATCH", "/products/LIVEPROD01", { dynamicRegistration: true, autoCreate: true });
    assert.ok((await register("live2")).Payload, "auto-creates again once switched back on");
    assert.equal((await call("DELETE", "/products/LIVEPROD01")).status, 200);
    assert.equal((await register("live3")).Error?.Code, "ResourceNotFound.ProductNotExist");
    const again = await call("POST", "/products", { productId: "LIVEPROD01", autoCreate: true });
    assert.notEqual(again.json.productSecret, secret);
    assert.equal((await register("live3")).Error?.Code, "AuthFailure.SignatureFailure", "the old secret no longer signs");
  });

  it("lists devices with state and timestamps but no secret; shows the PSK on the device detail only", async () => {
    const psk = await registerPsk(platform.httpUrl, "dev001");
    const list = await call("GET", `/products/${PID}/devices`);
    const dev001 = list.json.devices.find((d: any) => d.deviceName === "dev001");
    assert.equal(dev001.state, "registered");
    assert.equal(typeof dev001.registeredAt, "number");
    assert.equal(dev001.activatedAt, null);
    assert.ok(!JSON.stringify(list.json).includes(psk), "no secret in the list");
    assert.equal(list.json.devices.find((d: any) => d.deviceName === "dev002").state, "created");
    const detail = await call("GET", `/products/${PID}/devices/dev001`);
    assert.equal(detail.json.psk, psk);
    assert.equal((await call("GET", `/products/${PID}`)).json.productSecret, SECRET);
  });

  it("creates and deletes devices, refusing duplicates, bad names and unknown products", async () => {
    assert.equal((await call("POST", `/products/${PID}/devices`, { deviceName: "made001" })).status, 201);
    const duplicate = await call("POST", `/products/${PID}/devices`, { deviceName: "made001" });
    assert.equal(duplicate.status, 409);
    assert.match(JSON.stringify(duplicate.json), /device ABCDEFGHIJ\/made001 already exists/);
    // ProductId+DeviceName is the MQTT client id, so "ABCDEFGHI" + "Jmade001" would take the same one.
    assert.equal((await call("POST", "/products", { productId: "ABCDEFGHI" })).status, 201);
    const collision = await call("POST", "/products/ABCDEFGHI/devices", { deviceName: "Jmade001" });
    assert.equal(collision.status, 409);
    assert.match(JSON.stringify(collision.json), /client id ABCDEFGHIJmade001 is already taken/);
    assert.equal((await call("POST", `/products/${PID}/devices`, { deviceName: "bad name" })).status, 400);
    assert.equal((await call("POST", `/products/NOSUCHPROD/devices`, { deviceName: "x" })).status, 404);
    assert.equal((await call("DELETE", `/products/${PID}/devices/made001`)).status, 200);
    assert.equal((await call("DELETE", `/products/${PID}/devices/made001`)).status, 404);
  });

  it("refuses bad product input, bad JSON, wrong content types and unknown routes with clear errors", async () => {
    const cases: Array<[string, string, unknown, number, string?]> = [
      ["POST", "/products", { productId: "TOO-LONG-PRODUCT" }, 400],
      ["POST", "/products", { productId: "SHORTSEC01", productSecret: "short" }, 400],
      ["POST", "/products", { productId: "BADTYPE001", authType: "token" }, 400],
      ["POST", "/products", { productId: "BADFLAG001", autoCreate: "yes" }, 400],
      ["POST", "/products", { productId: PID }, 409],
      ["POST", "/products", "{nope", 400],
      ["POST", "/products", { productId: "X" }, 415, "text/plain"],
      ["PUT", "/products", { productId: "X" }, 405],
      ["GET", "/nothing", undefined, 404],
    ];
    for (const [method, path, body, status, type] of cases) {
      const answer = await call(method, path, body, type);
      assert.equal(answer.status, status, `${method} ${path} ${JSON.stringify(body)}`);
      assert.equal(typeof answer.json.error.message, "string");
    }
  });

  it("serves the mock CA certificate", async () => {
    const answer = await call("GET", "/ca");
    assert.match(answer.json.caCertPem, /BEGIN CERTIFICATE/);
  });
});
