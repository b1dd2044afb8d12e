/**
 * Issue 21: two platform nodes in this process on one PostgreSQL registry and one Redis (both
 * real, throwaway) act as one platform: keys issued on one node serve TLS-PSK on the other at
 * once, the Cloud API on one node reaches, sees and disconnects a device on the other.
 */
import { strict as assert } from "node:assert";
import { connect as tlsConnect } from "node:tls";
import mqtt, { MqttClient } from "mqtt";
import { startPlatform, type RunningPlatform } from "../simulator/platform/index";
import { apiClient, apiFailure, apiTarget } from "./cloud-api-helpers";
import { PID, mqttCredentials, nextMessage, registerPsk, testConfig } from "./platform-helpers";
import { postgresBinaries, sharedPostgres } from "./lib/postgres";
import { requireRedis, startRedis, type RedisServer } from "./lib/redis";

/** An MQTT client over TLS-PSK (identity ProductId+DeviceName, key the decoded PSK), as Tencent's C SDK connects. */
function connectPsk(tlsUrl: string, deviceName: string, psk: string): Promise<MqttClient> {
  const url = new URL(tlsUrl);
  const open = () => tlsConnect({
    host: url.hostname, port: Number(url.port), maxVersion: "TLSv1.2", ciphers: "PSK-AES128-CBC-SHA256:PSK-AES128-GCM-SHA256",
    checkServerIdentity: () => undefined,
    pskCallback: () => ({ identity: `${PID}${deviceName}`, psk: Buffer.from(psk, "base64") }),
  });
  const { username } = mqttCredentials(PID, deviceName, psk);
  const client = new MqttClient(open, { clientId: `${PID}${deviceName}`, username, reconnectPeriod: 0, connectTimeout: 3000 } as never);
  return new Promise((resolve, reject) => {
    client.once("connect", () => resolve(client));
    client.once("error", (error) => { client.end(true); reject(error); });
    client.once("close", () => reject(new Error("closed before CONNACK")));
  });
}

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let i = 0; i < 100 && !done(value); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    value = await read();
  }
  return value;
}

