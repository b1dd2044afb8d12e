/**
 * The management actions of iotexplorer 2019-04-23, driven by Tencent's Node SDK: products,
 * dynamic registration type and limit (enforced by the registration endpoint), devices and
 * their enable state (enforced at registration and at CONNECT), with Tencent's response shapes.
 */
import { strict as assert } from "node:assert";
import { X509Certificate } from "node:crypto";
import mqtt from "mqtt";
import { startPlatform, type RunningPlatform } from "../simulator/platform/index";
import { classifyPlatformCode } from "../firmware/dynreg-response";
import { apiClient, apiFailure, apiTarget, type IotExplorerClient } from "./cloud-api-helpers";
import { CERT_PID, PID, SECRET, decrypt, mqttCredentials, registerDevice, registerPsk, testConfig } from "./platform-helpers";
import { describeStores } from "./lib/store-matrix";

const NEW_PRODUCT = {
  ProductName: "smart-lamp", CategoryId: 1, ProductType: 0, EncryptionType: "2", NetType: "wifi", DataProtocol: 1,
  ProductDesc: "a lamp", ProjectId: "prj-lamps",
};

describeStores("cloud api: products and dynamic registration", function (store) {
  let platform: RunningPlatform;
  let api: IotExplorerClient;

  beforeEach(async () => {
    platform = await startPlatform({ ...(await store.options()), config: testConfig() });
    api = apiClient(apiTarget(platform));
  });
  afterEach(async () => platform.close());

  it("creates a product (CreateStudioProduct) with Tencent's ProductEntry fields, describes, lists and deletes it", async () => {
    const before = Math.floor(Date.now() / 1000);
    const { Product: created } = await api.CreateStudioProduct({ ...NEW_PRODUCT, Rate: "1_0_mbps" });
    assert.match(created!.ProductId!, /^[A-Z0-9]{10}$/);
    assert.deepEqual(
      { ...created, ProductId: undefined, CreateTime: undefined, UpdateTime: undefined },
      {
        ProductId: undefined, ProductName: "smart-lamp", CategoryId: 1, EncryptionType: "2", NetType: "wifi", DataProtocol: 1,
        ProductDesc: "a lamp", DevStatus: "dev", CreateTime: undefined, UpdateTime: undefined, Region: "ap-guangzhou", ProductType: 0,
        ProjectId: "prj-lamps", EnableProductScript: "false", BindStrategy: 0, DeviceCount: 0, IsInterconnection: 0, Rate: "1_0_mbps",
      },
    );
    assert.ok(created!.CreateTime! >= before && created!.CreateTime! <= before + 5, "CreateTime is Unix seconds");
    const { Product: described } = await api.DescribeStudioProduct({ ProductId: created!.ProductId! });
    assert.deepEqual(described, created);
    // Dynamic registration starts off: no ProductSecret to see yet.
    assert.deepEqual(await api.DescribeProductDynamicRegister({ ProductId: created!.ProductId! }).then(({ RequestId, ...rest }) => rest), { RegisterType: 0, ProductSecret: "", RegisterLimit: 0 });
    const list = await api.GetStudioProductList({ ProjectId: "prj-lamps" });
    assert.equal(list.Total, 1);
    assert.equal(list.Products![0].ProductId, created!.ProductId);
    await api.DeleteStudioProduct({ ProductId: created!.ProductId! });
    assert.equal((await apiFailure(api.DescribeStudioProduct({ ProductId: created!.ProductId! }))).code, "ResourceNotFound.StudioProductNotExist");
  });

  it("pages the product list with Offset and Limit and counts each product's devices", async () => {
    const all = await api.GetStudioProductList({});
    assert.equal(all.Total, 4);
    assert.deepEqual(all.Products!.map((p) => [p.ProductId, p.DeviceCount, p.EncryptionType]),
      [["ABCDEFGHIJ", 5, "2"], ["AUTOCREATE", 0, "2"], ["CERTPROD01", 1, "1"], ["DISABLED01", 1, "2"]]);
    const page = await api.GetStudioProductList({ Offset: 1, Limit: 2 });
    assert.deepEqual([page.Total, page.Products!.map((p) => p.ProductId)], [4, ["AUTOCREATE", "CERTPROD01"]]);
    assert.equal((await apiFailure(api.GetStudioProductList({ Limit: 0 }))).code, "InvalidParameterValue");
    assert.equal((await apiFailure(api.GetStudioProductList({ Limit: 101 }))).code, "InvalidParameterValue");
    assert.equal((await apiFailure(api.GetStudioProductList({ Offset: -1 }))).code, "InvalidParameterValue");
    assert.equal((await apiFailure(api.GetStudioProductList({ DevStatus: "shipping" }))).code, "InvalidParameterValue");
  });

  it("refuses bad product fields, a taken name, and deleting a product that still has devices", async () => {
    const cases: Array<[Partial<typeof NEW_PRODUCT>, string]> = [
      [{ ProductName: "has space" }, "InvalidParameterValue"],
      [{ ProductName: "x".repeat(33) }, "InvalidParameterValue"],
      [{ EncryptionType: "21" }, "InvalidParameterValue"],
      [{ ProductType: 3 }, "InvalidParameterValue"],
      [{ NetType: "carrier-pigeon" }, "InvalidParameterValue"],
      [{ DataProtocol: 9 }, "InvalidParameterValue"],
      [{ ProductName: "ABCDEFGHIJ" }, "InvalidParameterValue.ProductAlreadyExist"],
    ];
    for (const [change, code] of cases) {
      assert.equal((await apiFailure(api.CreateStudioProduct({ ...NEW_PRODUCT, ...change }))).code, code, JSON.stringify(change));
    }
    const { ProductName: _, ...missingName } = NEW_PRODUCT;
    assert.equal((await apiFailure(api.request("CreateStudioProduct", missingName))).code, "MissingParameter");
    const refused = await apiFailure(api.DeleteStudioProduct({ ProductId: PID }));
    assert.equal(refused.code, "UnsupportedOperation.DevicesExistUnderProduct");
    assert.match(refused.message, /5 devices/);
    assert.ok(await platform.registry.getProduct(PID), "nothing was deleted");
  });

  it("switches the registration type, and the registration endpoint follows: 0 off, 1 pre-created only, 2 auto-create", async () => {
    const register = async (deviceName: string) => (await registerDevice(platform.httpUrl, { deviceName })).json.Response;
    const modified = await api.ModifyProductDynamicRegister({ ProductId: PID, RegisterType: 0, RegisterLimit: 0 });
    assert.deepEqual([modified.RegisterType, modified.ProductSecret, modified.RegisterLimit], [0, "", 0]);
    assert.equal((await register("dev001")).Error.Code, "UnauthorizedOperation.DynamicRegistrationDisabled");
    await api.ModifyProductDynamicRegister({ ProductId: PID, RegisterType: 1, RegisterLimit: 0 });
    assert.equal((await register("newcomer")).Error.Code, "ResourceNotFound.DeviceNotExist");
    assert.ok((await register("dev001")).Payload);
    const auto = await api.ModifyProductDynamicRegister({ ProductId: PID, RegisterType: 2, RegisterLimit: 0 });
    assert.equal(auto.ProductSecret, SECRET, "the secret survives switching off and on");
    assert.equal((await register("newcomer")).State, 0);
    assert.equal((await platform.registry.getDevice(PID, "newcomer"))?.autoCreated, true);
    assert.equal((await apiFailure(api.ModifyProductDynamicRegister({ ProductId: PID, RegisterType: 3, RegisterLimit: 0 }))).code, "InvalidParameterValue");
    assert.equal((await apiFailure(api.ModifyProductDynamicRegister({ ProductId: PID, RegisterType: 1, RegisterLimit: -1 }))).code, "InvalidParameterValue");
    assert.equal((await apiFailure(api.ModifyProductDynamicRegister({ ProductId: "NOSUCHPROD", RegisterType: 1, RegisterLimit: 0 }))).code, "ResourceNotFound.ProductNotExist");
  });

  it("enforces RegisterLimit at the registration endpoint, for pre-created and auto-created devices alike", async () => {
    await api.ModifyProductDynamicRegister({ ProductId: PID, RegisterType: 2, RegisterLimit: 2 });
    assert.ok((await registerDevice(platform.httpUrl, { deviceName: "dev001" })).json.Response.Payload);
    assert.ok((await registerDevice(platform.httpUrl, { deviceName: "auto001" })).json.Response.Payload);
    // Registering an already counted device again is no new registration.
    assert.ok((await registerDevice(platform.httpUrl, { deviceName: "dev001" })).json.Response.Payload);
    const full = (await registerDevice(platform.httpUrl, { deviceName: "dev002" })).json.Response;
    assert.equal(full.Error.Code, "LimitExceeded.DeviceExceedLimit");
    assert.equal(classifyPlatformCode(full.Error.Code), "register-limit", "the device names the cause");
    assert.equal((await registerDevice(platform.httpUrl, { deviceName: "auto002" })).json.Response.Error.Code, "LimitExceeded.DeviceExceedLimit");
    assert.equal(await platform.registry.getDevice(PID, "auto002"), undefined, "a full product auto-creates nothing");
    await api.ModifyProductDynamicRegister({ ProductId: PID, RegisterType: 2, RegisterLimit: 3 });
    assert.ok((await registerDevice(platform.httpUrl, { deviceName: "dev002" })).json.Response.Payload);
    // Deleting a registered device frees its place.
    await api.DeleteDevice({ ProductId: PID, DeviceName: "auto001" });
    assert.ok((await registerDevice(platform.httpUrl, { deviceName: "dev003" })).json.Response.Payload);
  });

  it("counts the devices registered before a limit is set against it", async () => {
    for (const name of ["dev001", "dev002"]) assert.ok((await registerDevice(platform.httpUrl, { deviceName: name })).json.Response.Payload);
    await api.ModifyProductDynamicRegister({ ProductId: PID, RegisterType: 1, RegisterLimit: 3 });
    assert.equal(await platform.registry.dynamicRegistrationCount(PID), 2);
    assert.ok((await registerDevice(platform.httpUrl, { deviceName: "dev003" })).json.Response.Payload);
    assert.equal((await registerDevice(platform.httpUrl, { deviceName: "dev004" })).json.Response.Error.Code, "LimitExceeded.DeviceExceedLimit");
    assert.ok((await registerDevice(platform.httpUrl, { deviceName: "dev001" })).json.Response.Payload, "a counted device registers again");
  });

  it("lets concurrent registrations take only the places the limit has", async () => {
    await api.ModifyProductDynamicRegister({ ProductId: "AUTOCREATE", RegisterType: 2, RegisterLimit: 3 });
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) =>
      registerDevice(platform.httpUrl, { productId: "AUTOCREATE", secret: "YXV0b0NyZWF0ZVNlY3JldA", deviceName: `race${i}` })));
    assert.equal(answers.filter((answer) => answer.json.Response.Payload).length, 3);
    assert.equal(await platform.registry.dynamicRegistrationCount("AUTOCREATE"), 3);
  });
});

