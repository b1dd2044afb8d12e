/**
 * The demo's story, as a function so a test can run it too.
 */
import { startPlatform } from "./platform/index";
import { startSimDevice, type SimDevice } from "./sim-device";
import { getDevInfo } from "../firmware/record-store";
import { Timeline } from "./timeline";
import { maskSecret } from "../firmware/encoding";
import type { DeviceInfo } from "../firmware/device-info";
import demoTemplate from "./demo-template.json";
import { actionHandler, checkEvent, checkReport, controlHandler, EVENT_TYPES } from "./demo-template.generated";

export const DEMO_PRODUCT_ID = "DEMOPRD001";
export const DEMO_DEVICE_NAME = "esp32-demo-001";
// A demo-only secret: the mock platform is created with it on every run.
export const DEMO_PRODUCT_SECRET = "demoProductSecretK7mQ2vX9";

export interface DemoResult {
  ok: boolean;
  /** The warm boot applied the control sent while the device was off, answered an action and had its event acknowledged. */
  dataTemplate: boolean;
  coldBoot: { httpRequests: number; flashWrites: number; mqttConnects: number };
  warmBoot: { httpRequests: number; flashWrites: number; mqttConnects: number };
}

export interface DemoOptions {
  flashFile: string;
  signAlgorithm?: "hmacsha256" | "hmacsha1";
  write?: (line: string) => void;
  /**
   * Keep the platform (and the rebooted device, online) running after the story, with a
   * one-time sign-in link for the web console, until this resolves.
   */
  keepPlatformUntil?: () => Promise<void>;
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const write = options.write ?? ((line: string) => process.stdout.write(line + "\n"));
  const platform = await startPlatform({
    memory: true,
    host: "127.0.0.1",
    httpPort: 0,
    mqttPort: 0,
    log: () => undefined,
    config: {
      products: [
        {
          productId: DEMO_PRODUCT_ID,
          productSecret: DEMO_PRODUCT_SECRET,
          dynamicRegistration: true,
          autoCreate: false,
          authType: "psk",
          devices: [DEMO_DEVICE_NAME],
          dataTemplate: demoTemplate,
        },
      ],
    },
  });
  const factoryInfo: DeviceInfo = {
    productId: DEMO_PRODUCT_ID,
    productSecret: DEMO_PRODUCT_SECRET,
    deviceName: DEMO_DEVICE_NAME,
    authMode: "psk",
  };
  const deviceOptions = {
    flashFile: options.flashFile,
    registerUrl: `${platform.httpUrl}/device/register`,
    mqttUrl: platform.mqttUrl,
    factoryInfo,
    logger: { log: () => undefined },
    boot: { signAlgorithm: options.signAlgorithm ?? "hmacsha256", initialReport: checkReport({ power_switch: 1, temperature: 23.5 }) },
  };
  write("explorer-xs demo: one-type-one-secret dynamic registration on a simulated ESP32");
  write(`mock platform: ${platform.httpUrl} (registration, Cloud API), ${platform.mqttUrl} (MQTT); product ${DEMO_PRODUCT_ID}, device ${DEMO_DEVICE_NAME} pre-created`);
  write(`web console: ${platform.consoleUrl}${options.keepPlatformUntil ? "" : " while the demo runs (npm start -- --keep-platform keeps it open)"}`);
  try {
    write("");
    write("Boot 1: factory-fresh flash, the device knows only ProductId, ProductSecret and DeviceName");
    const cold = await bootOnce(deviceOptions, write, true);
    write("");
    const pending = { power_switch: 0 };
    await platform.thing.control(DEMO_PRODUCT_ID, DEMO_DEVICE_NAME, pending);
    write(`While the device is off, the platform gets control ${JSON.stringify(pending)} for it and keeps it pending`);
    write("");
    write("Boot 2: reboot with the secret in flash");
    let dataTemplate = false;
    const warm = await bootOnce(deviceOptions, write, false, async (device, timeline) => {
      const sync = await device.task.synced;
      timeline.onSynced(sync);
      await device.task.postEvent("status_report", checkEvent("status_report", { status: 0, message: "power off" }), EVENT_TYPES.status_report);
      timeline.line("event posted", "status_report, event_reply code 0");
      const action = await platform.thing.callAction(DEMO_PRODUCT_ID, DEMO_DEVICE_NAME, "blink", { times: 3 }, 5_000);
      dataTemplate = JSON.stringify(sync.appliedControl) === JSON.stringify(pending) && action.reply.code === 0;
    }, options.keepPlatformUntil !== undefined);
    const ok = cold.ok && warm.ok && dataTemplate && warm.counters.httpRequests === 0 && warm.counters.flashWrites === 0;
    write("");
    write(`Data template: ${dataTemplate ? "the warm boot applied the pending control at its first online (get_status, clear_control), had its event acknowledged and answered an action" : "FAILED: the warm boot did not apply the pending control or answer the action"}`);
    write(
      `Summary: cold boot ${cold.counters.httpRequests} registration request, ${cold.counters.flashWrites} flash writes, ` +
        `${cold.counters.mqttConnects} MQTT connect; warm boot ${warm.counters.httpRequests} registration requests, ` +
        `${warm.counters.flashWrites} flash writes, ${warm.counters.mqttConnects} MQTT connect. ${ok ? "OK" : "FAILED"}`,
    );
    if (options.keepPlatformUntil) {
      write("");
      write(`The platform keeps running with ${DEMO_DEVICE_NAME} online. Open the web console:`);
      write(`  ${platform.consoleLoginUrl()}   (sign-in link, works once)`);
      write(`  or ${platform.consoleUrl} with SecretId ${platform.apiCredentials.secretId} and SecretKey ${platform.apiCredentials.secretKey} (made for this run)`);
      write("Ctrl-C stops it.");
      await options.keepPlatformUntil();
      await warm.device.close();
    }
    return { ok, dataTemplate, coldBoot: { ...cold.counters }, warmBoot: { ...warm.counters } };
  } finally {
    await platform.close();
  }
}

async function bootOnce(
  deviceOptions: Parameters<typeof startSimDevice>[0],
  write: (line: string) => void,
  showSecret: boolean,
  whileOnline?: (device: SimDevice, timeline: Timeline) => Promise<void>,
  keepOnline = false,
) {
  const timeline = new Timeline(write);
  const device = startSimDevice({
    ...deviceOptions,
    onEvent: (event) => timeline.onHalEvent(event),
    boot: {
      ...deviceOptions.boot,
      // Typed by the code generated from the demo's data template (explorer-xs codegen).
      onControl: controlHandler((control) => timeline.line("control applied", JSON.stringify(control))),
      onAction: actionHandler({
        blink: (input) => {
          timeline.line("action", `blink ${JSON.stringify(input)} from the platform: done, action_reply code 0`);
          return { done: 1 };
        },
      }),
    },
  });
  device.task.onState((event) => {
    timeline.onState(event);
    if (event.state === "registered" && showSecret) {
      timeline.line("secret stored", `PSK ${maskSecret(readPsk(device))} sealed in both flash slots, read back and compared`);
    }
  });
  let ok = true;
  try {
    await device.task.online;
    timeline.line("report acknowledged", "report_reply code 0: the device is online");
    await whileOnline?.(device, timeline);
  } catch (error) {
    ok = false;
    timeline.line("failed", (error as Error).message);
  } finally {
    if (!keepOnline || !ok) await device.close();
  }
  return { ok, counters: device.counters, device };
}

function readPsk(device: SimDevice): string | undefined {
  return getDevInfo(device.hal)?.deviceSecret;
}