describe("platform: two nodes on one Redis and one PostgreSQL (issue 21)", function () {
  let redis: RedisServer;
  let nodeA: RunningPlatform;
  let nodeB: RunningPlatform;
  const clients: MqttClient[] = [];

  before(async function () {
    requireRedis(this);
    if (postgresBinaries() === undefined) {
      if (process.env.CI) throw new Error("PostgreSQL is missing: .ci/run installs it");
      this.skip();
    }
    redis = await startRedis();
  });
  after(async () => redis?.stop());

  beforeEach(async () => {
    await redis.stop().catch(() => undefined);
    redis = await startRedis(); // nothing left from the last test: presence, sessions
    const postgres = await (await sharedPostgres()).createDatabase();
    const node = () => startPlatform({ memory: true, postgres, redis: redis.url, config: testConfig(), mqttTlsPort: 0, actionTimeoutMs: 2000 });
    nodeA = await node();
    nodeB = await node();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.endAsync(true).catch(() => undefined)));
    await nodeA?.close();
    await nodeB?.close();
  });

  it("serves TLS-PSK on node B with a key node A issued a moment ago", async () => {
    const psk = await registerPsk(nodeA.httpUrl, "dev001");
    // No wait: the registration's answer came after the key reached node B.
    assert.equal(nodeB.registry.deviceKeys.psk(`${PID}dev001`), psk);
    clients.push(await connectPsk(nodeB.mqttTlsUrl!, "dev001", psk));
    assert.equal((await nodeA.registry.getDevice(PID, "dev001"))?.state, "activated");
  });

  it("a node that missed a key (cut off from Redis) refuses that handshake and reads the key for the device's next attempt", async () => {
    const psk = await registerPsk(nodeA.httpUrl, "dev001");
    nodeB.registry.deviceKeys.apply({ op: "remove", productId: PID, deviceName: "dev001" }); // as if the change never reached B
    await assert.rejects(connectPsk(nodeB.mqttTlsUrl!, "dev001", psk));
    await eventually(async () => nodeB.registry.deviceKeys.psk(`${PID}dev001`), (value) => value !== undefined);
    clients.push(await connectPsk(nodeB.mqttTlsUrl!, "dev001", psk));
  });

  it("ControlDeviceData, PublishMessage and CallDeviceActionSync on node B reach a device on node A; DescribeDevice on B shows it online", async () => {
    const psk = await registerPsk(nodeA.httpUrl, "dev001");
    const device = await mqtt.connectAsync(nodeA.mqttUrl, { ...mqttCredentials(PID, "dev001", psk), reconnectPeriod: 0 });
    clients.push(device);
    await device.subscribeAsync([`$thing/down/property/${PID}/dev001`, `$thing/down/action/${PID}/dev001`, `${PID}/dev001/control`], { qos: 1 });
    const api = apiClient(apiTarget(nodeB));

    assert.equal((await api.DescribeDevice({ ProductId: PID, DeviceName: "dev001" })).Device?.Status, 1);

    const control = nextMessage(device, `$thing/down/property/${PID}/dev001`);
    const answer = await api.ControlDeviceData({ ProductId: PID, DeviceName: "dev001", Data: '{"power_switch":1}' });
    assert.deepEqual(JSON.parse(answer.Result!), { Sent: 1, pushResult: 0 });
    const sent = JSON.parse((await control).toString()) as { clientToken: string; params: unknown };
    assert.deepEqual(sent.params, { power_switch: 1 });
    await device.publishAsync(`$thing/up/property/${PID}/dev001`, JSON.stringify({ method: "control_reply", clientToken: sent.clientToken, code: 0, status: "done" }), { qos: 1 });
    const reply = await eventually(async () => (await nodeB.registry.getControl(sent.clientToken))?.reply, (value) => value !== undefined);
    assert.deepEqual([reply?.code, reply?.status], [0, "done"]);

    const custom = nextMessage(device, `${PID}/dev001/control`);
    await api.PublishMessage({ ProductId: PID, DeviceName: "dev001", Topic: `${PID}/dev001/control`, Payload: "hello from B", Qos: 1 });
    assert.equal((await custom).toString(), "hello from B");

    device.on("message", (topic, payload) => {
      if (topic !== `$thing/down/action/${PID}/dev001`) return;
      const call = JSON.parse(payload.toString()) as { clientToken: string };
      void device.publishAsync(`$thing/up/action/${PID}/dev001`, JSON.stringify({ method: "action_reply", clientToken: call.clientToken, code: 0, status: "ok", response: { answered: "on A" } }), { qos: 1 });
    });
    const action = await api.CallDeviceActionSync({ ProductId: PID, DeviceName: "dev001", ActionId: "blink", InputParams: "{}" });
    assert.deepEqual(JSON.parse(action.OutputParams!), { answered: "on A" });
  });

  it("DeleteDevice on node B disconnects the device from node A, and A refuses its next TLS-PSK CONNECT", async () => {
    const psk = await registerPsk(nodeA.httpUrl, "dev001");
    const device = await connectPsk(nodeA.mqttTlsUrl!, "dev001", psk);
    clients.push(device);
    const closed = new Promise<void>((resolve) => device.once("close", () => resolve()));
    await apiClient(apiTarget(nodeB)).DeleteDevice({ ProductId: PID, DeviceName: "dev001" });
    await closed;
    assert.equal(nodeA.registry.deviceKeys.psk(`${PID}dev001`), undefined);
    await assert.rejects(connectPsk(nodeA.mqttTlsUrl!, "dev001", psk));
    assert.equal((await apiFailure(apiClient(apiTarget(nodeA)).DescribeDevice({ ProductId: PID, DeviceName: "dev001" }))).code, "ResourceNotFound.DeviceNotExist");
  });

  it("UpdateDevicesEnableState on node B disconnects the device from node A, and A refuses its next CONNECT", async () => {
    const psk = await registerPsk(nodeA.httpUrl, "dev001");
    const device = await mqtt.connectAsync(nodeA.mqttUrl, { ...mqttCredentials(PID, "dev001", psk), reconnectPeriod: 0 });
    clients.push(device);
    const closed = new Promise<void>((resolve) => device.once("close", () => resolve()));
    await apiClient(apiTarget(nodeB)).UpdateDevicesEnableState({ DevicesItems: [{ ProductId: PID, DeviceName: "dev001" }], Status: 0 });
    await closed;
    const again = mqtt.connect(nodeA.mqttUrl, { ...mqttCredentials(PID, "dev001", psk), reconnectPeriod: 0 });
    clients.push(again);
    const refused = await new Promise<number | undefined>((resolve) => {
      again.once("error", (error) => resolve((error as { code?: number }).code));
      again.once("connect", () => resolve(0));
    });
    assert.ok(typeof refused === "number" && refused > 0, `CONNACK return code ${refused}`);
    const status = await eventually(async () => (await apiClient(apiTarget(nodeA)).DescribeDevice({ ProductId: PID, DeviceName: "dev001" })).Device?.Status, (value) => value === 0);
    assert.equal(status, 0); // offline everywhere: node A's presence entry went with the connection
  });

  it("a CONNECT on node B takes over the device's connection on node A; presence stays with B", async () => {
    const psk = await registerPsk(nodeA.httpUrl, "dev001");
    const first = await mqtt.connectAsync(nodeA.mqttUrl, { ...mqttCredentials(PID, "dev001", psk), reconnectPeriod: 0 });
    clients.push(first);
    const firstClosed = new Promise<void>((resolve) => first.once("close", () => resolve()));
    clients.push(await mqtt.connectAsync(nodeB.mqttUrl, { ...mqttCredentials(PID, "dev001", psk), reconnectPeriod: 0 }));
    await firstClosed;
    // Node A's disconnect does not erase the entry node B wrote.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal((await apiClient(apiTarget(nodeA)).DescribeDevice({ ProductId: PID, DeviceName: "dev001" })).Device?.Status, 1);
  });

  it("counts a product's registrations per second across the nodes", async () => {
    await Promise.all([nodeA.close(), nodeB.close()]);
    const postgres = await (await sharedPostgres()).createDatabase();
    // Both nodes' clocks stopped in one second: both registrations count against it.
    const second = Date.now();
    const node = () => startPlatform({ memory: true, postgres, redis: redis.url, config: testConfig(), maxRegistrationsPerSecond: 1, now: () => second });
    nodeA = await node();
    nodeB = await node();
    const { registerDevice } = await import("./platform-helpers");
    const answers = await Promise.all([registerDevice(nodeA.httpUrl, { deviceName: "dev001" }), registerDevice(nodeB.httpUrl, { deviceName: "dev002" })]);
    const codes = answers.map((answer) => answer.json.Response.Error?.Code ?? "ok").sort();
    assert.deepEqual(codes, ["RequestLimitExceeded", "ok"]);
  });
});

