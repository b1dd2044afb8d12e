/**
 * The boot task's state machine over a scripted HAL: which failures retry, which stop in a named
 * state, what is written to flash, and that a refused CONNECT never wipes the stored secret.
 * Integration over real sockets against the mock platform lives in boot-platform.test.ts.
 */
import { strict as assert } from "node:assert";
import { createCipheriv } from "node:crypto";
import type { FlashValue, Hal, HttpRequest, HttpResponse, KeyValueFlash } from "../firmware/contracts";
import { HalMqttError, HalNetworkError } from "../firmware/contracts";
import { MemoryBroker, type ConnectStep } from "./lib/memory-broker";
import { createNodeHal } from "../hal/node/index";
import { createMemoryFlash, type NodeFlash } from "../hal/node/flash";
import { createNodeClock, type NodeClock } from "../hal/node/clock";
import { createMemoryLogger } from "../hal/node/logger";
import { bootDevice, type BootState } from "../firmware/boot";
import { getDevInfo, setDevInfo } from "../firmware/record-store";
import type { DeviceInfo } from "../firmware/device-info";
import { ExplorerError } from "../firmware/errors";

const PRODUCT_SECRET = "hzvf5LF9S0isvBhDSauWMaIk";
const PSK = "lDZ6Uqt+I9E0wW7rvDUs7Q==";
const FACTORY: DeviceInfo = { productId: "ABCDEFGHIJ", deviceName: "dev001", productSecret: PRODUCT_SECRET, authMode: "psk" };

function encryptPayload(json: string): string {
  const plain = Buffer.from(json);
  const padded = Buffer.alloc(Math.ceil(plain.length / 16) * 16);
  plain.copy(padded);
  const cipher = createCipheriv("aes-128-cbc", Buffer.from(PRODUCT_SECRET.slice(0, 16)), Buffer.from("0".repeat(16)));
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(padded), cipher.final()]).toString("base64");
}

function json(body: unknown, status = 200, headers: Record<string, string> = {}): HttpResponse {
  return { status, headers: { "content-type": "application/json", ...headers }, body: new Uint8Array(Buffer.from(JSON.stringify(body))) };
}

const success = (psk = PSK) => {
  const text = JSON.stringify({ encryptionType: 2, psk });
  return json({ Response: { Len: text.length, Payload: encryptPayload(text), RequestId: "r1", State: 0 } });
};
const platformError = (code: string, headers: Record<string, string> = {}) =>
  json({ Response: { Error: { Code: code, Message: code }, RequestId: "r2" } }, 200, headers);

type HttpStep = HttpResponse | Error;

/**
 * A HAL whose HTTP answers from a script and whose socket leads to an in-memory broker (also
 * scripted, per connect), on a real memory flash and node:crypto. The core's own MQTT engine
 * runs between them.
 */
class ScriptedHal {
  readonly flash: NodeFlash = createMemoryFlash();
  readonly clock: NodeClock;
  /** Prints what the core hands it, unmasked: the leak test below must not lean on the Node logger. */
  readonly log = createMemoryLogger({ redact: false });
  readonly requests: HttpRequest[] = [];
  readonly broker: MemoryBroker;
  hal: Hal;

  constructor(private readonly http: HttpStep[], mqtt: ConnectStep[] = ["ok"], clockSkewMs = 0) {
    this.clock = createNodeClock({ skewMs: clockSkewMs, synchronized: true });
    this.broker = new MemoryBroker(mqtt);
    const base = createNodeHal({ flash: this.flash, storageKey: new Uint8Array(32).fill(3), clock: this.clock, logger: this.log, socket: this.broker });
    this.hal = { ...base, http: { request: async (request) => this.answerHttp(request) } };
  }

  get connects() {
    return this.broker.connects;
  }

  private async answerHttp(request: HttpRequest): Promise<HttpResponse> {
    this.requests.push(request);
    const step = this.http.shift();
    if (!step) throw new Error("unexpected HTTP request");
    if (step instanceof Error) throw step;
    return step;
  }
}

const fastBackoff = { baseMs: 1, capMs: 5, maxAttempts: 5 };

