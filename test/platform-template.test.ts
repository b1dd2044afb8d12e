/**
 * The data plane against a product's data template (thing-model/guard.ts through thing.ts), over
 * MQTT.js and Tencent's Node SDK: reports, events and control checked the way Tencent answers
 * them (docs/PROTOCOL.md §13); a product without a template keeps accepting anything.
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { startPlatform, type RunningPlatform } from "../simulator/platform/index";
import { apiClient, apiFailure, apiTarget, type IotExplorerClient } from "./cloud-api-helpers";
import { PID, mqttCredentials, registerPsk, testConfig } from "./platform-helpers";
import { describeStores } from "./lib/store-matrix";

const lightTemplate = () => JSON.parse(readFileSync(join(__dirname, "fixtures", "light-template.json"), "utf8"));

describeStores("platform: the data plane against the data template", function (store) {
  let platform: RunningPlatform;
  let api: IotExplorerClient;
  const clients: MqttClient[] = [];
  let token = 0;

  beforeEach(async () => {
    const config = testConfig();
    (config.products[0] as Record<string, unknown>).dataTemplate = lightTemplate();
    platform = await startPlatform({ ...(await store.options()), config });
    api = apiClient(apiTarget(platform));
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.endAsync(true).catch(() => undefined)));
    await platform.close();
  });

  async function online(deviceName: string, productId = PID): Promise<MqttClient> {
    const psk = await registerPsk(platform.httpUrl, deviceName, productId, productId === PID ? undefined : "YXV0b0NyZWF0ZVNlY3JldA");
    const client = mqtt.connect(platform.mqttUrl, { ...mqttCredentials(productId, deviceName, psk), reconnectPeriod: 0, connectTimeout: 5000 });
    clients.push(client);
    await new Promise<void>((resolve, reject) => { client.once("connect", () => resolve()); client.once("error", reject); });
    await client.subscribeAsync([`$thing/down/property/${productId}/${deviceName}`, `$thing/down/event/${productId}/${deviceName}`, `$thing/down/action/${productId}/${deviceName}`]);
    return client;
  }

  /** Publishes a request and resolves with the reply carrying its clientToken. */
  function request(client: MqttClient, kind: "property" | "event", body: Record<string, unknown>, deviceName = "dev001", productId = PID): Promise<any> {
    const clientToken = `t-${++token}`;
    const reply = new Promise((resolve) => {
      const onMessage = (topic: string, payload: Buffer) => {
        const message = JSON.parse(payload.toString());
        if (topic !== `$thing/down/${kind}/${productId}/${deviceName}` || message.clientToken !== clientToken) return;
        client.off("message", onMessage);
        resolve(message);
      };
      client.on("message", onMessage);
    });
    void client.publishAsync(`$thing/up/${kind}/${productId}/${deviceName}`, JSON.stringify({ ...body, clientToken }));
    return reply;
  }

  const report = (client: MqttClient, params: Record<string, unknown>) => request(client, "property", { method: "report", params });

  it("accepts a report that fits the template, every type", async () => {
    const device = await online("dev001");
    const params = { power_switch: 1, color: 2, brightness: 100, temperature: -12.5, name: "study", installed_at: 1700000000, position: { longitude: 113, latitude: 22 }, schedule: [420, 1380] };
    const reply = await report(device, params);
    assert.deepEqual([reply.code, reply.status], [0, "success"]);
    const { Data } = await api.DescribeDeviceData({ ProductId: PID, DeviceName: "dev001" });
    assert.deepEqual(Object.fromEntries(Object.entries(JSON.parse(Data!)).map(([name, entry]: [string, any]) => [name, entry.Value])), params);
  });

  it("refuses a report with an undefined property, a wrong type, an out-of-range value or a too-long string: 406 checkReportData fail, nothing kept", async () => {
    const device = await online("dev001");
    for (const params of [{ power_switch: 1, volume: 3 }, { brightness: "50" }, { brightness: 101 }, { color: 7 }, { name: "x".repeat(65) }, { position: { longitude: 200 } }, { schedule: [1440] }]) {
      const reply = await report(device, params);
      assert.deepEqual({ method: reply.method, code: reply.code, status: reply.status }, { method: "report_reply", code: 406, status: "checkReportData fail" }, JSON.stringify(params));
    }
    assert.equal((await api.DescribeDeviceData({ ProductId: PID, DeviceName: "dev001" })).Data, "{}", "a refused report keeps nothing, not even its valid properties");
  });

  it("answers an undefined event 404 '<id> not defined' and params that do not fit 406; a defined event gets code 0", async () => {
    const device = await online("dev001");
    const undefinedEvent = await request(device, "event", { method: "event_post", eventId: "door_open", type: "info", timestamp: 0, params: {} });
    assert.deepEqual(undefinedEvent, { method: "event_reply", clientToken: undefinedEvent.clientToken, code: 404, status: "door_open not defined", data: {} });
    const badParams = await request(device, "event", { method: "event_post", eventId: "low_voltage", type: "alert", timestamp: 0, params: { voltage: 30 } });
    assert.deepEqual([badParams.code, badParams.status], [406, "voltage: 30 is outside 0..24"]);
    const batch = await request(device, "event", { method: "events_post", events: [
      { eventId: "status_report", type: "info", timestamp: 0, params: { status: 0, message: "ok" } },
      { eventId: "hardware_fault", type: "fault", timestamp: 0, params: { name: "tf", nope: 1 } },
    ] });
    assert.deepEqual([batch.method, batch.code, batch.status], ["events_reply", 406, "nope: is not defined in the data template"]);
    const good = await request(device, "event", { method: "event_post", eventId: "hardware_fault", type: "fault", timestamp: 0, params: { name: "tf card", error_code: 12 } });
    assert.equal(good.code, 0);
  });

  it("ControlDeviceData refuses an undefined property, a read-only one and a value out of range with Tencent's codes; a fitting control is sent", async () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ volume: 1 }, "InvalidParameterValue.ModelDefineEventPropNameError", /volume: is not defined/],
      [{ temperature: 20 }, "InvalidParameterValue", /temperature: is read-only/],
      [{ brightness: 300 }, "InvalidParameterValue", /brightness: 300 is outside 0\.\.100/],
      [{ power_switch: "on" }, "InvalidParameterValue", /power_switch: must be 0 or 1/],
    ];
    for (const [data, code, message] of cases) {
      const failure = await apiFailure(api.ControlDeviceData({ ProductId: PID, DeviceName: "dev002", Data: JSON.stringify(data) }));
      assert.equal(failure.code, code);
      assert.match(failure.message, message);
    }
    assert.equal(await platform.thing.pendingControl(PID, "dev002"), undefined, "a refused control is not kept pending");
    const sent = await api.ControlDeviceData({ ProductId: PID, DeviceName: "dev002", Data: JSON.stringify({ brightness: 30, position: { latitude: 10 } }) });
    assert.deepEqual(JSON.parse(sent.Result!), { Sent: 0, pushResult: 23101 });
    assert.deepEqual(await platform.thing.pendingControl(PID, "dev002"), { brightness: 30, position: { latitude: 10 } });
  });

  it("CallDeviceActionSync refuses an undefined action and input that does not fit, before reaching the device", async () => {
    await online("dev003");
    const unknown = await apiFailure(api.CallDeviceActionSync({ ProductId: PID, DeviceName: "dev003", ActionId: "reboot", InputParams: "{}" }));
    assert.equal(unknown.code, "InvalidParameterValue.ActionNilOrNotExist");
    const badInput = await apiFailure(api.CallDeviceActionSync({ ProductId: PID, DeviceName: "dev003", ActionId: "light_blink", InputParams: JSON.stringify({ time: 11 }) }));
    assert.equal(badInput.code, "InvalidParameter.ActionInputParamsInvalid");
    assert.match(badInput.message, /time: 11 is outside 0\.\.10/);
    assert.deepEqual(await platform.registry.listActions(PID, "dev003"), [], "nothing was sent");
  });

  it("a stored template that no longer parses (a data folder from other limits) serves the product as without one", async () => {
    await platform.registry.setDataTemplate(PID, JSON.stringify({ properties: [{ id: "x", define: { type: "decimal" } }] }));
    const device = await online("dev004");
    const reply = await request(device, "property", { method: "report", params: { anything: 1 } }, "dev004");
    assert.equal(reply.code, 0);
  });

  it("a product without a template accepts any report and control, as before", async () => {
    const device = await online("free001", "AUTOCREATE");
    const reply = await request(device, "property", { method: "report", params: { anything: "goes", n: 1e9 } }, "free001", "AUTOCREATE");
    assert.equal(reply.code, 0);
    await api.ControlDeviceData({ ProductId: "AUTOCREATE", DeviceName: "free001", Data: JSON.stringify({ whatever: [1, 2] }) });
  });
});
