/**
 * The XS engine lane: the firmware core bundled and run inside Moddable's XS (xsnap), its HAL
 * bridged to hal/node. Skips loudly where xsnap-worker was not built; fails in CI.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createTcpServer, type AddressInfo } from "node:net";
import { Aedes } from "aedes";
import nacl from "tweetnacl";
import type { FlashValue, Hal, KeyValueFlash } from "../firmware/contracts";
import { createMemoryFlash, type NodeFlash } from "../hal/node/flash";
import { createNodeHal } from "../hal/node/index";
import { createMemoryLogger } from "../hal/node/logger";
import { bootDevice, type BootEvent, type BootOptions, type BootState } from "../firmware/boot";
import type { DeviceInfo } from "../firmware/device-info";
import { startPlatform, type RunningPlatform } from "../simulator/platform/index";
import { getDevInfo, RecordStoreError, setDevInfo, type StoreHal } from "../firmware/record-store";
import { startXsLane, xsLaneSkipReason, xsLaneUnavailableReason, XsLaneUnavailableError, type XsLane } from "../xs/host";
import { startSilentBroker } from "./lib/silent-broker";

/** The XS program under test: the whole firmware core. */
const LANE_ENTRY = "core";

function requireXsnap(context: Mocha.Context): void {
  const skip = xsLaneSkipReason(); // throws in CI
  if (skip === undefined) return;
  console.warn(`\n  !!! XS LANE SKIPPED: ${skip}\n`);
  context.skip();
}

describe("XS lane: availability gate", () => {
  it("names the missing xsnap-worker, fails in CI and skips elsewhere", () => {
    const reason = xsLaneUnavailableReason("/nonexistent/xsnap-worker");
    assert.match(reason ?? "", /xsnap-worker was not built \(missing \/nonexistent\/xsnap-worker\)/);
    assert.throws(() => xsLaneSkipReason(reason, { CI: "true" }), XsLaneUnavailableError);
    assert.equal(xsLaneSkipReason(reason, {}), reason);
    assert.equal(xsLaneSkipReason(undefined, { CI: "true" }), undefined);
  });
});

