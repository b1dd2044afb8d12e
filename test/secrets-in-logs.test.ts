/**
 * Secrets never reach a log, on any port (issue 13, item 4). The core masks before a port's
 * logger sees a field (firmware/log.ts); ports print what they get. So these tests read the raw
 * output of the real port loggers, through every path a device takes with its secrets
 * (test/lib/secret-flows.ts: register, store, connect over TCP and TLS, report, control, warm
 * boot, every fatal end), and fail on any ProductSecret, PSK (Base64 or hex), MQTT password, or
 * line of a certificate or private key:
 * - the ESP32 port's TraceLogger (hal/esp32/log.ts), its `trace` captured, the core in this process;
 * - the XS lane: the core inside xsnap, the host's logger printing fields exactly as they cross
 *   the bridge (no masking of its own), plus xsnap's own stdout and stderr;
 * - `explorer-xs device --verbose`, a real process, its stdout and stderr (the Node logger also
 *   masks secret-named fields, as defence in depth; value leaks still show).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { bootDevice, type BootEvent } from "../firmware/boot";
import { maskSecret } from "../firmware/encoding";
import { createCoreLog, isSecretFieldName } from "../firmware/log";
import { getDevInfo, setDevInfo } from "../firmware/record-store";
import { createNodeClock } from "../hal/node/clock";
import { openFlashFile, type NodeFlash } from "../hal/node/flash";
import { createNodeHal } from "../hal/node/index";
import type { FlashValue, KeyValueFlash, Logger } from "../firmware/contracts";
import { startXsLane, xsLaneSkipReason, type XsLane } from "../xs/host";
import {
  FLOWS, exercise, flowHal, leaks, needles, recordingPasswords, startSecretsEnv, STORAGE_KEY,
  type BootPort, type BootRequest, type BootResult, type SecretsEnv,
} from "./lib/secret-flows";

const PSK = "lDZ6Uqt+I9E0wW7rvDUs7Q==";
const PSK_HEX = Buffer.from(PSK, "base64").toString("hex");
const PRODUCT_SECRET = "hzvf5LF9S0isvBhDSauWMaIk";
const KEY_PEM = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgw4M6mYqR3p1nZp5Y
oL6bq3xjRQ9hH9V7Ew8bK2mNfXahRANCAAR0uS6cYbqzLx7M8Q2Xy3n6k4pFq2w1
-----END PRIVATE KEY-----
`;

/** A port logger that keeps what it is given, as given: no masking of its own. */
function rawLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, log: (level, event, fields) => void lines.push(JSON.stringify({ level, event, ...fields })) };
}

