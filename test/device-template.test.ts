/**
 * The device's data-template session past the first report (firmware/template-session.ts and
 * the boot task's first-online sync), over real sockets against the mock platform: report_info
 * once per boot, get_status with pending control applied through onControl and cleared, events
 * with their replies awaited, actions answered, and the clock checked against `$sys/operation`.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startPlatform, type RunningPlatform } from "../simulator/platform/index";
import { startSimDevice, type SimDevice, type SimDeviceOptions } from "../simulator/sim-device";
import { createMemoryLogger } from "../hal/node/logger";
import { HalNetworkError, type Clock, type Hal } from "../firmware/contracts";
import { ManualClock, settle } from "./lib/manual-clock";
import { MemoryBroker } from "./lib/memory-broker";
import { createNodeHal } from "../hal/node/index";
import { createMemoryFlash } from "../hal/node/flash";
import { createNodeClock } from "../hal/node/clock";
import { bootDevice, type BootOptions } from "../firmware/boot";
import { setDevInfo } from "../firmware/record-store";
import { FIRMWARE_VERSION } from "../firmware/version";
import { CLOCK_TOLERANCE_MS } from "../firmware/template-session";
import { parseDownMessage, parseTimeResult } from "../firmware/data-template";

const PRODUCT_ID = "TMPLPRD001";
const PRODUCT_SECRET = "templateProductSecret77Q";

describe("device: the data-template session against the mock platform", function () {
  this.timeout(30_000);
  let platform: RunningPlatform;
  let dir: string;
  let platformSkewMs = 0;
  const events: Array<Record<string, unknown>> = [];
  const devices: SimDevice[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "exs-template-"));
    events.length = 0;
    platformSkewMs = 0;
    platform = await startPlatform({
      memory: true, now: () => Date.now() + platformSkewMs, log: (event) => events.push(event),
      config: { products: [{ productId: PRODUCT_ID, productSecret: PRODUCT_SECRET, dynamicRegistration: true, authType: "psk", devices: ["dev1", "dev2", "dev3"] }] },
    });
  });

  afterEach(async () => {
    for (const device of devices.splice(0)) await device.close();
    await platform.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function boot(deviceName: string, bootOptions: Partial<BootOptions> = {}, options: Partial<SimDeviceOptions> = {}): SimDevice {
    const device = startSimDevice({
      flashFile: join(dir, `${deviceName}.flash`),
      registerUrl: `${platform.httpUrl}/device/register`,
      mqttUrl: platform.mqttUrl,
      factoryInfo: { productId: PRODUCT_ID, productSecret: PRODUCT_SECRET, deviceName, authMode: "psk" },
      logger: createMemoryLogger(),
      ...options,
      boot: { backoff: { baseMs: 10, capMs: 100, maxAttempts: 6 }, ...bootOptions },
    });
    devices.push(device);
    return device;
  }

  const methods = (method: string) => events.filter((e) => e.event === "thing" && e.method === method);

  it("sends report_info once per boot with fw_ver and the port's module info, and says so in `synced`", async () => {
    const device = boot("dev1", { deviceInfo: { module_hardinfo: "ESP32-S3", module_softinfo: "moddable 8.2.3" } });
    const sync = await device.task.synced;
    assert.equal(sync.infoReported, true);
    assert.deepEqual(sync.problems, []);
    assert.deepEqual((await platform.thing.deviceInfo(PRODUCT_ID, "dev1"))?.info, { fw_ver: FIRMWARE_VERSION, module_hardinfo: "ESP32-S3", module_softinfo: "moddable 8.2.3" });
    // A dropped session and a reconnect in the same boot: no second report_info, a clock check again.
    const checks = () => events.filter((e) => e.event === "sys").length;
    assert.equal(checks(), 1);
    const online = new Promise<void>((resolve) => device.task.onState((event) => event.state === "online" && resolve()));
    platform.broker.disconnect(PRODUCT_ID, "dev1");
    await online;
    await waitFor(() => checks() === 2);
    assert.equal(methods("report_info").length, 1);
    assert.equal(methods("get_status").length, 1);
  });

  it("applies control kept while the device was away through onControl, clears it and reports the new state", async () => {
    await platform.thing.control(PRODUCT_ID, "dev2", { power_switch: 1, brightness: 40 });
    const controls: Array<Record<string, unknown>> = [];
    const device = boot("dev2", { onControl: (params) => controls.push(params), initialReport: { power_switch: 0 } });
    const sync = await device.task.synced;
    assert.deepEqual(controls, [{ power_switch: 1, brightness: 40 }]);
    assert.deepEqual(sync.appliedControl, { power_switch: 1, brightness: 40 });
    assert.equal(await platform.thing.pendingControl(PRODUCT_ID, "dev2"), undefined, "clear_control reached the platform");
    assert.equal(methods("clear_control").length, 1);
    const reported = await platform.thing.latestReported(PRODUCT_ID, "dev2");
    assert.deepEqual([reported.power_switch.value, reported.brightness.value], [1, 40]);
    // A later boot finds nothing pending: onControl is not called again.
    await device.close();
    devices.splice(devices.indexOf(device), 1);
    const later: Array<Record<string, unknown>> = [];
    const again = boot("dev2", { onControl: (params) => later.push(params) });
    assert.equal((await again.task.synced).appliedControl, undefined);
    assert.deepEqual(later, []);
  });

  it("leaves refused pending control on the platform (no clear_control) and names the step", async () => {
    await platform.thing.control(PRODUCT_ID, "dev3", { mode: "turbo" });
    const device = boot("dev3", { onControl: () => { throw new Error("mode turbo is not supported"); } });
    const sync = await device.task.synced;
    assert.match(sync.problems.join(), /get_status: .*mode turbo is not supported/);
    assert.deepEqual(await platform.thing.pendingControl(PRODUCT_ID, "dev3"), { mode: "turbo" });
    assert.equal(methods("clear_control").length, 0);
  });

  it("posts events and awaits their event_reply", async () => {
    const device = boot("dev1");
    await device.task.synced;
    await device.task.postEvent("status_report", { status: 1, message: "on" });
    await device.task.postEvent("low_voltage", { voltage: 2.8 }, "alert");
    const posted = methods("event_post");
    assert.equal(posted.length, 2);
    assert.ok(posted.every((e) => e.outcome === "ok"));
    await assert.rejects(device.task.postEvent("bad id!", {}), { code: "request-rejected" });
  });

  it("answers actions with action_reply: the handler's response, or code 1 when it throws", async () => {
    const device = boot("dev1", {
      onAction: async (actionId, params) => {
        if (actionId === "light_blink") return { err_code: 0, blinked: params.time };
        throw new Error(`unknown action ${actionId}`);
      },
    });
    await device.task.synced;
    const blink = await platform.thing.callAction(PRODUCT_ID, "dev1", "light_blink", { time: 3 }, 10_000);
    assert.deepEqual([blink.reply.code, blink.reply.status, blink.reply.response], [0, "success", { err_code: 0, blinked: 3 }]);
    const unknown = await platform.thing.callAction(PRODUCT_ID, "dev1", "self_destruct", {}, 10_000);
    assert.deepEqual([unknown.reply.code, unknown.reply.status], [1, "unknown action self_destruct"]);
  });

  it("checks its clock against the platform's after login and corrects it when off", async () => {
    const near = boot("dev1");
    const nearSync = await near.task.synced;
    assert.equal(nearSync.clock?.corrected, false);
    assert.ok(Math.abs(nearSync.clock!.skewMs) <= CLOCK_TOLERANCE_MS);
    platformSkewMs = 90_000;
    const far = boot("dev2");
    const farSync = await far.task.synced;
    assert.equal(farSync.clock?.corrected, true);
    assert.ok(Math.abs(farSync.clock!.skewMs - 90_000) < 5_000, `skew ${farSync.clock!.skewMs}`);
    assert.ok(Math.abs(far.hal.clock.nowMs() - (Date.now() + 90_000)) < 5_000, "the device clock now follows the platform's");
  });
});

/**
 * A boot task whose socket leads to an in-memory broker (test/lib/memory-broker.ts): `respond`
 * sees each publish (with the login number) and answers through `answer`, or ends the session
 * through `drop`. The core's own MQTT engine runs in between.
 */