describe("XS lane: engine smoke (encoding and tweetnacl inside XS)", function () {
  let lane: XsLane;
  const storageKey = new Uint8Array(randomBytes(32));

  before(async function () {
    requireXsnap(this);
    lane = await startXsLane({ hal: createNodeHal({ storageKey }), entry: "smoke" });
  });
  after(async () => lane?.close());

  it("runs on an engine without Node's Buffer or process", async () => {
    assert.deepEqual(await lane.invoke("engine"), { hasBuffer: false, hasProcess: false });
  });

  it("encodes Base64 as Node does (RFC 4648 vectors and UTF-8 text)", async () => {
    const texts = ["", "f", "fo", "foo", "foob", "fooba", "foobar", "设备 ✓"];
    assert.deepEqual(await lane.invoke("base64", texts), texts.map((text) => Buffer.from(text, "utf8").toString("base64")));
    assert.deepEqual(await lane.invoke("base64Decode", texts.map((text) => Buffer.from(text).toString("base64"))), texts);
  });

  it("seals with secretbox byte-for-byte as tweetnacl on Node", async () => {
    const message = new Uint8Array(randomBytes(200));
    const nonce = new Uint8Array(randomBytes(24));
    const key = new Uint8Array(randomBytes(32));
    assert.equal(await lane.invoke("secretboxFixed", message, nonce, key), Buffer.from(nacl.secretbox(message, nonce, key)).toString("hex"));
  });

  it("seals in XS with the bridged storage key; Node opens it; a flipped byte does not open", async () => {
    const message = new Uint8Array(randomBytes(120));
    const result = (await lane.invoke("secretbox", message)) as { nonce: Uint8Array; sealed: Uint8Array; opened: Uint8Array; tamperedOpens: boolean };
    assert.deepEqual(result.opened, message);
    assert.equal(result.tamperedOpens, false);
    assert.deepEqual(nacl.secretbox.open(result.sealed, result.nonce, storageKey), message);
  });

  it("carries flash blobs across the bridge and rebuilds a FlashError as the same class", async () => {
    const blob = Uint8Array.from([0, 1, 2, 250, 255]).buffer;
    const result = (await lane.invoke("flashRoundTrip", "ns", "blob", blob)) as { back: ArrayBuffer; error: unknown };
    assert.ok(result.back instanceof ArrayBuffer);
    assert.deepEqual(new Uint8Array(result.back), new Uint8Array(blob));
    assert.deepEqual(result.error, { isFlashError: true, code: "limit" });
  });

  it("does not block XS on a host wait: of two raced sleeps the short one wins", async () => {
    assert.equal(await lane.invoke("raceSleeps", 1, 60_000), "short");
  });

  it("runs an HTTP exchange over the bridge, and a refused connection arrives as HalNetworkError", async () => {
    const server: Server = createHttpServer((req, res) => {
      res.setHeader("content-type", "text/plain");
      res.end(`${req.method} ${req.url} ok`);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const request = { method: "GET", headers: {}, timeoutMs: 5000, maxResponseBytes: 1024 };
      assert.deepEqual(await lane.invoke("http", { ...request, url: `http://127.0.0.1:${port}/probe` }), {
        status: 200,
        contentType: "text/plain",
        body: "GET /probe ok",
      });
      // A port nobody listens on (taken from a server that is closed again): connection refused.
      const probe = createTcpServer();
      await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
      const closedPort = (probe.address() as AddressInfo).port;
      await new Promise<void>((resolve) => probe.close(() => resolve()));
      assert.deepEqual(await lane.invoke("http", { ...request, url: `http://127.0.0.1:${closedPort}/probe` }), {
        error: { isHalNetworkError: true, code: "refused" },
      });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("runs an MQTT session over the bridge: a message published to itself comes back, then close", async () => {
    const aedes = await Aedes.createBroker();
    const broker = createTcpServer((socket) => aedes.handle(socket));
    await new Promise<void>((resolve) => broker.listen(0, "127.0.0.1", resolve));
    const { port } = broker.address() as AddressInfo;
    try {
      assert.deepEqual(await lane.invoke("mqttEcho", `mqtt://127.0.0.1:${port}`, "xs/echo", "héllo from XS"), {
        echoed: "héllo from XS",
        closed: "asked",
      });
    } finally {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    }
  });

  it("a runaway loop in XS is stopped by the crank meter and fails the lane loudly, not a hang", async () => {
    const metered = await startXsLane({ hal: createNodeHal({ storageKey }), entry: "smoke", meteringLimit: 1_000_000 });
    try {
      await assert.rejects(metered.invoke("spin"), /too much computation/);
      await assert.rejects(metered.invoke("engine"), /XS lane/);
    } finally {
      await metered.close();
    }
  });

  it("reports an unknown function as an error instead of hanging", async () => {
    await assert.rejects(lane.invoke("no-such-function"), /no exposed function/);
  });
});

// ---- The record store on XS against the Node lane ---------------------------------------------

const KEY = new Uint8Array(32).fill(7);
const FACTORY: DeviceInfo = { productId: "ABCDEFGHIJ", deviceName: "dev_001", productSecret: "productsecret0123456789ab", authMode: "psk" };
const REGISTERED: DeviceInfo = { ...FACTORY, deviceSecret: "c2VjcmV0UFNLMTIzNDU2Nzg5MA==" };
function pem(label: string, bodyBytes: number, seed: number): string {
  const body = Buffer.alloc(bodyBytes, seed).toString("base64").match(/.{1,64}/g)!.join("\n");
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}
const CERT_FACTORY: DeviceInfo = { ...FACTORY, authMode: "cert" };
const CERT_REGISTERED: DeviceInfo = { ...CERT_FACTORY, clientCert: pem("CERTIFICATE", 1300, 1), clientKey: pem("RSA PRIVATE KEY", 1700, 2) };

/** A flash the test can swap under a running lane (a reboot, or a power cut armed for the next write). */
function swappableFlash(initial: NodeFlash): KeyValueFlash & { current: NodeFlash } {
  const proxy = {
    current: initial,
    get: (namespace: string, key: string) => proxy.current.get(namespace, key),
    set: (namespace: string, key: string, value: FlashValue) => proxy.current.set(namespace, key, value),
    delete: (namespace: string, key: string) => proxy.current.delete(namespace, key),
    keys: (namespace: string) => proxy.current.keys(namespace),
  };
  return proxy;
}

function nodeStore(flash: KeyValueFlash): StoreHal {
  return createNodeHal({ flash, storageKey: KEY, logger: createMemoryLogger() });
}

type CutOutcome = { completed: boolean; after: "old" | "new" | "other" };

describe("XS lane: the device-info record store inside XS, against the Node lane", function () {
  let lane: XsLane;
  const flash = swappableFlash(createMemoryFlash());

  before(async function () {
    requireXsnap(this);
    lane = await startXsLane({ hal: createNodeHal({ flash, storageKey: KEY, logger: createMemoryLogger() }), entry: LANE_ENTRY });
  });
  after(async () => lane?.close());

  for (const [name, record] of [["PSK", REGISTERED], ["cert (chunked)", CERT_REGISTERED]] as const) {
    it(`a ${name} record written by XS is read by the Node lane, and the reverse`, async () => {
      flash.current = createMemoryFlash();
      await lane.invoke("setDevInfo", record);
      assert.deepEqual(getDevInfo(nodeStore(flash.current.reboot())), record);

      const updated = { ...record, deviceName: "dev_002" };
      flash.current = createMemoryFlash();
      setDevInfo(nodeStore(flash.current), updated);
      assert.deepEqual(await lane.invoke("getDevInfo"), updated);
    });
  }

  it("storing the current record again writes nothing on XS, as on Node", async () => {
    flash.current = createMemoryFlash();
    setDevInfo(nodeStore(flash.current), REGISTERED);
    const before = flash.current.stats().writesSinceOpen;
    await lane.invoke("setDevInfo", REGISTERED);
    assert.equal(flash.current.stats().writesSinceOpen, before);
  });

  it("a record sealed under another key is not readable on XS", async () => {
    flash.current = createMemoryFlash();
    setDevInfo(createNodeHal({ flash: flash.current, storageKey: new Uint8Array(32).fill(9), logger: createMemoryLogger() }), REGISTERED);
    assert.equal(await lane.invoke("getDevInfo"), null);
    const load = (await lane.invoke("loadDevInfo")) as { status: string };
    assert.equal(load.status, "unreadable");
  });

  for (const [name, oldRecord, newRecord] of [
    ["a PSK registration", FACTORY, REGISTERED],
    ["a cert registration", CERT_FACTORY, CERT_REGISTERED],
    ["a cert update", CERT_REGISTERED, { ...CERT_REGISTERED, clientKey: pem("PRIVATE KEY", 1800, 9) }],
  ] as const) {
    it(`a power cut at each flash write of ${name} leaves old or new, exactly as on Node`, async () => {
      const base = createMemoryFlash();
      setDevInfo(nodeStore(base), oldRecord);
      // How many writes an uncut update takes (same code, same record: same count on both lanes).
      const probe = base.reboot();
      setDevInfo(nodeStore(probe), newRecord);
      const writes = probe.stats().writesSinceOpen;
      assert.ok(writes >= 1);

      const classify = (after: DeviceInfo | undefined): CutOutcome["after"] =>
        JSON.stringify(after) === JSON.stringify(newRecord) ? "new" : JSON.stringify(after) === JSON.stringify(oldRecord) ? "old" : "other";
      for (const when of ["before", "after"] as const) {
        for (let at = 1; at <= writes; at++) {
          const nodeFlash = base.reboot({ powerCutAtWrite: at, powerCutWhen: when });
          let nodeCompleted = true;
          try {
            setDevInfo(nodeStore(nodeFlash), newRecord);
          } catch (error) {
            assert.ok(error instanceof RecordStoreError, String(error));
            nodeCompleted = false;
          }
          const nodeOutcome: CutOutcome = { completed: nodeCompleted, after: classify(getDevInfo(nodeStore(nodeFlash.reboot()))) };

          flash.current = base.reboot({ powerCutAtWrite: at, powerCutWhen: when });
          let xsCompleted = true;
          await lane.invoke("setDevInfo", newRecord).catch((error: Error) => {
            assert.equal(error.name, "RecordStoreError", String(error));
            xsCompleted = false;
          });
          const xsOutcome: CutOutcome = { completed: xsCompleted, after: classify(getDevInfo(nodeStore(flash.current.reboot()))) };

          assert.notEqual(xsOutcome.after, "other", `${when} write ${at}: XS left neither record`);
          assert.deepEqual(xsOutcome, nodeOutcome, `${when} write ${at}`);
        }
      }
    });
  }
});

// ---- Boot on XS against the mock platform, beside the Node lane --------------------------------

const PRODUCT_ID = "ABCDEFGHIJ";
const PRODUCT_SECRET = "hzvf5LF9S0isvBhDSauWMaIk";
const DEVICE = "dev001";
const BOOT_FACTORY: DeviceInfo = { productId: PRODUCT_ID, deviceName: DEVICE, productSecret: PRODUCT_SECRET, authMode: "psk" };

function platformOptions() {
  return {
    memory: true,
    config: { products: [{ productId: PRODUCT_ID, productSecret: PRODUCT_SECRET, dynamicRegistration: true, authType: "psk" as const, devices: [DEVICE] }] },
  };
}

function bootOptions(platform: RunningPlatform): Omit<BootOptions, "onControl"> {
  return {
    registerUrl: `${platform.httpUrl}/device/register`,
    mqttUrl: platform.mqttUrl,
    factoryInfo: BOOT_FACTORY,
    initialReport: { power: 1 },
    keepAliveSeconds: 60,
    backoff: { baseMs: 10, capMs: 100, maxAttempts: 3 },
  };
}

/** What one boot did, in terms both lanes can be compared on. */
interface BootRun {
  states: BootState[];
  httpRequests: number;
  flashWrites: number;
  /** The record on flash afterwards, read by the Node lane. */
  record: DeviceInfo | undefined;
}

/** Counts the HTTP requests a Hal makes (a registration is the only one the core makes). */
function countingHttp(base: Hal): { hal: Hal; count(): number } {
  let requests = 0;
  return {
    hal: { ...base, http: { request: (request) => (requests++, base.http.request(request)) } },
    count: () => requests,
  };
}

/** Boots on the Node lane: online with the first report acknowledged, one more report, stop. */
async function bootOnNode(flash: NodeFlash, platform: RunningPlatform): Promise<BootRun> {
  const counted = countingHttp(createNodeHal({ flash, storageKey: KEY, logger: createMemoryLogger() }));
  const task = bootDevice(counted.hal, bootOptions(platform));
  const states: BootState[] = [];
  task.onState((event) => states.push(event.state));
  await task.online;
  await task.report({ power: 2 });
  await task.stop();
  await new Promise((resolve) => setImmediate(resolve));
  return { states, httpRequests: counted.count(), flashWrites: flash.stats().writesSinceOpen, record: getDevInfo(nodeStore(flash.reboot())) };
}

describe("XS lane: the boot task inside XS against the mock platform, beside the Node lane", function () {
  let lane: XsLane;
  const flash = swappableFlash(createMemoryFlash());
  let counted: ReturnType<typeof countingHttp>;
  let states: BootState[] = [];
  const controls: unknown[] = [];
  // One platform per lane, so each lane's device registers from scratch.
  let xsPlatform: RunningPlatform;
  let nodePlatform: RunningPlatform;
  let xsCold: BootRun;
  let nodeCold: BootRun;
  let xsFlash: NodeFlash;
  let nodeFlash: NodeFlash;

  async function bootOnXs(bootFlash: NodeFlash, platform: RunningPlatform): Promise<BootRun> {
    flash.current = bootFlash;
    states = [];
    const before = counted.count();
    assert.equal(await lane.invoke("boot", bootOptions(platform)), "online");
    await lane.invoke("report", { power: 2 });
    await lane.invoke("stop");
    await lane.idle(); // the last state events arrive within the crank that stopped the task
    return { states, httpRequests: counted.count() - before, flashWrites: bootFlash.stats().writesSinceOpen, record: getDevInfo(nodeStore(bootFlash.reboot())) };
  }

  before(async function () {
    requireXsnap(this);
    counted = countingHttp(createNodeHal({ flash, storageKey: KEY, logger: createMemoryLogger() }));
    lane = await startXsLane({ hal: counted.hal, entry: "core" });
    lane.on("state", (event) => states.push((event as BootEvent).state));
    lane.on("control", (params) => controls.push(params));
    xsPlatform = await startPlatform(platformOptions());
    nodePlatform = await startPlatform(platformOptions());
  });
  after(async () => {
    await lane?.close();
    await xsPlatform?.close();
    await nodePlatform?.close();
  });

  it("a cold boot on XS registers, stores the record, comes online and gets its reports acknowledged", async () => {
    xsFlash = createMemoryFlash();
    xsCold = await bootOnXs(xsFlash, xsPlatform);
    const device = (await xsPlatform.registry.getDevice(PRODUCT_ID, DEVICE))!;
    assert.equal(device.state, "activated");
    assert.equal(xsCold.httpRequests, 1);
    assert.ok(xsCold.flashWrites >= 1);
    assert.deepEqual(xsCold.record, { ...BOOT_FACTORY, deviceSecret: device.psk });
    assert.ok(xsCold.states.includes("registering") && xsCold.states.includes("registered"), xsCold.states.join(","));
    assert.equal(xsCold.states.at(-1), "stopped");
    assert.ok(xsCold.states.includes("online"));
  });

  it("the same cold boot on the Node lane gives the same states, writes and record", async () => {
    nodeFlash = createMemoryFlash();
    nodeCold = await bootOnNode(nodeFlash, nodePlatform);
    const psk = (await nodePlatform.registry.getDevice(PRODUCT_ID, DEVICE))!.psk;
    assert.deepEqual(nodeCold.record, { ...BOOT_FACTORY, deviceSecret: psk });
    assert.deepEqual({ ...xsCold, record: undefined }, { ...nodeCold, record: undefined });
  });

  it("a warm boot on XS neither writes flash nor registers, exactly as on Node", async () => {
    const xsWarm = await bootOnXs(xsFlash.reboot(), xsPlatform);
    assert.equal(xsWarm.flashWrites, 0);
    assert.equal(xsWarm.httpRequests, 0);
    assert.ok(!xsWarm.states.includes("registering"));
    assert.deepEqual(xsWarm.record, xsCold.record);
    const nodeWarm = await bootOnNode(nodeFlash.reboot(), nodePlatform);
    assert.deepEqual({ ...xsWarm, record: undefined }, { ...nodeWarm, record: undefined });
  });

  it("XS warm-boots from the record the Node lane registered, and Node from the one XS registered", async () => {
    const xsOnNodeRecord = await bootOnXs(nodeFlash.reboot(), nodePlatform);
    assert.deepEqual([xsOnNodeRecord.httpRequests, xsOnNodeRecord.flashWrites], [0, 0]);
    assert.ok(xsOnNodeRecord.states.includes("online"));
    const nodeOnXsRecord = await bootOnNode(xsFlash.reboot(), xsPlatform);
    assert.deepEqual([nodeOnXsRecord.httpRequests, nodeOnXsRecord.flashWrites], [0, 0]);
    assert.ok(nodeOnXsRecord.states.includes("online"));
  });

  it("a power cut at each flash write of a cold boot leaves factory or registered, and the next boot comes online, as on Node", async () => {
    type Outcome = { first: string; stored: "none" | "registered" | "other"; secondHttpRequests: number; secondStates: BootState[] };
    const errorCode = (error: unknown) => `failed:${String((error as { code?: unknown }).code)}`;

    async function nodeLaneFirstBoot(cutFlash: NodeFlash, platform: RunningPlatform): Promise<string> {
      const task = bootDevice(createNodeHal({ flash: cutFlash, storageKey: KEY, logger: createMemoryLogger() }), bootOptions(platform));
      try {
        await task.online;
        return "online";
      } catch (error) {
        return errorCode(error);
      } finally {
        await task.stop();
      }
    }
    async function xsLaneFirstBoot(cutFlash: NodeFlash, platform: RunningPlatform): Promise<string> {
      flash.current = cutFlash;
      try {
        return String(await lane.invoke("boot", bootOptions(platform)));
      } catch (error) {
        return errorCode(error);
      } finally {
        await lane.invoke("stop");
        await lane.idle();
      }
    }

    async function cutAndReboot(which: "xs" | "node", at: number, when: "before" | "after"): Promise<Outcome> {
      const platform = await startPlatform(platformOptions());
      try {
        const cutFlash = createMemoryFlash({ powerCutAtWrite: at, powerCutWhen: when });
        const first = which === "xs" ? await xsLaneFirstBoot(cutFlash, platform) : await nodeLaneFirstBoot(cutFlash, platform);
        const record = getDevInfo(nodeStore(cutFlash.reboot()));
        const psk = (await platform.registry.getDevice(PRODUCT_ID, DEVICE))?.psk;
        const stored = record === undefined ? "none" : psk !== undefined && record.deviceSecret === psk ? "registered" : "other";
        const second = which === "xs" ? await bootOnXs(cutFlash.reboot(), platform) : await bootOnNode(cutFlash.reboot(), platform);
        return { first, stored, secondHttpRequests: second.httpRequests, secondStates: second.states };
      } finally {
        await platform.close();
      }
    }

    // How many writes an uncut cold boot makes (the Node lane's count; XS's equals it, above).
    const probePlatform = await startPlatform(platformOptions());
    const writes = (await bootOnNode(createMemoryFlash(), probePlatform).finally(() => probePlatform.close())).flashWrites;
    assert.ok(writes >= 1);
    for (const when of ["before", "after"] as const) {
      for (let at = 1; at <= writes; at++) {
        const onXs = await cutAndReboot("xs", at, when);
        const onNode = await cutAndReboot("node", at, when);
        assert.notEqual(onXs.stored, "other", `${when} write ${at}`);
        assert.ok(onXs.secondStates.includes("online"), `${when} write ${at}: ${onXs.secondStates.join(",")}`);
        assert.deepEqual(onXs, onNode, `${when} write ${at}`);
      }
    }
  });

  it("the first-online sync runs inside XS: report_info, pending control applied and cleared, events, actions, clock", async () => {
    flash.current = xsFlash.reboot();
    controls.length = 0;
    const actions: unknown[] = [];
    lane.on("action", (call) => actions.push(call));
    await xsPlatform.thing.control(PRODUCT_ID, DEVICE, { power: 7 }); // kept while the device is away
    await lane.invoke("boot", bootOptions(xsPlatform));
    try {
      const sync = await lane.invoke("synced") as { infoReported: boolean; appliedControl?: unknown; clock?: { corrected: boolean }; problems: string[] };
      assert.deepEqual(sync.problems, []);
      assert.equal(sync.infoReported, true);
      assert.deepEqual(sync.appliedControl, { power: 7 });
      assert.equal(sync.clock?.corrected, false);
      assert.deepEqual(controls, [{ power: 7 }]);
      assert.equal(await xsPlatform.thing.pendingControl(PRODUCT_ID, DEVICE), undefined);
      assert.ok(typeof (await xsPlatform.thing.deviceInfo(PRODUCT_ID, DEVICE))?.info.fw_ver === "string");
      await lane.invoke("postEvent", "status_report", { status: 1 });
      const call = await xsPlatform.thing.callAction(PRODUCT_ID, DEVICE, "open_door", { who: "xs" }, 10_000);
      assert.deepEqual(call.reply.response, { accepted: true });
      assert.deepEqual(actions, [{ actionId: "open_door", params: { who: "xs" } }]);
    } finally {
      await lane.invoke("stop");
    }
  });

  it("inside XS, a broker refusing the $sys subscription leaves the device online and the sync names what is missing", async () => {
    const sysResult = `$sys/operation/result/${PRODUCT_ID}/${DEVICE}`;
    const silent = await startSilentBroker({ refuse: [sysResult] });
    flash.current = xsFlash.reboot();
    try {
      assert.equal(await lane.invoke("boot", { ...bootOptions(xsPlatform), mqttUrl: silent.url, replyTimeoutMs: 300 }), "online");
      const sync = await lane.invoke("synced") as { problems: string[]; missing: string[] };
      assert.equal(await lane.invoke("state"), "online");
      assert.deepEqual(sync.missing, ["report_info_reply", "get_status_reply"]);
      assert.ok(sync.problems.some((problem) => problem.startsWith(`clock: the broker refused the subscription to ${sysResult} (SUBACK 0x80)`)), sync.problems.join("; "));
      assert.ok(!silent.requests.includes("get"), "no time request that could not be answered");
    } finally {
      await lane.invoke("stop");
      await silent.stop();
    }
  });

  it("a control message from the platform reaches the core in XS, and its reply is recorded", async () => {
    flash.current = xsFlash.reboot();
    controls.length = 0;
    await lane.invoke("boot", bootOptions(xsPlatform));
    try {
      const sent = await xsPlatform.thing.control(PRODUCT_ID, DEVICE, { power: 0 });
      // The reply travels XS -> bridge -> MQTT -> platform; wait for the platform to record it.
      for (let i = 0; i < 200 && (await xsPlatform.registry.getControl(sent.clientToken))?.reply === undefined; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.deepEqual(controls, [{ power: 0 }]);
      assert.equal((await xsPlatform.registry.getControl(sent.clientToken))?.reply?.code, 0);
    } finally {
      await lane.invoke("stop");
    }
  });
});
