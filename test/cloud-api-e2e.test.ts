/**
 * A backend team's day against the mock, end to end: Tencent's Node SDK manages, simulated
 * devices (the firmware core on the Node HAL) register and come online. Create a product and a
 * device, let the device register and come online, read its PSK and state, send control and see
 * the report, call an action, disable it and see it refused.
 */
import { strict as assert } from "node:assert";
import { startPlatform, type RunningPlatform } from "../simulator/platform/index";
import { startSimDevice, type SimDevice, type SimDeviceOptions } from "../simulator/sim-device";
import { createMemoryLogger } from "../hal/node/logger";
import { getDevInfo } from "../firmware/record-store";
import type { BootState } from "../firmware/boot";
import { apiClient, apiFailure, apiTarget, type IotExplorerClient } from "./cloud-api-helpers";

async function until(check: () => Promise<boolean> | boolean, what: string, limitMs = 15_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe("cloud api end to end with simulated devices", function () {
  this.timeout(60_000);
  let platform: RunningPlatform;
  let api: IotExplorerClient;
  const devices: SimDevice[] = [];

  beforeEach(async () => {
    platform = await startPlatform({ memory: true, log: () => undefined });
    api = apiClient(apiTarget(platform));
  });
  afterEach(async () => {
    for (const device of devices.splice(0)) await device.close();
    await platform.close();
  });

  function boot(productId: string, productSecret: string, deviceName: string, options: Partial<SimDeviceOptions> = {}) {
    const states: BootState[] = [];
    const device = startSimDevice({
      registerUrl: `${platform.httpUrl}/device/register`,
      mqttUrl: platform.mqttUrl,
      factoryInfo: { productId, productSecret, deviceName, authMode: "psk" },
      logger: createMemoryLogger(),
      ...options,
      boot: { backoff: { baseMs: 10, capMs: 50, maxAttempts: 4 }, ...options.boot },
    });
    device.task.onState((event) => states.push(event.state));
    devices.push(device);
    return { device, states };
  }

  async function newProduct(name: string, registerType: 1 | 2): Promise<{ productId: string; productSecret: string }> {
    const { Product } = await api.CreateStudioProduct({
      ProductName: name, CategoryId: 1, ProductType: 0, EncryptionType: "2", NetType: "wifi", DataProtocol: 1, ProductDesc: "", ProjectId: "e2e",
    });
    const { ProductSecret } = await api.ModifyProductDynamicRegister({ ProductId: Product!.ProductId!, RegisterType: registerType, RegisterLimit: 0 });
    return { productId: Product!.ProductId!, productSecret: ProductSecret };
  }

  it("a device created through the API registers, comes online with the PSK the API shows, takes control, reports, answers an action, and is refused once disabled", async () => {
    const { productId, productSecret } = await newProduct("e2e-lamps", 1);
    const { Data } = await api.CreateDevice({ ProductId: productId, DeviceName: "lamp-1" });
    // The lamp applies a control; the core answers control_reply and reports the new state.
    const applied: Array<Record<string, unknown>> = [];
    const run = boot(productId, productSecret, "lamp-1", {
      boot: {
        initialReport: { power_switch: 0, brightness: 10 },
        onControl: (params) => { applied.push(params); },
        onAction: (actionId, params) => (actionId === "blink" ? { blinked: Number(params.times ?? 1) } : undefined),
      },
    });
    await run.device.task.online;
    assert.ok(run.states.includes("registered"), "one-type-one-secret: the device registered");
    assert.equal(getDevInfo(run.device.hal)?.deviceSecret, Data!.DevicePsk, "registration handed over the PSK CreateDevice issued");
    const { Device } = await api.DescribeDevice({ ProductId: productId, DeviceName: "lamp-1" });
    assert.deepEqual([Device!.Status, Device!.DevicePsk, Device!.EnableState], [1, Data!.DevicePsk, 1]);
    const listed = await api.GetDeviceList({ ProductId: productId });
    assert.deepEqual(listed.Devices!.map((device) => [device.DeviceName, device.Status, device.DevicePsk]), [["lamp-1", 1, ""]]);
    const values = async () => Object.fromEntries(Object.entries(JSON.parse((await api.DescribeDeviceData({ ProductId: productId, DeviceName: "lamp-1" })).Data!) as Record<string, { Value: unknown }>)
      .map(([name, entry]) => [name, entry.Value]));
    assert.deepEqual(await values(), { power_switch: 0, brightness: 10 }, "the first report");

    const control = await api.ControlDeviceData({ ProductId: productId, DeviceName: "lamp-1", Data: JSON.stringify({ power_switch: 1, brightness: 80 }) });
    assert.deepEqual(JSON.parse(control.Result!), { Sent: 1, pushResult: 0 });
    const { clientToken } = JSON.parse(control.Data!) as { clientToken: string };
    await until(async () => (await values()).brightness === 80, "the report after the control");
    assert.deepEqual(applied, [{ power_switch: 1, brightness: 80 }]);
    assert.deepEqual(await values(), { power_switch: 1, brightness: 80 });
    await until(async () => (await platform.registry.getControl(clientToken))?.reply?.code === 0, "the control_reply");

    // An action answered by the firmware's handler, synchronously for the caller.
    const action = await api.CallDeviceActionSync({ ProductId: productId, DeviceName: "lamp-1", ActionId: "blink", InputParams: '{"times":3}' });
    assert.deepEqual(JSON.parse(action.OutputParams!), { blinked: 3 });

    await api.UpdateDevicesEnableState({ DevicesItems: [{ ProductId: productId, DeviceName: "lamp-1" }], Status: 0 });
    // The live session is closed; the device reconnects and the broker refuses it for good.
    await until(() => run.states.includes("failed:mqtt-refused"), "the disabled device to be refused");
    assert.equal((await api.DescribeDevice({ ProductId: productId, DeviceName: "lamp-1" })).Device!.Status, 0);
  });

  it("auto-creates devices that register under a RegisterType 2 product, up to its RegisterLimit", async () => {
    const { productId, productSecret } = await newProduct("e2e-sensors", 2);
    await api.ModifyProductDynamicRegister({ ProductId: productId, RegisterType: 2, RegisterLimit: 2 });
    const runs = ["s-1", "s-2", "s-3"].map((name) => boot(productId, productSecret, name));
    const outcomes = await Promise.all(runs.map((run) => run.device.task.online.then(() => "online", (error: { code: string }) => error.code)));
    assert.deepEqual(outcomes.sort(), ["online", "online", "register-limit"]);
    const { Total } = await api.GetDeviceList({ ProductId: productId });
    assert.equal(Total, 2, "the refused device was not created");
    assert.equal((await apiFailure(api.DeleteStudioProduct({ ProductId: productId }))).code, "UnsupportedOperation.DevicesExistUnderProduct");
  });
});