describe("platform: device keys across nodes (redis-cluster.ts)", function () {
  let redis: RedisServer;
  before(async function () {
    requireRedis(this);
    redis = await startRedis();
  });
  after(async () => redis?.stop());

  it("replays, in order, the changes another node made while this one was loading its keys", async () => {
    const { RedisCluster } = await import("../simulator/platform/redis-cluster");
    const { DeviceKeys } = await import("../simulator/platform/device-keys");
    const other = await RedisCluster.connect(redis.url);
    const starting = await RedisCluster.connect(redis.url);
    try {
      const otherKeys = new DeviceKeys();
      other.follow(otherKeys);
      // Subscribed, not yet following: what the other node does now must not be lost.
      otherKeys.put({ productId: PID, deviceName: "early1", psk: "QUJDREVGR0hJSktMTU5PUA==" });
      otherKeys.put({ productId: PID, deviceName: "early2", psk: "QUJDREVGR0hJSktMTU5PUQ==" });
      otherKeys.remove(PID, "early2");
      await otherKeys.flush();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const keys = new DeviceKeys();
      keys.load([{ productId: PID, deviceName: "early2", psk: "QUJDREVGR0hJSktMTU5PUQ==" }]); // a load that saw early2 before its removal
      assert.equal(starting.follow(keys), true);
      assert.equal(keys.psk(`${PID}early1`), "QUJDREVGR0hJSktMTU5PUA==");
      assert.equal(keys.get(`${PID}early2`), undefined);
      // And after follow, changes arrive as they are made.
      otherKeys.put({ productId: PID, deviceName: "late", psk: "QUJDREVGR0hJSktMTU5PUg==" });
      await otherKeys.flush();
      const arrived = await eventually(async () => keys.psk(`${PID}late`), (value) => value !== undefined);
      assert.equal(arrived, "QUJDREVGR0hJSktMTU5PUg==");
    } finally {
      await other.close();
      await starting.close();
    }
  });
});

describe("platform: --redis refusals", () => {
  it("refuses redis without postgres, and a redis that is not a URL, as ConfigErrors", async () => {
    await assert.rejects(startPlatform({ memory: true, redis: "redis://127.0.0.1:6379" }), { name: "ConfigError", message: /redis needs postgres/ });
    await assert.rejects(startPlatform({ memory: true, config: { ...testConfig(), redis: 6379 } as never }), { name: "ConfigError", message: /redis must be a URL/ });
  });

  it("names an unreachable Redis without its password (RedisConnectError)", async () => {
    const { RedisCluster } = await import("../simulator/platform/redis-cluster");
    const error = await RedisCluster.connect("redis://:sekrit-password@127.0.0.1:1").then(() => undefined, (failure: Error) => failure);
    assert.equal(error?.name, "RedisConnectError");
    assert.match(error!.message, /ECONNREFUSED/);
    assert.ok(!error!.message.includes("sekrit-password"));
  });
});