function scriptedBoot(
  respond: (login: number, topic: string, message: any, io: { answer(topic: string, body: unknown): void; drop(): void }) => void,
  options: Partial<BootOptions> = {},
  setup: { clock?: Clock; refusedTopics?: string[] } = {},
) {
  const info = { productId: "ABCDEFGHIJ", deviceName: "dev001", authMode: "psk" as const, deviceSecret: "lDZ6Uqt+I9E0wW7rvDUs7Q==" };
  const nodeClock = setup.clock ? undefined : createNodeClock({ synchronized: true });
  const clock = setup.clock ?? nodeClock!;
  const broker = new MemoryBroker();
  for (const topic of setup.refusedTopics ?? []) broker.refusedTopics.add(topic);
  const log = createMemoryLogger();
  broker.replyToReports = false;
  const io = {
    answer: (topic: string, body: unknown) => broker.deliver(topic, body, 0),
    drop: () => broker.drop(new HalNetworkError("reset", "dropped")),
  };
  broker.onPublish = (publish) => respond(broker.connects.length, publish.topic, publish.body, io);
  const hal: Hal = createNodeHal({ flash: createMemoryFlash(), storageKey: new Uint8Array(32).fill(5), clock, logger: log, socket: broker });
  setDevInfo(hal, info, { mirror: true });
  const task = bootDevice(hal, { mqttUrl: "mqtt://127.0.0.1:1", backoff: { baseMs: 1, capMs: 5, maxAttempts: 5 }, ...options });
  return { task, broker, log, logins: () => broker.connects.length, async stop() { await task.stop(); nodeClock?.cancelAll(); } };
}

