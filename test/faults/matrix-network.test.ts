/**
 * Network faults at every step of a boot (registration exchange, MQTT connect, subscribe, the
 * first report's reply), in front of the real mock platform. Every case must end online, or in
 * a named fatal state from which a clean boot comes online, with the secret and the logs intact.
 */
import { strict as assert } from "node:assert";
import { recordCase } from "./lib/results";
import {
  bootBoard, canaryOnline, checkInvariants, platformDevice, DEVICE_NAMES, newBoard, platformSecret, startFaultPlatform,
  storedSecret, CERT_PRODUCT, PSK_PRODUCT, type Board, type BootRun, type BootSpec, type FaultPlatform, type Mode,
} from "./lib/harness";
import { closedPort, HTTP_FAULTS, MQTT_FAULTS, STREAM_FAULTS, startHttpFront, startMqttFront, type HttpFront, type MqttFront } from "./lib/fault-proxy";
import { createNodeHttpClient } from "../../hal/node/http";
import type { HttpClient } from "../../firmware/contracts";

/** The device's HTTP client with a short whole-exchange timeout, so a stall costs little. */
function shortTimeoutHttp(ca?: string): HttpClient {
  const inner = createNodeHttpClient({ ca });
  return { request: (request) => inner.request({ ...request, timeoutMs: Math.min(request.timeoutMs, 1500) }) };
}