async function bootToEnd(scripted: ScriptedHal, factory: DeviceInfo | undefined = FACTORY) {
  const states: BootState[] = [];
  const task = bootDevice(scripted.hal, { factoryInfo: factory, registerUrl: "http://127.0.0.1:1/device/register", mqttUrl: "mqtt://127.0.0.1:1", backoff: fastBackoff });
  task.onState((event) => states.push(event.state));
  let error: ExplorerError | undefined;
  try {
    await task.online;
  } catch (caught) {
    error = caught as ExplorerError;
  }
  await task.stop();
  scripted.clock.cancelAll();
  return { states, error };
}

describe("boot task (scripted HAL)", () => {
  it("cold boot registers, stores the PSK mirrored in both slots, connects with it and reports", async () => {
    const scripted = new ScriptedHal([success()]);
    const { states, error } = await bootToEnd(scripted);
    assert.equal(error, undefined);
    assert.deepEqual(states.filter((s) => s !== "backoff"), ["booting", "registering", "registered", "connecting", "online", "stopped"]);
    assert.equal(getDevInfo(scripted.hal)?.deviceSecret, PSK);
    assert.equal(scripted.flash.stats().writesSinceOpen, 2, "one write per slot: the record and its mirror");
    assert.equal(scripted.connects.length, 1);
    assert.match(String(scripted.connects[0].password), /^[0-9a-f]{64};hmacsha256$/);
    assert.equal(scripted.connects[0].clientId, "ABCDEFGHIJdev001");
  });

  it("warm boot neither registers nor writes flash", async () => {
    const scripted = new ScriptedHal([]);
    // Mirrored, as a registration stores it (an unmirrored record is mirrored once, on its first boot).
    setDevInfo(scripted.hal, { ...FACTORY, deviceSecret: PSK }, { mirror: true });
    const writesBefore = scripted.flash.stats().writesSinceOpen;
    const { error } = await bootToEnd(scripted, undefined);
    assert.equal(error, undefined);
    assert.equal(scripted.requests.length, 0);
    assert.equal(scripted.flash.stats().writesSinceOpen, writesBefore);
  });

  const fatalCases: Array<[string, string]> = [
    ["AuthFailure.SignatureFailure", "signature-invalid"],
    ["UnauthorizedOperation.DynamicRegistrationDisabled", "dynreg-disabled"],
    ["ResourceNotFound.DeviceNotExist", "device-unknown"],
    ["FailedOperation.DeviceAlreadyActivated", "device-activated"],
  ];
  for (const [platformCode, code] of fatalCases) {
    it(`${platformCode} ends in failed:${code} after one request, with nothing written`, async () => {
      const scripted = new ScriptedHal([platformError(platformCode), success()]);
      const { states, error } = await bootToEnd(scripted);
      assert.equal(error?.code, code);
      assert.equal(states[states.length - 1], `failed:${code}`, "stop() keeps the failed state");
      assert.equal(scripted.requests.length, 1, "a fatal error is never retried");
      assert.equal(scripted.flash.stats().writesSinceOpen, 0);
      assert.equal(scripted.connects.length, 0);
    });
  }

  it("device-activated tells the person what to do", async () => {
    const { error } = await bootToEnd(new ScriptedHal([platformError("FailedOperation.DeviceAlreadyActivated")]));
    assert.match(error!.message, /delete it in the console/);
  });

  it("retries network failures, 5xx and 429 with backoff, then registers", async () => {
    const scripted = new ScriptedHal([
      new HalNetworkError("refused", "connection refused"),
      json({ message: "busy" }, 503),
      json({ message: "slow down" }, 429),
      success(),
    ]);
    const { states, error } = await bootToEnd(scripted);
    assert.equal(error, undefined);
    assert.equal(states.filter((s) => s === "backoff").length, 3);
    assert.equal(scripted.requests.length, 4);
  });

  it("gives up after maxAttempts of retryable failures with the last cause", async () => {
    const scripted = new ScriptedHal(Array.from({ length: 5 }, () => new HalNetworkError("timeout", "timed out")));
    const { error } = await bootToEnd(scripted);
    assert.equal(error?.code, "timeout");
    assert.match(error!.message, /gave up after 5 attempts/);
  });

  it("a refused timestamp corrects the clock from the Date header and retries at once", async () => {
    const serverDate = new Date().toUTCString();
    const scripted = new ScriptedHal([platformError("AuthFailure.TimestampExpired", { date: serverDate }), success()], ["ok"], 3_600_000);
    const { states, error } = await bootToEnd(scripted);
    assert.equal(error, undefined);
    assert.ok(!states.includes("backoff"), "the corrected retry needs no backoff");
    const signedSeconds = (request: HttpRequest) => Number(request.headers["X-TC-Timestamp"] ?? request.headers["x-tc-timestamp"]);
    const skewFirst = signedSeconds(scripted.requests[0]) - Date.now() / 1000;
    const skewSecond = signedSeconds(scripted.requests[1]) - Date.now() / 1000;
    assert.ok(skewFirst > 3000, `first request signed with the skewed clock (${skewFirst} s)`);
    assert.ok(Math.abs(skewSecond) < 5, `second request signed with the corrected clock (${skewSecond} s)`);
  });

  it("a CONNACK refusal after registration ends in failed:mqtt-refused and keeps the stored secret", async () => {
    const scripted = new ScriptedHal([success()], [new HalMqttError(4, "bad user name or password")]);
    const { error } = await bootToEnd(scripted);
    assert.equal(error?.code, "mqtt-refused");
    assert.match(error!.message, /^broker refused the connection \(return code 4\): check the device secret/, "CONNACK keeps its own message");
    assert.equal(getDevInfo(scripted.hal)?.deviceSecret, PSK, "the secret survives a refused CONNECT");
  });

  it("CONNACK 3 (server unavailable) is retried", async () => {
    const scripted = new ScriptedHal([success()], [new HalMqttError(3, "server unavailable"), "ok"]);
    const { error } = await bootToEnd(scripted);
    assert.equal(error, undefined);
    assert.equal(scripted.connects.length, 2);
  });

  it("reconnects without registering again after the session drops", async () => {
    const scripted = new ScriptedHal([success()]);
    const task = bootDevice(scripted.hal, { factoryInfo: FACTORY, registerUrl: "http://127.0.0.1:1/device/register", mqttUrl: "mqtt://127.0.0.1:1", backoff: fastBackoff });
    await task.online;
    const reconnected = new Promise<void>((resolve) => task.onState((event) => event.state === "online" && resolve()));
    scripted.broker.drop(new HalNetworkError("reset", "dropped"));
    await reconnected;
    assert.equal(scripted.connects.length, 2);
    assert.equal(scripted.requests.length, 1);
    await task.stop();
    scripted.clock.cancelAll();
  });

  it("answers a control message with control_reply carrying its clientToken, then reports the new state", async () => {
    const scripted = new ScriptedHal([success()]);
    const published: Array<{ topic: string; body: Record<string, unknown> }> = [];
    const controls: Array<Record<string, unknown>> = [];
    const task = bootDevice(scripted.hal, {
      factoryInfo: FACTORY, registerUrl: "http://127.0.0.1:1/device/register", mqttUrl: "mqtt://127.0.0.1:1", backoff: fastBackoff,
      onControl: (params) => controls.push(params),
    });
    await task.online;
    const down = "$thing/down/property/ABCDEFGHIJ/dev001";
    const before = scripted.broker.published.length;
    scripted.broker.deliver(down, { method: "control", clientToken: "ct-9", params: { power_switch: 0 } }, 1);
    for (let i = 0; i < 50 && scripted.broker.published.length < before + 2; i++) await new Promise((resolve) => setImmediate(resolve));
    published.push(...scripted.broker.published.slice(before).map(({ topic, body }) => ({ topic, body })));
    assert.deepEqual(controls, [{ power_switch: 0 }]);
    const up = "$thing/up/property/ABCDEFGHIJ/dev001";
    assert.deepEqual(published[0], { topic: up, body: { method: "control_reply", clientToken: "ct-9", code: 0, status: "success" } });
    // As the C SDK's data_template_sample: the changed properties are reported after the reply.
    assert.equal(published.length, 2, JSON.stringify(published));
    assert.equal(published[1].topic, up);
    assert.equal(published[1].body.method, "report");
    assert.deepEqual(published[1].body.params, { power_switch: 0 });
    await task.stop();
    scripted.clock.cancelAll();
  });

  it("answers a refused control (onControl throws) with control_reply code 1 and reports nothing", async () => {
    const scripted = new ScriptedHal([success()]);
    const task = bootDevice(scripted.hal, {
      factoryInfo: FACTORY, registerUrl: "http://127.0.0.1:1/device/register", mqttUrl: "mqtt://127.0.0.1:1", backoff: fastBackoff,
      onControl: () => { throw new Error("brightness out of range"); },
    });
    await task.online;
    const before = scripted.broker.published.length;
    scripted.broker.deliver("$thing/down/property/ABCDEFGHIJ/dev001", { method: "control", clientToken: "ct-10", params: { brightness: 900 } }, 1);
    for (let i = 0; i < 50 && scripted.broker.published.length === before; i++) await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve)); // room for a report that must not come
    const published = scripted.broker.published.slice(before).map(({ body }) => body);
    assert.deepEqual(published, [{ method: "control_reply", clientToken: "ct-10", code: 1, status: "brightness out of range" }]);
    await task.stop();
    scripted.clock.cancelAll();
  });

  it("a flash that stores another record than the one written ends in failed:storage: the read-back must hold the registered secret", async () => {
    // What a good flash holds after registering with another PSK: valid records of the same generation.
    const earlier = new ScriptedHal([success("b3RoZXJQU0tvdGhlclBTSw==")]);
    setDevInfo(earlier.hal, FACTORY, { mirror: true });
    const written: Array<[string, string, FlashValue]> = [];
    earlier.hal = { ...earlier.hal, flash: { ...bind(earlier.flash), set: (ns, key, value) => { written.push([ns, key, value]); earlier.flash.set(ns, key, value); } } };
    assert.equal((await bootToEnd(earlier, undefined)).error, undefined);
    // A faulty flash that stores those values in place of what it is given.
    const scripted = new ScriptedHal([success()]);
    setDevInfo(scripted.hal, FACTORY, { mirror: true });
    const substitutes = written.slice();
    scripted.hal = { ...scripted.hal, flash: { ...bind(scripted.flash), set: (ns, key) => scripted.flash.set(ns, key, substitutes.shift()![2]) } };
    const { states, error } = await bootToEnd(scripted, undefined);
    assert.equal(error?.code, "storage");
    assert.match(error!.message, /the registered secret did not read back from flash/);
    assert.ok(!states.includes("connecting"), "no MQTT login with a secret the next boot would not have");
  });

  it("a successful connect resets the retry counter: the backoff after a later drop starts from the first attempt", async () => {
    const refused = () => new HalNetworkError("refused", "connection refused");
    const scripted = new ScriptedHal([], [refused(), refused(), refused(), "ok", "ok"]);
    setDevInfo(scripted.hal, { ...FACTORY, deviceSecret: PSK }, { mirror: true });
    const connecting: string[] = [];
    const task = bootDevice(scripted.hal, { mqttUrl: "mqtt://127.0.0.1:1", backoff: { baseMs: 1, capMs: 5, maxAttempts: 10 } });
    task.onState((event) => event.state === "connecting" && connecting.push(event.detail ?? "first"));
    try {
      await task.online;
      assert.deepEqual(connecting, ["first", "attempt 2", "attempt 3", "attempt 4"]);
      const reconnected = new Promise<void>((resolve) => task.onState((event) => event.state === "online" && resolve()));
      scripted.broker.drop(new HalNetworkError("reset", "dropped"));
      await reconnected;
      assert.deepEqual(connecting.slice(4), ["attempt 2"], "the count restarts after the successful connect");
    } finally {
      await task.stop();
      scripted.clock.cancelAll();
    }
  });

  it("no log line carries the PSK or the product secret", async () => {
    const scripted = new ScriptedHal([success()]);
    await bootToEnd(scripted);
    const all = scripted.log.lines.join("\n");
    assert.ok(!all.includes(PSK) && !all.includes(PRODUCT_SECRET), "a secret reached the log");
    assert.ok(scripted.log.lines.length > 3, "the boot was logged");
  });
});

/** The flash's methods bound to it, so a test can replace one of them. */
function bind(flash: NodeFlash): KeyValueFlash {
  return { get: flash.get.bind(flash), set: flash.set.bind(flash), delete: flash.delete.bind(flash), keys: flash.keys.bind(flash) };
}