describeStores("cloud api: devices", function (store) {
  let platform: RunningPlatform;
  let api: IotExplorerClient;
  const clients: mqtt.MqttClient[] = [];

  beforeEach(async () => {
    platform = await startPlatform({ ...(await store.options()), config: testConfig() });
    api = apiClient(apiTarget(platform));
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.endAsync(true).catch(() => undefined)));
    await platform.close();
  });

  it("creates a device with its PSK (or a DefinedPsk); the device logs in with it at once, as one-device-one-secret", async () => {
    const { Data } = await api.CreateDevice({ ProductId: PID, DeviceName: "made-001" });
    assert.equal(Data!.DeviceName, "made-001");
    assert.equal(Buffer.from(Data!.DevicePsk!, "base64").length, 16);
    assert.deepEqual([Data!.DeviceCert, Data!.DevicePrivateKey], ["", ""]);
    const client = await mqtt.connectAsync(platform.mqttUrl, { ...mqttCredentials(PID, "made-001", Data!.DevicePsk!), reconnectPeriod: 0 });
    clients.push(client);
    assert.equal((await platform.registry.getDevice(PID, "made-001"))?.state, "activated");
    const defined = Buffer.alloc(32, 7).toString("base64");
    assert.equal((await api.CreateDevice({ ProductId: PID, DeviceName: "made-002", DefinedPsk: defined })).Data!.DevicePsk, defined);
    // A pre-created device's registration hands over that PSK (State 1: it existed before).
    const registered = (await registerDevice(platform.httpUrl, { deviceName: "made-002" })).json.Response;
    assert.equal(registered.State, 1);
    assert.equal(decrypt(SECRET, registered.Payload).psk, defined);
  });

  it("creates a certificate product's device with a certificate from the mock CA and its private key, once", async () => {
    const { Data } = await api.CreateDevice({ ProductId: CERT_PID, DeviceName: "cam-002" });
    assert.match(Data!.DevicePrivateKey!, /BEGIN PRIVATE KEY/);
    assert.equal(Data!.DevicePsk, "");
    const certificate = new X509Certificate(Data!.DeviceCert!);
    assert.match(certificate.subject, /CN=CERTPROD01cam-002/);
    assert.ok(certificate.verify(new X509Certificate((await platform.certAuthority()).caCertPem).publicKey));
    const { Device } = await api.DescribeDevice({ ProductId: CERT_PID, DeviceName: "cam-002" });
    assert.equal(Device!.DeviceCert, Data!.DeviceCert);
    assert.ok(!JSON.stringify(Device).includes("PRIVATE KEY"), "the private key is never shown again");
  });

  it("refuses bad device input: names, duplicates, unknown products, LoRa fields, a bad DefinedPsk", async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ProductId: PID, DeviceName: "bad name" }, "InvalidParameterValue.DeviceNameInvalid"],
      [{ ProductId: PID, DeviceName: "x".repeat(49) }, "InvalidParameterValue.DeviceNameInvalid"],
      [{ ProductId: PID, DeviceName: "dev001" }, "InvalidParameterValue.DeviceAlreadyExist"],
      [{ ProductId: "NOSUCHPROD", DeviceName: "x" }, "ResourceNotFound.ProductNotExist"],
      [{ ProductId: PID, DeviceName: "lora1", DevEUI: "00" }, "UnsupportedOperation"],
      [{ ProductId: PID, DeviceName: "psk1", DefinedPsk: "c2hvcnQ=" }, "InvalidParameterValue"],
      [{ ProductId: CERT_PID, DeviceName: "cam9", DefinedPsk: Buffer.alloc(16).toString("base64") }, "InvalidParameterValue"],
    ];
    for (const [params, code] of cases) assert.equal((await apiFailure(api.request("CreateDevice", params))).code, code, JSON.stringify(params));
    // ProductId+DeviceName is the MQTT client id: "ABCDEFGHI"+"Jdev001" would take dev001's.
    await platform.registry.createProduct({ productId: "ABCDEFGHI", productSecret: "collisionSecret0123456" });
    assert.equal((await apiFailure(api.CreateDevice({ ProductId: "ABCDEFGHI", DeviceName: "Jdev001" }))).code, "InvalidParameterValue.DeviceAlreadyExist");
  });

  it("describes a device with its PSK and state, by ProductId/DeviceName or DeviceId", async () => {
    const fresh = (await api.DescribeDevice({ ProductId: PID, DeviceName: "dev001" })).Device!;
    assert.deepEqual([fresh.Status, fresh.DevicePsk, fresh.FirstOnlineTime, fresh.LoginTime, fresh.EnableState], [3, "", null, 0, 1]);
    const psk = await registerPsk(platform.httpUrl, "dev001");
    const client = await mqtt.connectAsync(platform.mqttUrl, { ...mqttCredentials(PID, "dev001", psk), reconnectPeriod: 0 });
    clients.push(client);
    const online = (await api.DescribeDevice({ DeviceId: `${PID}/dev001` } as never)).Device!;
    assert.equal(online.Status, 1);
    assert.equal(online.DevicePsk, psk);
    assert.equal(online.ProductId, PID);
    assert.ok(online.FirstOnlineTime! > 0 && online.LoginTime! >= online.FirstOnlineTime!);
    await client.endAsync();
    clients.pop();
    for (let i = 0; i < 50 && (await api.DescribeDevice({ ProductId: PID, DeviceName: "dev001" })).Device!.Status !== 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal((await api.DescribeDevice({ ProductId: PID, DeviceName: "dev001" })).Device!.Status, 0, "offline after activation");
    assert.equal((await apiFailure(api.DescribeDevice({ ProductId: PID, DeviceName: "nobody" }))).code, "ResourceNotFound.DeviceNotExist");
    assert.equal((await apiFailure(api.request("DescribeDevice", { DeviceId: "no-slash" }))).code, "InvalidParameterValue");
  });

  it("lists devices 10-100 a page with Total, DevicePsk empty in lists as documented, filtered by name", async () => {
    for (let i = 0; i < 25; i++) await platform.registry.createDevice(PID, `bulk${String(i).padStart(2, "0")}`);
    const psk = await registerPsk(platform.httpUrl, "bulk00");
    const first = await api.GetDeviceList({ ProductId: PID, Offset: 0, Limit: 10 });
    assert.equal(first.Total, 30);
    assert.equal(first.Devices!.length, 10);
    assert.equal(first.Devices![0].DeviceName, "bulk00");
    assert.ok(first.Devices!.every((device) => device.DevicePsk === ""), "no PSK in a list");
    assert.ok(!JSON.stringify(first).includes(psk));
    const last = await api.GetDeviceList({ ProductId: PID, Offset: 20, Limit: 10 });
    assert.deepEqual(last.Devices!.map((d) => d.DeviceName), ["bulk20", "bulk21", "bulk22", "bulk23", "bulk24", "dev001", "dev002", "dev003", "dev004", "dev005"]);
    assert.equal((await api.GetDeviceList({ ProductId: PID })).Devices!.length, 10, "default page of 10");
    const named = await api.GetDeviceList({ ProductId: PID, DeviceName: "bulk1", Limit: 100 });
    assert.equal(named.Total, 10);
    assert.equal((await apiFailure(api.GetDeviceList({ ProductId: PID, Limit: 5 }))).code, "InvalidParameterValue");
    assert.equal((await apiFailure(api.GetDeviceList({ ProductId: PID, Limit: 101 }))).code, "InvalidParameterValue");
    assert.equal((await apiFailure(api.GetDeviceList({ ProductId: "NOSUCHPROD" }))).code, "ResourceNotFound.ProductNotExist");
    const byProject = await api.GetDeviceList({ ProductId: "-1", ProjectId: "default", Limit: 100 });
    assert.equal(byProject.Total, 30 + 2, "every product of the project");
    assert.equal((await apiFailure(api.GetDeviceList({ ProductId: "-1" }))).code, "MissingParameter");
    assert.equal((await api.GetDeviceList({ ProductId: PID, FirmwareVersion: "None-FirmwareVersion" })).Total, 30);
  });

  it("deletes one device or several, all or none, and closes their sessions", async () => {
    const psk = await registerPsk(platform.httpUrl, "dev001");
    const client = await mqtt.connectAsync(platform.mqttUrl, { ...mqttCredentials(PID, "dev001", psk), reconnectPeriod: 0 });
    clients.push(client);
    const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    const partly = await apiFailure(api.DeleteDevices({ DevicesItems: [{ ProductId: PID, DeviceName: "dev001" }, { ProductId: PID, DeviceName: "ghost" }] }));
    assert.equal(partly.code, "ResourceNotFound.DeviceNotExist");
    assert.ok(await platform.registry.getDevice(PID, "dev001"), "nothing deleted when one is missing");
    const deleted = await api.DeleteDevices({ DevicesItems: [{ ProductId: PID, DeviceName: "dev001" }, { ProductId: PID, DeviceName: "dev002" }] });
    assert.deepEqual([deleted.ResultCode, deleted.ResultMessage], ["0", "success"]);
    await closed;
    assert.equal(await platform.registry.getDevice(PID, "dev002"), undefined);
    await api.DeleteDevice({ ProductId: PID, DeviceName: "dev003" });
    assert.equal((await apiFailure(api.DeleteDevice({ ProductId: PID, DeviceName: "dev003" }))).code, "ResourceNotFound.DeviceNotExist");
    assert.equal((await apiFailure(api.DeleteDevices({ DevicesItems: [] }))).code, "InvalidParameterValue");
    const tooMany = Array.from({ length: 101 }, (_, i) => ({ ProductId: PID, DeviceName: `d${i}` }));
    assert.equal((await apiFailure(api.DeleteDevices({ DevicesItems: tooMany }))).code, "InvalidParameterValue");
  });

  it("disables devices: the live session is closed, CONNECT and registration are refused; enabling lets them back", async () => {
    const psk = await registerPsk(platform.httpUrl, "dev001");
    const credentials = mqttCredentials(PID, "dev001", psk);
    const client = await mqtt.connectAsync(platform.mqttUrl, { ...credentials, reconnectPeriod: 0 });
    clients.push(client);
    const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    await api.UpdateDevicesEnableState({ DevicesItems: [{ ProductId: PID, DeviceName: "dev001" }, { ProductId: PID, DeviceName: "dev002" }], Status: 0 });
    await closed;
    const described = (await api.DescribeDevice({ ProductId: PID, DeviceName: "dev001" })).Device!;
    assert.equal(described.EnableState, 0);
    await assert.rejects(mqtt.connectAsync(platform.mqttUrl, { ...credentials, reconnectPeriod: 0 }), (error: { code?: number }) => error.code === 5);
    const refused = (await registerDevice(platform.httpUrl, { deviceName: "dev002" })).json.Response;
    assert.equal(refused.Error.Code, "UnauthorizedOperation.DeviceIsNotEnabled");
    assert.equal(classifyPlatformCode(refused.Error.Code), "device-disabled");
    assert.equal((await platform.registry.getDevice(PID, "dev002"))?.state, "created", "no secret for a disabled device");
    await api.UpdateDevicesEnableState({ DevicesItems: [{ ProductId: PID, DeviceName: "dev001" }, { ProductId: PID, DeviceName: "dev002" }], Status: 1 });
    const again = await mqtt.connectAsync(platform.mqttUrl, { ...credentials, reconnectPeriod: 0 });
    clients.push(again);
    assert.ok((await registerDevice(platform.httpUrl, { deviceName: "dev002" })).json.Response.Payload);
    assert.equal((await apiFailure(api.UpdateDevicesEnableState({ DevicesItems: [{ ProductId: PID, DeviceName: "dev001" }], Status: 2 }))).code, "InvalidParameterValue");
    assert.equal((await apiFailure(api.UpdateDevicesEnableState({ DevicesItems: [{ ProductId: PID, DeviceName: "ghost" }], Status: 0 }))).code, "ResourceNotFound.DeviceNotExist");
  });
});
