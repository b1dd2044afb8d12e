/**
 * The platform's data plane (simulator/platform/thing.ts) through its calls and MQTT.js: what the
 * Cloud API builds on (control, callAction, publish, latestReported), the rules the C SDK interop
 * test does not reach (refusals, timeouts, get_status types, persistence), and the device-facing
 * refusals' shapes.
 */
import { strict as assert } from "node:assert";
import mqtt, { type MqttClient } from "mqtt";
import { startPlatform, ThingError, type RunningPlatform } from "../simulator/platform/index";
import { EXPIRY_GRACE_MS, expiryHasPassed } from "../simulator/platform/mqtt-auth";
import { MOCK_BAD_REQUEST_CODE } from "../simulator/platform/thing";
import { MAX_DEVICE_MESSAGE_BYTES, REPORTED_BOUNDS } from "../simulator/platform/data-bounds";
import { PID, mqttCredentials, registerPsk, tempDir, testConfig } from "./platform-helpers";
import { describeStores } from "./lib/store-matrix";

const clients: MqttClient[] = [];

async function online(platform: RunningPlatform, deviceName: string, psk?: string): Promise<MqttClient> {
  const key = psk ?? await registerPsk(platform.httpUrl, deviceName);
  const client = mqtt.connect(platform.mqttUrl, { ...mqttCredentials(PID, deviceName, key), reconnectPeriod: 0, connectTimeout: 5000 });
  clients.push(client);
  await new Promise<void>((resolve, reject) => { client.once("connect", () => resolve()); client.once("error", reject); });
  return client;
}

function nextMessage(client: MqttClient, topic: string, match: (message: any) => boolean = () => true): Promise<any> {
  return new Promise((resolve) => {
    const onMessage = (received: string, payload: Buffer) => {
      if (received !== topic) return;
      const message = JSON.parse(payload.toString());
      if (!match(message)) return;
      client.off("message", onMessage);
      resolve(message);
    };
    client.on("message", onMessage);
  });
}

/** Publishes a request and resolves with the reply carrying its clientToken. */
async function request(client: MqttClient, kind: "property" | "event", body: unknown, deviceName = "dev001"): Promise<any> {
  const token = (typeof body === "string" ? JSON.parse(body) : body as { clientToken?: unknown }).clientToken;
  const reply = nextMessage(client, `$thing/down/${kind}/${PID}/${deviceName}`, (message) => message.clientToken === token);
  await client.publishAsync(`$thing/up/${kind}/${PID}/${deviceName}`, typeof body === "string" ? body : JSON.stringify(body));
  return reply;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.endAsync(true).catch(() => undefined)));
});

describe("platform: username expiry, exact (mqtt-auth.ts)", () => {
  const now = 1_700_000_000_123;
  it("compares seconds and milliseconds exactly, and never expires LONG_MAX of either width", () => {
    assert.equal(expiryHasPassed(1_700_000_000n, now, 0), false);
    assert.equal(expiryHasPassed(1_699_999_999n, now, 0), true);
    assert.equal(expiryHasPassed(1_700_000_000_123n, now, 0), false);
    assert.equal(expiryHasPassed(1_700_000_000_122n, now, 0), true);
    // The default grace: Tencent's Python SDK signs with expiry = its current time in ms.
    assert.equal(expiryHasPassed(BigInt(now - EXPIRY_GRACE_MS), now), false);
    assert.equal(expiryHasPassed(BigInt(now - EXPIRY_GRACE_MS - 1), now), true);
    assert.equal(expiryHasPassed(BigInt(Math.floor((now - EXPIRY_GRACE_MS) / 1000)), now), false, "a seconds expiry covers its whole second");
    assert.equal(expiryHasPassed(BigInt(Math.floor((now - EXPIRY_GRACE_MS) / 1000) - 1), now), true);
    assert.equal(expiryHasPassed(2_147_483_647n, Date.UTC(2040, 0, 1)), false, "32-bit LONG_MAX past 2038 still means never");
    assert.equal(expiryHasPassed(9_223_372_036_854_775_807n, now), false);
    // 19 digits a double cannot hold: 9007199254740993 ms would round to ...992 as a Number.
    assert.equal(expiryHasPassed(9_007_199_254_740_993n, 9_007_199_254_740_992), false);
  });
});