for (const mode of ["psk", "cert"] as Mode[]) {
  describe(`fault matrix: network faults at every step (${mode})`, function () {
    this.timeout(240_000);
    const family = `network (${mode})`;
    const product = mode === "psk" ? PSK_PRODUCT : CERT_PRODUCT;
    let env: FaultPlatform;
    let http: HttpFront;
    let mqtt: MqttFront;
    const names = [...DEVICE_NAMES];

    before(async () => {
      env = await startFaultPlatform({ tls: mode === "cert" });
      http = await startHttpFront(env.platform.httpUrl, product.productSecret, mode);
      mqtt = await startMqttFront(mode === "cert" ? env.platform.mqttTlsUrl! : env.platform.mqttUrl);
    });
    after(async () => {
      await http?.close();
      await mqtt?.close();
      await env?.close();
    });

    const spec = (overrides: Partial<BootSpec> = {}): BootSpec => ({
      registerUrl: `${http.url}/device/register`,
      mqttUrl: mqtt.url,
      ca: env.serverCert,
      http: shortTimeoutHttp(env.serverCert),
      boot: { connectTimeoutMs: 1500 },
      ...overrides,
    });

    async function secrets(board: Board): Promise<string[]> {
      return [product.productSecret, platformSecret(await platformDevice(env.platform, product.productId, board.deviceName))].filter((s): s is string => typeof s === "string");
    }

    /** Checks the faulted boot and, when it ended fatally, that a clean boot recovers. */
    async function judge(label: string, board: Board, faulted: BootRun, activatedSecret?: string, cleanMayFail = false): Promise<string[]> {
      http.queue.length = 0;
      mqtt.queue.length = 0;
      const first = checkInvariants(faulted, { activatedSecret, secrets: await secrets(board), allowFatal: true });
      const violations = first.violations.map((v) => `faulted boot: ${v}`);
      let dataLost = first.dataLost;
      if (faulted.outcome !== "online") {
        const clean = await bootBoard(board, spec());
        const second = checkInvariants(clean, { activatedSecret, secrets: await secrets(board), allowFatal: cleanMayFail });
        violations.push(...second.violations.map((v) => `clean boot: ${v}`));
        dataLost ||= second.dataLost;
      }
      const canary = await canaryOnline(env.platform);
      if (canary) violations.push(canary);
      recordCase({ family, label: `${label} -> ${faulted.outcome}`, survived: violations.length === 0, dataLost, detail: violations.join("; ") });
      return violations.length ? [`${label}: ${violations.join("; ")}`] : [];
    }

    it("registration exchange: every HTTP fault, once and twice in a row", async () => {
      const problems: string[] = [];
      for (const fault of HTTP_FAULTS) {
        for (const times of [1, 2]) {
          const board = newBoard(mode, names.shift()!);
          http.queue.push(...Array(times).fill(fault));
          const run = await bootBoard(board, spec());
          // A certificate that is PEM-armoured garbage passes the core's checks and is stored (the
          // core cannot parse X.509); the device must then end in a named state, not crash.
          const stored = mode === "cert" && fault === "garbage-credentials";
          problems.push(...(await judge(`http ${fault} x${times}`, board, run, undefined, stored)));
        }
      }
      assert.deepEqual(problems, []);
    });

    it("re-registration (registered before, nothing stored): HTTP faults, then the secret the platform holds", async () => {
      const problems: string[] = [];
      for (const fault of ["reset-mid-response", "503", "truncated-body", "stall", "429"] as const) {
        const board = newBoard(mode, names.shift()!);
        const lost = await bootBoard(board, { ...spec(), flash: board.flash.reboot({ powerCutAtWrite: 1, powerCutWhen: "before" }) });
        assert.equal(lost.outcome, "failed:storage");
        http.queue.push(fault);
        const run = await bootBoard(board, spec());
        const found = await judge(`re-registration, http ${fault}`, board, run);
        if (storedSecret(run) !== platformSecret(await platformDevice(env.platform, product.productId, board.deviceName))) found.push(`re-registration, http ${fault}: the device holds a secret the platform did not keep`);
        problems.push(...found);
      }
      assert.deepEqual(problems, []);
    });

    it("registration exchange: connection refused until the device gives up, then a clean boot", async () => {
      const board = newBoard(mode, names.shift()!);
      const run = await bootBoard(board, spec({ registerUrl: `http://127.0.0.1:${await closedPort()}/device/register` }));
      assert.equal(run.outcome, "failed:network");
      assert.deepEqual(await judge("http refused (closed port)", board, run), []);
    });

    const mqttFaults = mode === "psk" ? MQTT_FAULTS : STREAM_FAULTS;

    it("MQTT connect, subscribe and first report of a freshly registered device: every broker-side fault", async () => {
      const problems: string[] = [];
      for (const fault of mqttFaults) {
        const board = newBoard(mode, names.shift()!);
        mqtt.queue.push(fault);
        const run = await bootBoard(board, spec());
        problems.push(...(await judge(`mqtt ${fault} (first boot)`, board, run)));
      }
      assert.deepEqual(problems, []);
    });

    it("MQTT faults on normal boots of an activated device: the secret is never touched", async () => {
      const problems: string[] = [];
      const board = newBoard(mode, names.shift()!);
      const online = await bootBoard(board, spec());
      assert.equal(online.outcome, "online");
      const activated = storedSecret(online)!;
      for (const fault of mqttFaults) {
        for (const times of [1, 3]) {
          mqtt.queue.push(...Array(times).fill(fault));
          const run = await bootBoard(board, spec());
          problems.push(...(await judge(`mqtt ${fault} x${times} (normal boot)`, board, run, activated)));
        }
      }
      assert.deepEqual(problems, []);
    });

    it("an HTTP fault and then an MQTT fault in the same boot", async () => {
      const problems: string[] = [];
      for (const [httpFault, mqttFault] of [["503", mqttFaults[0]], ["reset-mid-response", mqttFaults[1]], ["stall", mqttFaults[mqttFaults.length - 1]]] as const) {
        const board = newBoard(mode, names.shift()!);
        http.queue.push(httpFault);
        mqtt.queue.push(mqttFault);
        const run = await bootBoard(board, spec());
        problems.push(...(await judge(`http ${httpFault} then mqtt ${mqttFault}`, board, run)));
      }
      assert.deepEqual(problems, []);
    });
  });
}