describe("secrets never reach a log", () => {
  describe("the core's masking (firmware/log.ts)", () => {
    it("masks a secret-named field whatever it holds, and keeps clientToken and the rest", () => {
      const port = rawLogger();
      const log = createCoreLog(port);
      log.log("info", "x", { deviceSecret: "abc", productSecret: "hzvf5LF9", password: "p4ss-word", clientKey: "k", storageKey: "00ff", psk: "x", credential: "c", clientToken: "exs-1-42", state: "online", attempt: 3 });
      const [line] = port.lines.map((text) => JSON.parse(text));
      for (const name of ["deviceSecret", "productSecret", "password", "clientKey", "storageKey", "psk", "credential"]) {
        assert.ok(isSecretFieldName(name), name);
        assert.notEqual(line[name], name === "password" ? "p4ss-word" : line[name] + "!", name);
      }
      assert.equal(line.productSecret, maskSecret("hzvf5LF9"));
      assert.equal(line.password, maskSecret("p4ss-word"));
      assert.deepEqual([line.clientToken, line.state, line.attempt], ["exs-1-42", "online", 3]);
    });

    it("masks a protected secret wherever it appears: Base64 and hex PSK, ProductSecret and its AES key, password, PEM lines", () => {
      const port = rawLogger();
      const log = createCoreLog(port);
      log.protect(PSK, PRODUCT_SECRET, "f00d".repeat(16) + ";hmacsha256", KEY_PEM, undefined, "");
      const body = KEY_PEM.split("\n").filter((line) => line && !line.startsWith("-----"));
      const texts = [
        `psk=${PSK}`, `hex ${PSK_HEX} and ${PSK_HEX.toUpperCase()}`, `ps ${PRODUCT_SECRET}!`, `aes key ${PRODUCT_SECRET.slice(0, 16)}`,
        `password f00df00df00df00df00df00df00df00df00df00df00df00df00df00df00df00d;hmacsha256`, `line ${body[1]}`, `joined ${body.join("")}`,
      ];
      log.log("warn", `event with ${PSK}`, Object.fromEntries(texts.map((text, i) => [`note${i}`, text])));
      const all = port.lines.join("\n") + log.mask(texts.join(" "));
      for (const needle of [PSK, PSK_HEX, PSK_HEX.toUpperCase(), PRODUCT_SECRET, PRODUCT_SECRET.slice(0, 16), "f00d".repeat(16), ...body]) {
        assert.ok(!all.includes(needle), `${needle} leaked: ${all}`);
      }
      assert.match(all, /psk=\*+7Q==/, "a masked secret keeps its last 4 characters, as the timelines show them");
    });

    it("masks any PEM block, known or not, and leaves text without secrets alone", () => {
      const log = createCoreLog(rawLogger());
      assert.equal(log.mask(`key: ${KEY_PEM}tail`), "key: -----BEGIN PRIVATE KEY----- (masked)\ntail");
      assert.equal(log.mask("cut -----BEGIN CERTIFICATE-----\nMIIB..."), "cut -----BEGIN CERTIFICATE----- (masked)");
      assert.equal(log.mask("connection to 127.0.0.1:1883 refused"), "connection to 127.0.0.1:1883 refused");
    });

    it("the boot task masks at the door: a port logger that masks nothing prints no secret (boot.test.ts flows use one too)", async () => {
      // A registered device's record, and a Hal whose logger prints everything it gets.
      const port = rawLogger();
      const info = { productId: "ABCDEFGHIJ", deviceName: "dev001", productSecret: PRODUCT_SECRET, authMode: "psk" as const, deviceSecret: PSK };
      const hal = createNodeHal({ storageKey: STORAGE_KEY, logger: port, clock: createNodeClock() });
      setDevInfo(hal, info, { mirror: true });
      // Nothing listens on port 9: the connect fails, and the failure is logged with its detail.
      const task = bootDevice(hal, { mqttUrl: "mqtt://127.0.0.1:9", backoff: { baseMs: 1, capMs: 2, maxAttempts: 1 } });
      await task.online.catch(() => undefined);
      await task.stop();
      assert.ok(port.lines.length >= 3, port.lines.join("\n"));
      assert.deepEqual(leaks(port.lines.join("\n"), [PSK, PSK_HEX, PRODUCT_SECRET]), []);
    });
  });

  describe("through every path a device takes, in each port's raw output", function () {
    this.timeout(180_000);
    let env: SecretsEnv;
    before(async () => (env = await startSecretsEnv()));
    after(async () => env?.close());

    /** Runs every flow on `port`; returns what each ended with. */
    async function runFlows(portName: string, port: BootPort): Promise<string[]> {
      const problems: string[] = [];
      for (const flow of FLOWS) {
        const result = await port.boot(flow.request(env, portName), env);
        if (result.outcome !== flow.expect) problems.push(`${flow.name}: ended ${result.outcome} (${result.message ?? ""}), expected ${flow.expect}`);
      }
      return problems;
    }

    it("the ESP32 port's TraceLogger prints no secret", async () => {
      // Loaded by path: hal/esp32 is typechecked against Moddable's typings (its global trace), not Node's.
      const { TraceLogger } = (await import(pathToFileURL(join(import.meta.dirname, "..", "hal", "esp32", "log.ts")).href)) as { TraceLogger: new (minimum?: string) => Logger };
      const traced: string[] = [];
      const passwords = new Set<string>();
      const original = (globalThis as { trace?: unknown }).trace;
      (globalThis as { trace?: unknown }).trace = (...parts: unknown[]) => void traced.push(parts.map(String).join(""));
      const seen: string[] = [];
      try {
        const port: BootPort = {
          async boot(request: BootRequest): Promise<BootResult> {
            const hal = flowHal(request, new TraceLogger("debug"), passwords);
            const task = bootDevice(hal, request.options);
            const details: string[] = [];
            task.onState((event: BootEvent) => event.detail && details.push(event.detail));
            let result: BootResult;
            try {
              await task.online;
              if (request.exercise) await exercise(env, request.options.factoryInfo!, () => task.report({ temperature: 21.5 }));
              result = { outcome: "online", details };
            } catch (error) {
              result = { outcome: task.state, message: (error as Error).message, details };
            }
            await task.stop();
            seen.push(...details, result.message ?? "");
            return result;
          },
        };
        assert.deepEqual(await runFlows("esp32", port), []);
      } finally {
        (globalThis as { trace?: unknown }).trace = original;
      }
      const output = traced.join("");
      assert.match(output, /boot\.state state=registered/, "the run was traced");
      assert.match(output, /failed:device-activated/);
      assert.deepEqual(leaks(output, await needles(env, passwords)), []);
      assert.deepEqual(leaks(seen.join("\n"), await needles(env, passwords)), [], "boot details and error messages");
    });

    it("the XS lane (the core inside xsnap) passes no secret over the bridge, nor prints one", async function () {
      const skip = xsLaneSkipReason(); // throws in CI
      if (skip !== undefined) {
        console.warn(`\n  !!! XS LANE SKIPPED: ${skip}\n`);
        this.skip();
      }
      const port = rawLogger();
      const passwords = new Set<string>();
      let current: NodeFlash | undefined;
      const flash: KeyValueFlash = {
        get: (namespace, key) => current!.get(namespace, key),
        set: (namespace, key, value: FlashValue) => current!.set(namespace, key, value),
        delete: (namespace, key) => current!.delete(namespace, key),
        keys: (namespace) => current!.keys(namespace),
      };
      const base = createNodeHal({ flash, storageKey: STORAGE_KEY, logger: port, ca: env.serverCert });
      let laneOutput = "";
      const lane: XsLane = await startXsLane({ hal: { ...base, socket: recordingPasswords(base.socket, passwords) }, entry: "core", output: (text) => (laneOutput += text) });
      const details: string[] = [];
      lane.on("state", (event) => (event as BootEvent).detail && details.push((event as BootEvent).detail!));
      try {
        const xsPort: BootPort = {
          async boot(request: BootRequest): Promise<BootResult> {
            current = request.flash;
            let result: BootResult;
            try {
              await lane.invoke("boot", request.options);
              if (request.exercise) await exercise(env, request.options.factoryInfo!, () => lane.invoke("report", { temperature: 21.5 }));
              result = { outcome: "online", details };
            } catch (error) {
              result = { outcome: String(await lane.invoke("state")), message: (error as Error).message, details };
              details.push(result.message ?? "");
            }
            await lane.invoke("stop");
            await lane.idle();
            return result;
          },
        };
        assert.deepEqual(await runFlows("xs", xsPort), []);
      } finally {
        await lane.close();
      }
      assert.ok(port.lines.some((line) => line.includes('"state":"registered"')), "the run was logged");
      const secrets = await needles(env, passwords);
      assert.deepEqual(leaks(port.lines.join("\n"), secrets), [], "fields as they crossed the bridge");
      assert.deepEqual(leaks(laneOutput, secrets), [], "the lane's stdout and stderr");
      assert.deepEqual(leaks(details.join("\n"), secrets), [], "boot details and error messages");
    });

    it("`explorer-xs device --verbose` prints no secret on stdout or stderr", async () => {
      const dir = mkdtempSync(join(tmpdir(), "exs-leak-cli-"));
      const bin = join(import.meta.dirname, "..", "simulator", "bin", "explorer-xs.js");
      let printed = "";
      let flashes = 0;
      const lastFlash = new Map<string, string>();
      // The CLI's device has no --ca, so the TLS flow is left to the ports above.
      const cliFlows = FLOWS.filter((flow) => !flow.name.includes("over TLS"));
      const cliPort: BootPort = {
        async boot(request: BootRequest): Promise<BootResult> {
          const info = request.options.factoryInfo!;
          const flashFile = request.continues ? lastFlash.get(info.deviceName)! : join(dir, `${info.deviceName}-${flashes++}.flash`);
          lastFlash.set(info.deviceName, flashFile);
          if (!request.continues) flashFileFor(request.flash, flashFile);
          const infoFile = join(dir, `${info.deviceName}.json`);
          writeFileSync(infoFile, JSON.stringify({ auth_mode: info.authMode === "cert" ? "CERT" : "KEY", productId: info.productId, productSecret: info.productSecret, deviceName: info.deviceName }));
          const powerCut = request.powerCutAtWrite;
          const args = [
            bin, "device", "--flash", flashFile, "--device-info", infoFile, "--verbose",
            "--platform", request.options.registerUrl!.replace(/\/device\/register$/, ""), "--mqtt", request.options.mqttUrl!,
            ...(request.exercise ? [] : ["--once"]), ...(powerCut ? ["--power-cut-at-write", String(powerCut)] : []),
          ];
          const run = await device(args, request.exercise ? async (stdout) => {
            if (!/report acknowledged/.test(stdout)) return false;
            await exercise(env, info, async () => undefined);
            return true;
          } : undefined);
          printed += run.stdout + run.stderr;
          if (run.code === 4) return { outcome: "failed:storage", details: [] };
          const failed = /device failed: ([a-z-]+):/.exec(run.stderr)?.[1];
          if (failed) return { outcome: `failed:${failed}`, message: run.stderr, details: [] };
          // device_info.json is checked before the device starts: the CLI refuses it (exit 2).
          if (run.code === 2 && /productSecret is \d+ characters/.test(run.stderr)) return { outcome: "failed:invalid-device-info", message: run.stderr, details: [] };
          if (run.code !== 0) return { outcome: `exit ${run.code}`, message: run.stderr, details: [] };
          return { outcome: "online", details: [] };
        },
      };
      try {
        const problems: string[] = [];
        for (const flow of cliFlows) {
          const result = await cliPort.boot(flow.request(env, "cli"), env);
          if (result.outcome !== flow.expect) problems.push(`${flow.name}: ended ${result.outcome} (${result.message ?? ""}), expected ${flow.expect}`);
        }
        assert.deepEqual(problems, []);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      assert.match(printed, /"event":"boot\.state"/, "--verbose printed the device's log");
      assert.match(printed, /flash commit/, "the timeline was printed");
      assert.deepEqual(leaks(printed, await needles(env)), []);
    });
  });
});

/**
 * A flow's flash as a file the CLI opens: a record the flow planted is sealed again under the
 * file's own eFuse key; a flash without a record needs no file. Undefined when there is none.
 */
function flashFileFor(flash: NodeFlash, file: string): string | undefined {
  const info = getDevInfo(createNodeHal({ flash: flash.reboot(), storageKey: STORAGE_KEY }));
  if (!info) return undefined;
  setDevInfo(createNodeHal({ flashFile: file, flash: openFlashFile(file) }), info, { mirror: true });
  return file;
}

/** Runs the CLI; `whenReady` sees stdout as it grows and returns true once done with the device (SIGINT follows). */
function device(args: string[], whenReady?: (stdout: string) => Promise<boolean>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let handled = false;
    const limit = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      if (whenReady && !handled) {
        handled = true;
        whenReady(stdout).then((done) => (done ? child.kill("SIGINT") : (handled = false)), (error) => {
          child.kill("SIGKILL");
          reject(error);
        });
      }
    });
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("close", (code) => {
      clearTimeout(limit);
      resolve({ code, stdout, stderr });
    });
  });
}