/** Answers like the platform: report, report_info, get_status (with `control` when given), clear_control, time. */
function answerAll(topic: string, message: any, io: { answer(topic: string, body: unknown): void }, control?: Record<string, unknown>): void {
  const down = topic.replace("/up/", "/down/");
  const ok = (method: string, extra: Record<string, unknown> = {}) => io.answer(down, { method, clientToken: message.clientToken, code: 0, status: "success", ...extra });
  if (message.method === "report") ok("report_reply");
  if (message.method === "report_info") ok("report_info_reply");
  if (message.method === "clear_control") ok("clear_control_reply");
  if (message.method === "get_status") ok("get_status_reply", { data: control ? { control } : {} });
  if (message.type === "get") io.answer("$sys/operation/result/ABCDEFGHIJ/dev001", { type: "get", time: Math.floor(Date.now() / 1000), ntptime1: Date.now(), ntptime2: Date.now() });
}

describe("device: the first-online sync over a scripted session", () => {
  it("runs again at the next login when the session is lost before the platform answered", async () => {
    const seen: string[] = [];
    const run = scriptedBoot((login, topic, message, io) => {
      seen.push(`${login}:${message.method ?? message.type}`);
      // The first login drops as soon as report_info is out; the second answers everything.
      if (login === 1 && message.method === "report_info") return io.drop();
      answerAll(topic, message, io);
    });
    try {
      const sync = await run.task.synced;
      assert.equal(run.logins(), 2);
      assert.equal(sync.infoReported, true);
      assert.deepEqual(sync.problems, []);
      assert.deepEqual(seen.filter((m) => m.startsWith("2:")), ["2:report", "2:report_info", "2:get_status", "2:get"]);
    } finally {
      await run.stop();
    }
  });

  it("does not apply twice a control that arrived live while get_status still listed it", async () => {
    const applied: Array<Record<string, unknown>> = [];
    const run = scriptedBoot((_login, topic, message, io) => {
      if (message.method === "get_status") {
        // The platform sends {power: 1} live and, our control_reply not in yet, lists it as pending with {color: 2}.
        io.answer(topic.replace("/up/", "/down/"), { method: "control", clientToken: "ctl-1", params: { power: 1 } });
        setImmediate(() => answerAll(topic, message, io, { power: 1, color: 2 }));
        return;
      }
      answerAll(topic, message, io);
    }, { onControl: (params) => applied.push(params) });
    try {
      const sync = await run.task.synced;
      assert.deepEqual(applied, [{ power: 1 }, { color: 2 }]);
      assert.deepEqual(sync.appliedControl, { color: 2 });
    } finally {
      await run.stop();
    }
  });

  it("counts a get_status the platform never answers as a problem, and still reports info and checks the clock", async () => {
    const clock = new ManualClock();
    const run = scriptedBoot((_login, topic, message, io) => {
      if (message.method !== "get_status") answerAll(topic, message, io);
    }, { replyTimeoutMs: 50 }, { clock });
    try {
      await run.task.online;
      await clock.advance(50);
      const sync = await run.task.synced;
      assert.equal(sync.infoReported, true);
      assert.match(sync.problems.join(), /get_status: no get_status_reply within the sync's 50 ms/);
      assert.deepEqual(sync.missing, ["get_status_reply"]);
      assert.equal(sync.clock?.corrected, false);
    } finally {
      await run.stop();
    }
  });

  it("sends report_info, get_status and the time request together, and one timeout bounds a sync nobody answers", async () => {
    const clock = new ManualClock();
    const sent: string[] = [];
    const run = scriptedBoot((_login, topic, message, io) => {
      sent.push(message.method ?? message.type);
      if (message.method === "report") answerAll(topic, message, io);
    }, { replyTimeoutMs: 10_000 }, { clock });
    try {
      await run.task.online;
      await settle();
      // No time has passed: all three are out before any answer or timeout (in series, only report_info would be).
      assert.deepEqual(sent, ["report", "report_info", "get_status", "get"]);
      let synced = false;
      void run.task.synced.then(() => (synced = true));
      await clock.advance(9_999);
      assert.equal(synced, false, "the sync waits out its timeout");
      await clock.advance(1);
      assert.equal(synced, true, "one timeout ends the whole sync");
      const sync = await run.task.synced;
      assert.deepEqual(sync.missing, ["report_info_reply", "get_status_reply", "$sys time"]);
      assert.equal(sync.infoReported, false);
      assert.equal(sync.problems.length, 3);
      assert.equal(run.task.state, "online", "a silent platform leaves the device online");
    } finally {
      await run.stop();
    }
  });

  it("bounds the follow-up clear_control by the same timeout: the sync ends when it runs out", async () => {
    const clock = new ManualClock();
    const run = scriptedBoot((_login, topic, message, io) => {
      if (message.method !== "clear_control") answerAll(topic, message, io, { power: 1 });
    }, { replyTimeoutMs: 10_000 }, { clock });
    try {
      await run.task.online;
      await clock.advance(10_000);
      const sync = await run.task.synced;
      assert.deepEqual(sync.missing, ["clear_control_reply"]);
      assert.equal(sync.infoReported, true);
      assert.equal(clock.monotonicMs(), 10_000);
    } finally {
      await run.stop();
    }
  });
});

describe("device: requests and their replies over a scripted session", () => {
  it("a reply of another kind with the same clientToken does not settle a report; only its report_reply does", async () => {
    const clock = new ManualClock();
    let mode: "wrong-kind" | "right" = "wrong-kind";
    const run = scriptedBoot((_login, topic, message, io) => {
      const down = topic.replace("/up/", "/down/");
      if (message.method === "report" && message.params?.probe) {
        if (mode === "wrong-kind") io.answer(down, { method: "report_info_reply", clientToken: message.clientToken, code: 0, status: "success" });
        else io.answer(down, { method: "report_reply", clientToken: message.clientToken, code: 0, status: "success" });
        return;
      }
      answerAll(topic, message, io);
    }, { replyTimeoutMs: 10_000 }, { clock });
    try {
      await run.task.online;
      const report = run.task.report({ probe: 1 });
      let outcome = "pending";
      report.then(() => (outcome = "resolved"), (error) => (outcome = error.code));
      await settle();
      assert.equal(outcome, "pending", "report_info_reply is not a report's answer");
      await clock.advance(10_000);
      assert.equal(outcome, "timeout");
      mode = "right";
      await run.task.report({ probe: 2 });
    } finally {
      await run.stop();
    }
  });

  it("a report_reply with a non-zero code fails report() with the platform's code", async () => {
    const run = scriptedBoot((_login, topic, message, io) => {
      if (message.method === "report" && message.params?.oversized) {
        io.answer(topic.replace("/up/", "/down/"), { method: "report_reply", clientToken: message.clientToken, code: 406, status: "property not in the data template" });
        return;
      }
      answerAll(topic, message, io);
    });
    try {
      await run.task.online;
      await assert.rejects(run.task.report({ oversized: 1 }), (error: any) => {
        assert.equal(error.code, "server-error");
        assert.equal(error.message, "report refused with code 406 (property not in the data template)");
        return true;
      });
    } finally {
      await run.stop();
    }
  });

  it("posts an event with its declared type, the device time in ms and its params, and awaits event_reply", async () => {
    const clock = new ManualClock({ wallStartMs: Date.now() + 0.6 }); // a fraction of a ms: the timestamp is whole ms
    const posted: any[] = [];
    const run = scriptedBoot((_login, topic, message, io) => {
      if (message.method === "event_post") {
        posted.push({ topic, message });
        io.answer(topic.replace("/up/", "/down/"), { method: "event_reply", clientToken: message.clientToken, code: 0, status: "", data: {} });
        return;
      }
      answerAll(topic, message, io);
    }, {}, { clock });
    try {
      await run.task.online;
      await run.task.synced; // the clock checked against the platform's (answerAll's) time
      const nowMs = clock.nowMs();
      await run.task.postEvent("low_voltage", { voltage: 2.8 }, "alert");
      await run.task.postEvent("status_report", { status: 1, message: "on" });
      assert.equal(posted.length, 2);
      assert.equal(posted[0].topic, "$thing/up/event/ABCDEFGHIJ/dev001");
      const { clientToken, ...alert } = posted[0].message;
      assert.equal(typeof clientToken, "string");
      assert.deepEqual(alert, { method: "event_post", version: "1.0", eventId: "low_voltage", type: "alert", timestamp: Math.floor(nowMs), params: { voltage: 2.8 } });
      assert.equal(posted[1].message.type, "info", "info when no type is given");
      assert.deepEqual(posted[1].message.params, { status: 1, message: "on" });
    } finally {
      await run.stop();
    }
  });

  it("an event_reply with a non-zero code fails postEvent", async () => {
    const run = scriptedBoot((_login, topic, message, io) => {
      if (message.method === "event_post") {
        io.answer(topic.replace("/up/", "/down/"), { method: "event_reply", clientToken: message.clientToken, code: 406, status: "unknown event" });
        return;
      }
      answerAll(topic, message, io);
    });
    try {
      await run.task.online;
      await assert.rejects(run.task.postEvent("nope", {}), { code: "request-rejected", message: "event nope refused with code 406 (unknown event)" });
    } finally {
      await run.stop();
    }
  });
});

describe("device: a subscription the broker refuses (SUBACK 0x80)", () => {
  const sysResult = "$sys/operation/result/ABCDEFGHIJ/dev001";
  const answerEvents = (topic: string, message: any, io: { answer(topic: string, body: unknown): void }) => {
    if (message.method === "event_post") io.answer(topic.replace("/up/", "/down/"), { method: "event_reply", clientToken: message.clientToken, code: 0, status: "" });
    else answerAll(topic, message, io);
  };

  it("an optional topic ($sys time) refused: online, a warning, only the clock check lost", async () => {
    const sent: string[] = [];
    const run = scriptedBoot((_login, topic, message, io) => {
      sent.push(message.method ?? message.type);
      answerEvents(topic, message, io);
    }, {}, { refusedTopics: [sysResult] });
    try {
      await run.task.online;
      const sync = await run.task.synced;
      assert.equal(run.task.state, "online");
      assert.equal(sync.infoReported, true);
      assert.equal(sync.clock, undefined);
      assert.match(sync.problems.join(), /clock: the broker refused the subscription to \$sys\/operation\/result\/ABCDEFGHIJ\/dev001 \(SUBACK 0x80\)/);
      assert.ok(!sent.includes("get"), "no time request that could never be answered");
      const warning = run.log.entries().find((entry) => entry.event === "mqtt.subscribe.refused");
      assert.equal(warning?.level, "warn");
      assert.equal(warning?.topic, sysResult);
      assert.equal(warning?.feature, "time");
      await run.task.postEvent("status_report", { status: 1 });
    } finally {
      await run.stop();
    }
  });

  it("the event topic refused: postEvent fails at once with its own code, the rest works", async () => {
    const sent: string[] = [];
    const run = scriptedBoot((_login, topic, message, io) => {
      sent.push(message.method ?? message.type);
      answerEvents(topic, message, io);
    }, {}, { refusedTopics: ["$thing/down/event/ABCDEFGHIJ/dev001"] });
    try {
      const sync = await run.task.synced;
      assert.deepEqual(sync.problems, []);
      await assert.rejects(run.task.postEvent("status_report", { status: 1 }), (error: any) => {
        assert.equal(error.code, "mqtt-subscribe-refused");
        assert.match(error.message, /\$thing\/down\/event\/ABCDEFGHIJ\/dev001/);
        return true;
      });
      assert.ok(!sent.includes("event_post"));
      await run.task.report({ power: 1 });
    } finally {
      await run.stop();
    }
  });

  it("the property topic refused: retried with its own code and message, never 'check the device secret'", async () => {
    const propertyDown = "$thing/down/property/ABCDEFGHIJ/dev001";
    const run = scriptedBoot((_login, topic, message, io) => answerAll(topic, message, io), {}, { refusedTopics: [propertyDown] });
    const backoffs: string[] = [];
    run.task.onState((event) => {
      if (event.state !== "backoff") return;
      backoffs.push(event.detail ?? "");
      run.broker.refusedTopics.clear(); // the product's permissions fixed: the next login subscribes
    });
    try {
      await run.task.online;
      assert.equal(run.logins(), 2);
      assert.equal(backoffs.length, 1);
      assert.match(backoffs[0], /^mqtt-subscribe-refused: the broker refused the subscription to \$thing\/down\/property\/ABCDEFGHIJ\/dev001 \(SUBACK 0x80\)/);
      assert.doesNotMatch(backoffs[0], /secret/);
    } finally {
      await run.stop();
    }
  });
});

describe("device: data-template down messages (firmware/data-template.ts)", () => {
  const bytes = (value: unknown) => new Uint8Array(Buffer.from(typeof value === "string" ? value : JSON.stringify(value)));
  it("reads get_status_reply, the plain replies and action, and says what is wrong with the rest", () => {
    assert.deepEqual(parseDownMessage(bytes({ method: "get_status_reply", clientToken: "t", code: 0, status: "success", data: { reported: { a: 1 }, control: { b: 2 } } })),
      { kind: "get_status_reply", clientToken: "t", code: 0, status: "success", reported: { a: 1 }, control: { b: 2 } });
    assert.deepEqual(parseDownMessage(bytes({ method: "get_status_reply", clientToken: "t", code: 0, data: [] })), { kind: "get_status_reply", clientToken: "t", code: 0, status: "" });
    for (const method of ["report_info_reply", "clear_control_reply", "event_reply", "events_reply"]) {
      assert.deepEqual(parseDownMessage(bytes({ method, clientToken: "t", code: 404, status: "x" })), { kind: "reply", method, clientToken: "t", code: 404, status: "x" });
      assert.equal(parseDownMessage(bytes({ method, code: 0 })).kind, "invalid");
    }
    assert.deepEqual(parseDownMessage(bytes({ method: "action", clientToken: "a", actionId: "open", timestamp: 1, params: { x: 1 } })), { kind: "action", clientToken: "a", actionId: "open", params: { x: 1 } });
    assert.equal(parseDownMessage(bytes({ method: "action", clientToken: "a", params: {} })).kind, "invalid");
  });

  it("reads the time result, and refuses what is not one", () => {
    assert.deepEqual(parseTimeResult(bytes({ type: "get", time: 1621562342, ntptime1: 1621562342773, ntptime2: 1621562342774 })), { time: 1621562342, ntptime1: 1621562342773, ntptime2: 1621562342774 });
    assert.deepEqual(parseTimeResult(bytes({ type: "get", time: 5 })), { time: 5, ntptime1: 5000, ntptime2: 5000 });
    for (const bad of ["nope", { type: "set", time: 1 }, { type: "get" }, { type: "get", time: "1" }, [1]]) {
      assert.ok("invalid" in parseTimeResult(bytes(bad)), JSON.stringify(bad));
    }
  });
});

describe("firmware version", () => {
  it("report_info's fw_ver is package.json's version", () => {
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL("../package.json", import.meta.url)), "utf8")) as { version: string };
    assert.equal(FIRMWARE_VERSION, pkg.version);
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition(), "condition not met");
}