describeStores("platform: data plane (thing.ts)", function (store) {
  let platform: RunningPlatform;
  let clock: number;

  beforeEach(async () => {
    clock = Date.now();
    platform = await startPlatform({ ...(await store.options()), config: testConfig(), now: () => clock });
  });
  afterEach(async () => platform.close());

  it("keeps the latest value of each reported property with its times, merged across reports", async () => {
    const device = await online(platform, "dev001");
    await device.subscribeAsync(`$thing/down/property/${PID}/dev001`);
    assert.equal((await request(device, "property", { method: "report", clientToken: "r1", timestamp: 1_700_000_000, params: { power: 1, temp: 20.5 } })).code, 0);
    const first = clock;
    clock += 5000;
    assert.equal((await request(device, "property", { method: "report", clientToken: "r2", params: { temp: 21 } })).code, 0);
    assert.deepEqual(await platform.thing.latestReported(PID, "dev001"), {
      power: { value: 1, updatedAt: first, deviceTimestamp: 1_700_000_000 },
      temp: { value: 21, updatedAt: clock },
    });
  });

  it("stores a property named __proto__ and reads it back as an own property, in latestReported and get_status_reply", async () => {
    const device = await online(platform, "dev001");
    await device.subscribeAsync(`$thing/down/property/${PID}/dev001`);
    // Raw text: JSON.parse makes "__proto__" an own property, as it does for a device's report.
    const report = await request(device, "property", '{"method":"report","clientToken":"p1","params":{"__proto__":{"polluted":1},"constructor":7,"x":2}}');
    assert.equal(report.code, 0);
    const latest = await platform.thing.latestReported(PID, "dev001");
    assert.deepEqual(Object.keys(latest).sort(), ["__proto__", "constructor", "x"]);
    assert.ok(Object.hasOwn(latest, "__proto__"));
    assert.deepEqual(latest["__proto__"].value, { polluted: 1 });
    assert.equal(Object.getPrototypeOf(latest), Object.prototype, "the prototype is untouched");
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    const status = await request(device, "property", { method: "get_status", clientToken: "p2", type: "report" });
    assert.deepEqual(JSON.parse(JSON.stringify(status.data.reported)), JSON.parse('{"__proto__":{"polluted":1},"constructor":7,"x":2}'));
    assert.ok(Object.hasOwn(status.data.reported, "__proto__"));
  });

  it("bounds what a device keeps: property names per device, name length and value size, refusing a report past a bound whole", async () => {
    const device = await online(platform, "dev001");
    await device.subscribeAsync(`$thing/down/property/${PID}/dev001`);
    const names = (from: number, count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`p${from + i}`, i]));
    assert.equal((await request(device, "property", { method: "report", clientToken: "b1", params: names(0, 100) })).code, 0);
    const third = await request(device, "property", { method: "report", clientToken: "b2", params: { ...names(100, 29), p0: "changed" } });
    assert.deepEqual([third.code, third.status], [MOCK_BAD_REQUEST_CODE, `a device may keep at most ${REPORTED_BOUNDS.maxPropertiesPerDevice} properties`]);
    let latest = await platform.thing.latestReported(PID, "dev001");
    assert.equal(Object.keys(latest).length, 100, "nothing of the refused report is kept");
    assert.equal(latest.p0.value, 0);
    assert.equal((await request(device, "property", { method: "report", clientToken: "b3", params: { ...names(100, 28), p0: "changed" } })).code, 0, "up to the bound");
    latest = await platform.thing.latestReported(PID, "dev001");
    assert.equal(Object.keys(latest).length, REPORTED_BOUNDS.maxPropertiesPerDevice);
    assert.equal(latest.p0.value, "changed");
    assert.equal((await request(device, "property", { method: "report", clientToken: "b4", params: { p1: 11 } })).code, 0, "known names still update");
    const long = await request(device, "property", { method: "report", clientToken: "b5", params: { ["n".repeat(REPORTED_BOUNDS.maxNameLength + 1)]: 1 } });
    assert.equal(long.code, MOCK_BAD_REQUEST_CODE);
    const big = await request(device, "property", { method: "report", clientToken: "b6", params: { p2: "v".repeat(REPORTED_BOUNDS.maxValueBytes) } });
    assert.match(big.status, /at most 2048 bytes as JSON/);
    assert.equal((await platform.thing.latestReported(PID, "dev001")).p2.value, 2);
  });

  it("bounds a device's bytes so that get_status_reply fits the 16 KiB it receives, and refuses what would not fit", async () => {
    const device = await online(platform, "dev001");
    await device.subscribeAsync(`$thing/down/property/${PID}/dev001`);
    const value = "v".repeat(REPORTED_BOUNDS.maxValueBytes - 2); // 2,048 bytes as JSON
    for (let i = 0; i < 3; i++) assert.equal((await request(device, "property", { method: "report", clientToken: `s${i}`, params: { [`big${i}`]: value } })).code, 0);
    const over = await request(device, "property", { method: "report", clientToken: "s3", params: { big3: value, small: 1 } });
    assert.deepEqual([over.code, over.status], [MOCK_BAD_REQUEST_CODE, `a device may keep at most ${REPORTED_BOUNDS.maxBytesPerDevice} bytes of reported properties`]);
    assert.deepEqual(Object.keys(await platform.thing.latestReported(PID, "dev001")).sort(), ["big0", "big1", "big2"]);
    // Pending control past what a reply can carry: the device is told so, in a message it can take.
    await platform.thing.control(PID, "dev001", { a: "c".repeat(7000) });
    await platform.thing.control(PID, "dev001", { b: "c".repeat(7000) });
    const raw = new Promise<Buffer>((resolve) => device.on("message", (_topic, payload) => {
      if (JSON.parse(payload.toString()).clientToken === "g1") resolve(payload);
    }));
    const status = await request(device, "property", { method: "get_status", clientToken: "g1" });
    assert.ok((await raw).length <= MAX_DEVICE_MESSAGE_BYTES, `${(await raw).length} bytes`);
    assert.equal(status.code, MOCK_BAD_REQUEST_CODE);
    assert.match(status.status, /exceed the 16384 bytes/);
    const reported = await request(device, "property", { method: "get_status", clientToken: "g2", type: "report" });
    assert.equal(reported.code, 0, "the reported part alone fits");
    await assert.rejects(platform.thing.control(PID, "dev001", { c: "c".repeat(MAX_DEVICE_MESSAGE_BYTES) }), /exceed the 16384 bytes/);
    await assert.rejects(platform.thing.callAction(PID, "dev001", "blink", { c: "c".repeat(MAX_DEVICE_MESSAGE_BYTES) }), /exceed the 16384 bytes/);
  });

  it("answers get_status by type: report only, control only, or both when no type is given", async () => {
    const device = await online(platform, "dev001");
    await device.subscribeAsync(`$thing/down/property/${PID}/dev001`);
    await request(device, "property", { method: "report", clientToken: "r1", params: { power: 1 } });
    await platform.thing.control(PID, "dev001", { power: 0 });
    const report = await request(device, "property", { method: "get_status", clientToken: "g1", type: "report", showmeta: 0 });
    assert.deepEqual([report.type, report.data], ["report", { reported: { power: 1 } }]);
    const control = await request(device, "property", { method: "get_status", clientToken: "g2", type: "control" });
    assert.deepEqual([control.type, control.data], ["control", { control: { power: 0 } }]);
    const bad = await request(device, "property", { method: "get_status", clientToken: "g3", type: "metadata" });
    assert.equal(bad.code, MOCK_BAD_REQUEST_CODE);
  });

  it("keeps control pending until acknowledged or cleared; a later value survives an older acknowledgement", async () => {
    const device = await online(platform, "dev001");
    await device.subscribeAsync(`$thing/down/property/${PID}/dev001`, { qos: 1 });
    const firstDelivered = nextMessage(device, `$thing/down/property/${PID}/dev001`);
    const first = await platform.thing.control(PID, "dev001", { power: 1, color: 2 });
    await firstDelivered;
    await platform.thing.control(PID, "dev001", { color: 3 });
    await device.publishAsync(`$thing/up/property/${PID}/dev001`, JSON.stringify({ method: "control_reply", clientToken: first.clientToken, code: 0, status: "" }));
    await waitFor(async () => (await platform.registry.getControl(first.clientToken))?.reply !== undefined);
    assert.deepEqual(await platform.thing.pendingControl(PID, "dev001"), { color: 3 }, "color 3 was sent after the acknowledged control");
    // A refused control (code != 0) stays pending.
    const refused = await platform.thing.control(PID, "dev001", { power: 5 });
    await device.publishAsync(`$thing/up/property/${PID}/dev001`, JSON.stringify({ method: "control_reply", clientToken: refused.clientToken, code: 1, status: "no" }));
    await waitFor(async () => (await platform.registry.getControl(refused.clientToken))?.reply !== undefined);
    assert.deepEqual(await platform.thing.pendingControl(PID, "dev001"), { color: 3, power: 5 });
    assert.equal((await request(device, "property", { method: "clear_control", clientToken: "c1" })).method, "clear_control_reply");
    assert.equal(await platform.thing.pendingControl(PID, "dev001"), undefined);
  });

  it("control: unknown device refused; offline device kept pending, or refused with requireOnline", async () => {
    await assert.rejects(platform.thing.control(PID, "nosuch", {}), (error: ThingError) => error.code === "device-not-found");
    await assert.rejects(platform.thing.control(PID, "dev002", { a: 1 }, { requireOnline: true }), (error: ThingError) => error.code === "device-offline");
    const kept = await platform.thing.control(PID, "dev002", { a: 1 });
    assert.equal(kept.delivered, false);
    assert.deepEqual(await platform.thing.pendingControl(PID, "dev002"), { a: 1 });
  });

  it("callAction: refuses offline devices and bad action ids, and times out without an action_reply", async () => {
    await assert.rejects(platform.thing.callAction(PID, "dev001", "open", {}), { code: "device-offline" });
    await online(platform, "dev001");
    await assert.rejects(platform.thing.callAction(PID, "dev001", "no spaces", {}), { code: "invalid" });
    await assert.rejects(platform.thing.callAction(PID, "nosuch", "open", {}), { code: "device-not-found" });
    await assert.rejects(platform.thing.callAction(PID, "dev001", "open", {}, 50), { code: "action-timeout" });
    const calls = await platform.registry.listActions(PID, "dev001");
    assert.equal(calls.length, 1);
    assert.equal(calls[0].reply, undefined, "the unanswered call is recorded without a reply");
  });

  it("a late or foreign action_reply answers nothing; a pending call is rejected when the platform stops", async () => {
    const device = await online(platform, "dev001");
    await device.publishAsync(`$thing/up/action/${PID}/dev001`, JSON.stringify({ method: "action_reply", clientToken: "act-nobody", code: 0, status: "", response: {} }));
    const waiting = platform.thing.callAction(PID, "dev001", "open", {}, 30_000);
    const stopped = assert.rejects(waiting, { code: "closed" });
    await platform.close();
    await stopped;
  });

  it("publish: only the device's custom topics it subscribes, and says whether it was online", async () => {
    assert.deepEqual(await platform.thing.publish(PID, "dev001", `${PID}/dev001/control`, "x"), { delivered: false });
    const device = await online(platform, "dev001");
    await device.subscribeAsync(`${PID}/dev001/data`);
    const received = nextMessage(device, `${PID}/dev001/data`);
    assert.deepEqual(await platform.thing.publish(PID, "dev001", `${PID}/dev001/data`, `{"v":1}`), { delivered: true });
    assert.deepEqual(await received, { v: 1 });
    for (const topic of [`${PID}/dev002/data`, `$thing/down/property/${PID}/dev001`, `${PID}/dev001/event`, `${PID}/dev001/#`]) {
      await assert.rejects(platform.thing.publish(PID, "dev001", topic, "x"), { code: "topic-not-allowed" }, topic);
    }
  });

  it("refuses malformed requests with the mock's code and reason, never disconnecting the device", async () => {
    const device = await online(platform, "dev001");
    await device.subscribeAsync([`$thing/down/property/${PID}/dev001`, `$thing/down/event/${PID}/dev001`]);
    const cases: Array<[kind: "property" | "event", body: unknown, reply: string]> = [
      ["property", { method: "report_info", clientToken: "i1", params: "fw" }, "report_info_reply"],
      ["property", { method: "report", clientToken: "r1" }, "report_reply"],
      ["event", { method: "event_post", clientToken: "e1", params: {} }, "event_reply"],
      ["event", { method: "events_post", clientToken: "e2", events: [] }, "events_reply"],
      ["event", { method: "event_post", clientToken: "e3", eventId: "x", params: [1] }, "event_reply"],
    ];
    for (const [kind, body, reply] of cases) {
      const answer = await request(device, kind, body);
      assert.equal(answer.method, reply);
      assert.equal(answer.code, MOCK_BAD_REQUEST_CODE, JSON.stringify(body));
      assert.ok(answer.status.length > 0);
    }
    assert.ok(device.connected);
  });

  it("keeps reported values, pending control, report_info and actions across a restart", async () => {
    const temp = tempDir("explorer-xs-thing-");
    try {
      const kept = await store.persistentOptions(temp.dir);
      const first = await startPlatform({ ...kept, config: testConfig() });
      const psk = await registerPsk(first.httpUrl, "dev001");
      const device = await online(first, "dev001", psk);
      await device.subscribeAsync(`$thing/down/property/${PID}/dev001`);
      await request(device, "property", { method: "report", clientToken: "r1", params: { power: 1 } });
      await request(device, "property", { method: "report_info", clientToken: "i1", params: { fw_ver: "1.2.3" } });
      await first.thing.control(PID, "dev001", { power: 0 });
      await device.endAsync();
      await first.close();
      const second = await startPlatform({ ...kept, config: testConfig() });
      try {
        assert.equal((await second.thing.latestReported(PID, "dev001")).power.value, 1);
        assert.deepEqual(await second.thing.pendingControl(PID, "dev001"), { power: 0 });
        assert.equal((await second.thing.deviceInfo(PID, "dev001"))?.info.fw_ver, "1.2.3");
      } finally {
        await second.close();
      }
    } finally {
      temp.remove();
    }
  });

  it("forgets a deleted device's data with it", async () => {
    const device = await online(platform, "dev001");
    await device.subscribeAsync(`$thing/down/property/${PID}/dev001`);
    await request(device, "property", { method: "report", clientToken: "r1", params: { power: 1 } });
    await platform.thing.control(PID, "dev001", { power: 0 });
    await platform.registry.deleteDevice(PID, "dev001");
    await platform.registry.createDevice(PID, "dev001");
    assert.deepEqual(await platform.thing.latestReported(PID, "dev001"), {});
    assert.equal(await platform.thing.pendingControl(PID, "dev001"), undefined);
  });
});

async function waitFor(condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500 && !(await condition()); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(await condition(), "condition not met");
}
