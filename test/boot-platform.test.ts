/**
 * The boot task end to end over real sockets: the Node HAL against the mock platform
 * (HTTP registration, aedes broker, SQLite registry in memory), as `explorer-xs device` runs it.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPlatform, type RunningPlatform } from "../simulator/platform/index";
import { startSimDevice, type SimDevice, type SimDeviceOptions } from "../simulator/sim-device";
import { createMemoryLogger } from "../hal/node/logger";
import { getDevInfo } from "../firmware/record-store";
import type { BootState } from "../firmware/boot";
import type { DeviceInfo } from "../firmware/device-info";
import type { ExplorerError } from "../firmware/errors";

const PRODUCT_ID = "BOOTPRD001";
const PRODUCT_SECRET = "bootProductSecret7Hq2Lm9Z";
const fastBackoff = { baseMs: 10, capMs: 100, maxAttempts: 6 };

describe("boot task against the mock platform (real sockets)", function () {
  this.timeout(30_000);
  let platform: RunningPlatform;
  let dir: string;
  const devices: SimDevice[] = [];
  const servers: Server[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "exs-boot-"));
    platform = await startPlatform({
      memory: true,
      log: () => undefined,
      config: {
        products: [
          { productId: PRODUCT_ID, productSecret: PRODUCT_SECRET, dynamicRegistration: true, autoCreate: false, authType: "psk", devices: ["dev1", "dev2", "dev3"] },
          { productId: "OFFPRD0001", productSecret: "offProductSecret88aaZZqq", dynamicRegistration: false, authType: "psk", devices: ["dev1"] },
        ],
      },
    });
  });

  afterEach(async () => {
    for (const device of devices.splice(0)) await device.close();
    for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
    await platform.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function factory(deviceName: string, overrides: Partial<DeviceInfo> = {}): DeviceInfo {
    return { productId: PRODUCT_ID, productSecret: PRODUCT_SECRET, deviceName, authMode: "psk", ...overrides };
  }

  function boot(deviceName: string, options: Partial<SimDeviceOptions> = {}) {
    const logger = createMemoryLogger({ redact: false }); // the leak checks see what the core hands a port
    const states: BootState[] = [];
    const device = startSimDevice({
      flashFile: join(dir, `${deviceName}.flash`),
      registerUrl: `${platform.httpUrl}/device/register`,
      mqttUrl: platform.mqttUrl,
      factoryInfo: factory(deviceName),
      logger,
      ...options,
      boot: { backoff: fastBackoff, ...options.boot },
    });
    device.task.onState((event) => states.push(event.state));
    devices.push(device);
    return { device, states, logger };
  }

  async function outcome(device: SimDevice): Promise<ExplorerError | undefined> {
    try {
      await device.task.online;
      return undefined;
    } catch (error) {
      return error as ExplorerError;
    }
  }


  it("cold boot registers and comes online; warm boot neither registers nor writes flash", async () => {
    const cold = boot("dev1");
    assert.equal(await outcome(cold.device), undefined);
    assert.equal(cold.device.counters.httpRequests, 1);
    const stored = getDevInfo(cold.device.hal)!;
    assert.equal(stored.deviceSecret, (await platform.registry.getDevice(PRODUCT_ID, "dev1"))?.psk, "the device holds the secret the platform issued");
    assert.ok(cold.states.includes("registered"));
    await cold.device.close();

    const warm = boot("dev1");
    assert.equal(await outcome(warm.device), undefined);
    assert.equal(warm.device.counters.httpRequests, 0);
    assert.equal(warm.device.counters.flashWrites, 0);
    assert.ok(!warm.states.includes("registering"));
    for (const line of [...cold.logger.lines, ...warm.logger.lines]) {
      assert.ok(!line.includes(stored.deviceSecret!) && !line.includes(PRODUCT_SECRET), `secret in log: ${line}`);
    }
  });

  it("a power cut between the platform's answer and the flash commit: the next boot registers again and gets the same secret", async () => {
    const first = boot("dev2", { powerCutAtWrite: 1 });
    const error = await outcome(first.device);
    assert.equal(error?.code, "storage");
    assert.ok(first.device.flash.stats().poweredOff);
    await first.device.close();

    const second = boot("dev2");
    assert.equal(await outcome(second.device), undefined);
    assert.equal(second.device.counters.httpRequests, 1, "registered again: the device was never activated");
    assert.equal(getDevInfo(second.device.hal)!.deviceSecret, (await platform.registry.getDevice(PRODUCT_ID, "dev2"))?.psk);
  });

  it("an activated device whose flash was wiped ends in failed:device-activated with the way out", async () => {
    const first = boot("dev3");
    assert.equal(await outcome(first.device), undefined);
    await first.device.close();
    rmSync(join(dir, "dev3.flash"));
    const again = boot("dev3");
    const error = await outcome(again.device);
    assert.equal(error?.code, "device-activated");
    assert.match(error!.message, /delete it in the console/);
    assert.ok(again.states.includes("failed:device-activated"));
  });

  const fatal: Array<[string, () => Partial<SimDeviceOptions>, string]> = [
    ["dynamic registration disabled", () => ({ factoryInfo: { productId: "OFFPRD0001", productSecret: "offProductSecret88aaZZqq", deviceName: "dev1", authMode: "psk" } }), "dynreg-disabled"],
    ["an unknown device", () => ({ factoryInfo: factory("not-precreated") }), "device-unknown"],
    ["a wrong product secret", () => ({ factoryInfo: factory("dev1", { productSecret: "wrongProductSecret1234567" }) }), "signature-invalid"],
  ];
  for (const [label, options, code] of fatal) {
    it(`${label} ends in failed:${code} after a single request`, async () => {
      const run = boot("dev1", options());
      const error = await outcome(run.device);
      assert.equal(error?.code, code);
      assert.equal(run.device.counters.httpRequests, 1);
      assert.equal(run.device.counters.flashWrites, 0);
    });
  }

  /** A loopback HTTP front that fails the first requests, then forwards to the platform. */
  async function flakyFront(failures: Array<"503" | "drop">): Promise<string> {
    const target = new URL(platform.httpUrl);
    const server = createServer((req, res) => {
      const failure = failures.shift();
      if (failure === "503") {
        res.writeHead(503, { "content-type": "text/plain" }).end("unavailable");
        return;
      }
      if (failure === "drop") {
        req.socket.destroy();
        return;
      }
      const upstream = httpRequest({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      req.pipe(upstream);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/device/register`;
  }

  it("recovers from 5xx answers and dropped connections through backoff", async () => {
    const registerUrl = await flakyFront(["503", "drop", "503"]);
    const run = boot("dev1", { registerUrl });
    assert.equal(await outcome(run.device), undefined);
    assert.equal(run.states.filter((state) => state === "backoff").length, 3);
    assert.equal(run.device.counters.httpRequests, 4);
  });

  it("a device clock an hour off is set by a clock sync before it signs", async () => {
    const run = boot("dev1", { clockSkewSeconds: 3600 });
    assert.equal(await outcome(run.device), undefined);
    assert.equal(run.device.counters.httpRequests, 1);
    assert.equal(run.device.clock.offsetMs(), 0);
  });

  it("without SNTP, a refused timestamp is corrected from the platform's Date header and retried once", async () => {
    const run = boot("dev1", { clockSkewSeconds: -7200, sntp: false });
    assert.equal(await outcome(run.device), undefined);
    assert.equal(run.device.counters.httpRequests, 2, "one refused, one accepted");
    assert.ok(Math.abs(run.device.clock.offsetMs()) < 5000, `clock corrected (offset ${run.device.clock.offsetMs()} ms)`);
    assert.ok(!run.states.includes("backoff"));
  });

  it("a network drop after coming online ends in backoff and a reconnect, without registering again", async () => {
    const run = boot("dev1", { dropNetworkAfterMs: 400, dropNetworkForMs: 300, boot: { backoff: { baseMs: 5, capMs: 20, maxAttempts: 2 } } });
    assert.equal(await outcome(run.device), undefined);
    const next = new Promise<string>((resolve) =>
      run.device.task.onState((event) => (event.state === "online" || event.state.startsWith("failed:")) && resolve(event.state)),
    );
    // Far more failed reconnects than maxAttempts (2) fit in the 300 ms drop: the limit applies
    // only on the way to the first "online".
    assert.equal(await next, "online");
    assert.ok(run.states.includes("backoff"), `states: ${run.states.join(" ")}`);
    assert.ok(run.device.counters.mqttConnects >= 2);
    assert.equal(run.device.counters.httpRequests, 1);
  });

  it("answers a control message with a control_reply the platform records", async () => {
    const controls: Array<Record<string, unknown>> = [];
    const run = boot("dev1", { boot: { onControl: (params) => controls.push(params) } });
    assert.equal(await outcome(run.device), undefined);
    const { clientToken } = await platform.thing.control(PRODUCT_ID, "dev1", { power_switch: 0 });
    for (let i = 0; i < 100 && controls.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(controls, [{ power_switch: 0 }]);
    let mine = await platform.registry.getControl(clientToken);
    for (let i = 0; i < 100 && !mine?.reply; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      mine = await platform.registry.getControl(clientToken);
    }
    assert.deepEqual(mine?.reply && { code: mine.reply.code, status: mine.reply.status }, { code: 0, status: "success" });
    // Then the device reports the new state, so the platform's reported values (DescribeDeviceData) follow the control.
    for (let i = 0; i < 100 && (await platform.thing.latestReported(PRODUCT_ID, "dev1")).power_switch?.value !== 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal((await platform.thing.latestReported(PRODUCT_ID, "dev1")).power_switch?.value, 0);
  });
});
