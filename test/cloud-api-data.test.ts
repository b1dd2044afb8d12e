/**
 * The data actions of iotexplorer 2019-04-23 on the platform's data plane, driven by Tencent's
 * Node SDK against a device speaking MQTT (mqtt.js with the device's PSK credentials):
 * ControlDeviceData, DescribeDeviceData, PublishMessage and CallDeviceActionSync.
 */
import { strict as assert } from "node:assert";
import mqtt, { type MqttClient } from "mqtt";
import { startPlatform, type RunningPlatform } from "../simulator/platform/index";
import { apiClient, apiFailure, apiTarget, type IotExplorerClient } from "./cloud-api-helpers";
import { PID, mqttCredentials, nextMessage, registerPsk, testConfig } from "./platform-helpers";
import { describeStores } from "./lib/store-matrix";

describeStores("cloud api: data actions", function (store) {
  let platform: RunningPlatform;
  let api: IotExplorerClient;
  let device: MqttClient;
  const propertyDown = `$thing/down/property/${PID}/dev001`;
  const propertyUp = `$thing/up/property/${PID}/dev001`;
  const actionDown = `$thing/down/action/${PID}/dev001`;
  const actionUp = `$thing/up/action/${PID}/dev001`;

  beforeEach(async () => {
    platform = await startPlatform({ ...(await store.options()), config: testConfig(), actionTimeoutMs: 300 });
    api = apiClient(apiTarget(platform));
    const psk = await registerPsk(platform.httpUrl, "dev001");
    device = await mqtt.connectAsync(platform.mqttUrl, { ...mqttCredentials(PID, "dev001", psk), reconnectPeriod: 0 });
    await device.subscribeAsync([propertyDown, actionDown, `${PID}/dev001/control`], { qos: 1 });
  });
  afterEach(async () => {
    await device.endAsync(true);
    await platform.close();
  });

  it("ControlDeviceData sends `control` with the clientToken it returns; the device's control_reply is recorded", async () => {
    const control = nextMessage(device, propertyDown);
    const answer = await api.ControlDeviceData({ ProductId: PID, DeviceName: "dev001", Data: '{"power_switch":1,"color":"red"}' });
    assert.deepEqual(JSON.parse(answer.Result!), { Sent: 1, pushResult: 0 });
    const sent = JSON.parse(answer.Data!) as { method: string; clientToken: string; params: unknown };
    const received = JSON.parse((await control).toString());
    assert.deepEqual(received, { method: "control", clientToken: sent.clientToken, params: { power_switch: 1, color: "red" } });
    assert.deepEqual(sent, received);
    await device.publishAsync(propertyUp, JSON.stringify({ method: "control_reply", clientToken: sent.clientToken, code: 0, status: "done" }), { qos: 1 });
    let reply = (await platform.registry.getControl(sent.clientToken))?.reply;
    for (let i = 0; i < 50 && !reply; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      reply = (await platform.registry.getControl(sent.clientToken))?.reply;
    }
    assert.deepEqual([reply?.code, reply?.status], [0, "done"]);
  });

  it("ControlDeviceData refuses what is not a JSON object, Method reported, unknown and disabled devices", async () => {
    assert.equal((await apiFailure(api.ControlDeviceData({ ProductId: PID, DeviceName: "dev001", Data: "[1]" }))).code, "InvalidParameterValue");
    assert.equal((await apiFailure(api.ControlDeviceData({ ProductId: PID, DeviceName: "dev001", Data: "{nope" }))).code, "InvalidParameterValue");
    assert.equal((await apiFailure(api.ControlDeviceData({ ProductId: PID, DeviceName: "dev001", Data: "{}", Method: "reported" }))).code, "UnsupportedOperation");
    assert.equal((await apiFailure(api.ControlDeviceData({ ProductId: PID, DeviceName: "ghost", Data: "{}" }))).code, "ResourceNotFound.DeviceNotExist");
    await api.UpdateDevicesEnableState({ DevicesItems: [{ ProductId: PID, DeviceName: "dev002" }], Status: 0 });
    assert.equal((await apiFailure(api.ControlDeviceData({ ProductId: PID, DeviceName: "dev002", Data: "{}" }))).code, "UnauthorizedOperation.DeviceIsNotEnabled");
  });

  it("DescribeDeviceData answers the latest reported values with their time", async () => {
    assert.deepEqual(JSON.parse((await api.DescribeDeviceData({ ProductId: PID, DeviceName: "dev001" })).Data!), {});
    const before = Date.now();
    const replied = nextMessage(device, propertyDown);
    await device.publishAsync(propertyUp, JSON.stringify({ method: "report", clientToken: "r-1", params: { power_switch: 1, temperature: 21.5 } }));
    await replied;
    const replied2 = nextMessage(device, propertyDown);
    await device.publishAsync(propertyUp, JSON.stringify({ method: "report", clientToken: "r-2", params: { temperature: 22 } }));
    await replied2;
    const data = JSON.parse((await api.DescribeDeviceData({ ProductId: PID, DeviceName: "dev001" })).Data!) as Record<string, { Value: unknown; LastUpdate: number }>;
    assert.deepEqual(Object.fromEntries(Object.entries(data).map(([name, entry]) => [name, entry.Value])), { power_switch: 1, temperature: 22 });
    assert.ok(data.temperature.LastUpdate >= before && data.temperature.LastUpdate <= Date.now() + 1000, "LastUpdate is in milliseconds");
    assert.equal((await apiFailure(api.DescribeDeviceData({ ProductId: PID, DeviceName: "ghost" }))).code, "ResourceNotFound.DeviceNotExist");
  });

  it("DescribeDevice and GetDeviceList show the firmware version the device sent in report_info", async () => {
    assert.equal((await api.DescribeDevice({ ProductId: PID, DeviceName: "dev001" })).Device!.Version, "");
    const replied = nextMessage(device, propertyDown);
    await device.publishAsync(propertyUp, JSON.stringify({ method: "report_info", clientToken: "i-1", params: { module_hardinfo: "ESP32", fw_ver: "1.4.2" } }));
    assert.equal(JSON.parse((await replied).toString()).method, "report_info_reply");
    assert.equal((await api.DescribeDevice({ ProductId: PID, DeviceName: "dev001" })).Device!.Version, "1.4.2");
    const tagged = await api.GetDeviceList({ ProductId: PID, FirmwareVersion: "1.4.2" });
    assert.deepEqual([tagged.Total, tagged.Devices!.map((d) => d.DeviceName)], [1, ["dev001"]]);
    assert.equal((await api.GetDeviceList({ ProductId: PID, FirmwareVersion: "None-FirmwareVersion" })).Total, 4);
  });

  it("PublishMessage reaches a custom topic the device subscribes, plain or Base64; other topics and offline devices are refused", async () => {
    const topic = `${PID}/dev001/control`;
    let arrived = nextMessage(device, topic);
    await api.PublishMessage({ ProductId: PID, DeviceName: "dev001", Topic: topic, Payload: "hello device", Qos: 1 });
    assert.equal((await arrived).toString(), "hello device");
    arrived = nextMessage(device, topic);
    await api.PublishMessage({ ProductId: PID, DeviceName: "dev001", Topic: topic, Payload: Buffer.from([0, 1, 2, 255]).toString("base64"), PayloadEncoding: "base64" });
    assert.deepEqual([...(await arrived)], [0, 1, 2, 255]);
    for (const refused of [`$thing/down/property/${PID}/dev001`, `${PID}/dev002/control`, `${PID}/dev001/event`, "anything"]) {
      assert.equal((await apiFailure(api.PublishMessage({ ProductId: PID, DeviceName: "dev001", Topic: refused, Payload: "x" }))).code, "InvalidParameterValue", refused);
    }
    assert.equal((await apiFailure(api.PublishMessage({ ProductId: PID, DeviceName: "dev001", Topic: topic, Payload: "x".repeat(40 * 1024) }))).code, "InvalidParameterValue.PayloadOverLimit");
    assert.equal((await apiFailure(api.PublishMessage({ ProductId: PID, DeviceName: "dev001", Topic: topic, Payload: "x", Qos: 2 }))).code, "InvalidParameterValue");
    assert.equal((await apiFailure(api.PublishMessage({ ProductId: PID, DeviceName: "dev002", Topic: `${PID}/dev002/control`, Payload: "x" }))).code, "FailedOperation.DeviceOffline");
  });

  it("CallDeviceActionSync answers with the device's action_reply, and FailedOperation.Timeout when none comes", async () => {
    device.on("message", (topic, payload) => {
      if (topic !== actionDown) return;
      const call = JSON.parse(payload.toString()) as { method: string; clientToken: string; actionId: string; params: { duration?: number } };
      if (call.actionId !== "blink") return; // "sleep" gets no answer
      assert.equal(call.method, "action");
      void device.publishAsync(actionUp, JSON.stringify({ method: "action_reply", clientToken: call.clientToken, code: 0, status: "blinked", response: { times: (call.params.duration ?? 0) * 2 } }));
    });
    const answer = await api.CallDeviceActionSync({ ProductId: PID, DeviceName: "dev001", ActionId: "blink", InputParams: '{"duration":3}' });
    assert.match(answer.ClientToken!, /^act-/);
    assert.deepEqual([JSON.parse(answer.OutputParams!), answer.Status], [{ times: 6 }, "blinked"]);
    assert.equal((await apiFailure(api.CallDeviceActionSync({ ProductId: PID, DeviceName: "dev001", ActionId: "sleep" }))).code, "FailedOperation.Timeout");
    assert.equal((await apiFailure(api.CallDeviceActionSync({ ProductId: PID, DeviceName: "dev002", ActionId: "blink" }))).code, "FailedOperation.DeviceOffline");
    assert.equal((await apiFailure(api.CallDeviceActionSync({ ProductId: PID, DeviceName: "dev001", ActionId: "bad id!" }))).code, "InvalidParameterValue");
    assert.equal((await apiFailure(api.CallDeviceActionSync({ ProductId: PID, DeviceName: "dev001", ActionId: "blink", InputParams: "3" }))).code, "InvalidParameterValue");
  });
});
