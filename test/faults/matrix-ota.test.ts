/**
 * Fault matrix of firmware update (docs/PROTOCOL.md §14): the simulated device (Node HAL, its two
 * emulated application slots, real sockets) against the mock platform, the update started through
 * the Cloud API. A power cut at every slot write and at each point of the switch, a dropped
 * connection or an HTTP error at every download request, a dropped MQTT session mid-download, a
 * wrong MD5, a short and a long file: after each, the board boots a good image (the old one or the
 * new one, whole), never loses its device secret, and a platform that keeps the update (or a new
 * UpdateFirmware) brings it to the new version.
 */
import { strict as assert } from "node:assert";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HalNetworkError, type HttpClient, type HttpRequest } from "../../firmware/contracts";
import { getDevInfo } from "../../firmware/record-store";
import { NodeApplicationSlots } from "../../hal/node/app-slots";
import { createMemoryLogger } from "../../hal/node/logger";
import { createNodeHttpClient } from "../../hal/node/http";
import { startPlatform, type RunningPlatform } from "../../simulator/platform/index";
import { startSimDevice, type SimDevice } from "../../simulator/sim-device";
import { apiClient, apiTarget, type IotExplorerClient } from "../cloud-api-helpers";
import { recordCase } from "./lib/results";

const PRODUCT_ID = "OTAFAULT01";
const PRODUCT_SECRET = "otaFaultProductSecret7Hq2";
const CHUNK = 4 * 1024;
const CHUNKS = 6;
const IMAGE = randomBytes(CHUNK * CHUNKS);
const IMAGE_MD5 = createHash("md5").update(IMAGE).digest("hex");
const DEVICES = Array.from({ length: 60 }, (_, index) => `ota${String(index).padStart(3, "0")}`);

/** An HTTP client that answers its n-th download request (1-based) with a fault instead. */
function faultyHttp(inner: HttpClient, fault: { at: number; kind: "drop" | 404 | 500; times?: number }): HttpClient {
  let downloads = 0;
  return {
    async request(request: HttpRequest) {
      if (!request.url.includes("/ota/firmware/")) return inner.request(request);
      downloads++;
      if (downloads >= fault.at && downloads < fault.at + (fault.times ?? 1)) {
        if (fault.kind === "drop") throw new HalNetworkError("reset", "injected: connection dropped");
        return { status: fault.kind, headers: {}, body: new Uint8Array(0) };
      }
      return inner.request(request);
    },
  };
}

describe("fault matrix: firmware update", function () {
  this.timeout(300_000);
  let platform: RunningPlatform;
  let api: IotExplorerClient;
  let dir: string;
  const names = [...DEVICES];
  const live = new Set<SimDevice>();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "exs-ota-faults-"));
    platform = await startPlatform({
      memory: true,
      config: { products: [{ productId: PRODUCT_ID, productSecret: PRODUCT_SECRET, dynamicRegistration: true, autoCreate: false, authType: "psk", devices: DEVICES }] },
    });
    api = apiClient(apiTarget(platform));
    const { Url } = await api.GetCOSURL({ ProductID: PRODUCT_ID, FirmwareVersion: "2.0.0" });
    assert.equal((await fetch(Url!, { method: "PUT", body: IMAGE })).status, 200);
    await api.UploadFirmware({ ProductID: PRODUCT_ID, FirmwareVersion: "2.0.0", Md5sum: IMAGE_MD5, FileSize: IMAGE.length });
  });
  after(async () => {
    for (const device of live) await device.close();
    await platform.close();
    rmSync(dir, { recursive: true, force: true });
  });

  interface Board {
    name: string;
    slots: NodeApplicationSlots;
    device?: SimDevice;
    restarted?: Promise<void>;
    secret?: string;
  }

  function newBoard(options: { powerCutAtWrite?: number } = {}): Board {
    return { name: names.shift()!, slots: new NodeApplicationSlots({ factoryVersion: "1.0.0", ...options }) };
  }

  async function powerOn(board: Board, http?: (inner: HttpClient) => HttpClient): Promise<void> {
    board.slots.boot();
    let restart!: () => void;
    board.restarted = new Promise<void>((resolve) => (restart = resolve));
    const inner = createNodeHttpClient({});
    board.device = startSimDevice({
      flashFile: join(dir, `${board.name}.flash`),
      flashDurable: false,
      registerUrl: `${platform.httpUrl}/device/register`,
      mqttUrl: platform.mqttUrl,
      factoryInfo: { productId: PRODUCT_ID, productSecret: PRODUCT_SECRET, deviceName: board.name, authMode: "psk" },
      logger: createMemoryLogger(),
      slots: board.slots,
      http: http ? http(inner) : inner,
      boot: { backoff: { baseMs: 10, capMs: 100, maxAttempts: 6 }, ota: { chunkBytes: CHUNK, retryDelayMs: 5, attemptsPerChunk: 3, restart } },
    });
    live.add(board.device);
    await board.device.task.online;
    await until(async () => await platform.registry.firmware.reportedVersion(PRODUCT_ID, board.name), (version) => version === board.slots.runningVersion(), "report_version");
  }

  async function powerOff(board: Board): Promise<void> {
    const device = board.device!;
    live.delete(device);
    await device.close();
  }

  async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
    for (let i = 0; i < 300; i++) {
      const value = await read();
      if (done(value)) return value;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  const status = (board: Board) => api.DescribeFirmwareUpdateStatus({ ProductId: PRODUCT_ID, DeviceName: board.name });
  const update = (board: Board) => api.UpdateFirmware({ ProductID: PRODUCT_ID, DeviceName: board.name, FirmwareVersion: "2.0.0", FirmwareOriVersion: board.slots.runningVersion() });

  /** The invariants after every fault: a whole image runs and the device secret is the platform's. */
  async function violations(board: Board): Promise<string[]> {
    const problems: string[] = [];
    const view = board.slots.view();
    const running = view.slots[view.active];
    if (!running.complete) problems.push(`boots an incomplete image (${running.version})`);
    if (running.version === "2.0.0" && !Buffer.from(board.slots.imageBytes(view.active as 0 | 1)!).equals(IMAGE)) problems.push("boots a 2.0.0 that is not the uploaded image");
    const secret = getDevInfo(board.device!.hal)?.deviceSecret;
    board.secret ??= secret;
    if (!secret || secret !== board.secret || secret !== (await platform.registry.getDevice(PRODUCT_ID, board.name))?.psk) problems.push("device secret lost or changed");
    return problems;
  }

  /** Boots until the board runs 2.0.0 confirmed and the platform says done. */
  async function finishUpdate(board: Board): Promise<string[]> {
    await board.restarted;
    await powerOff(board);
    await powerOn(board);
    const problems = await violations(board);
    if (board.slots.runningVersion() !== "2.0.0") problems.push(`runs ${board.slots.runningVersion()} after the update`);
    const done = await until(() => status(board), (value) => value.Status === 6, "status 6").catch((error: Error) => error);
    if (done instanceof Error) problems.push(done.message);
    return problems;
  }

  function record(family: string, label: string, problems: string[]): void {
    recordCase({ family, label, survived: problems.length === 0, dataLost: problems.some((p) => p.includes("secret")), detail: problems.join("; ") });
  }

  it("a power cut at every slot write during the download: the old image boots and the download resumes", async () => {
    const failures: string[] = [];
    for (let write = 1; write <= CHUNKS; write++) {
      const board = newBoard({ powerCutAtWrite: write });
      await powerOn(board);
      await update(board);
      await until(async () => board.slots.view().writes, (writes) => writes >= write, "the cut write");
      await powerOff(board);
      await powerOn(board); // the board restarts on the old image; the platform re-sends the update
      const problems = await violations(board);
      if (board.slots.runningVersion() !== "1.0.0") problems.push("did not boot the old image after the cut");
      problems.push(...(await finishUpdate(board)));
      record("ota power cut", `write ${write}`, problems);
      if (problems.length) failures.push(`write ${write}: ${problems.join("; ")}`);
    }
    assert.deepEqual(failures, []);
  });

  it("a power cut at the switch: after finish, on the trial boot before online, after confirm", async () => {
    const failures: string[] = [];
    for (const point of ["after finish", "trial boot before online", "after confirm"] as const) {
      const board = newBoard();
      await powerOn(board);
      await update(board);
      await board.restarted;
      await powerOff(board); // the power goes instead of the restart
      const problems: string[] = [];
      if (point === "trial boot before online") {
        board.slots.boot(); // boots 2.0.0 on trial and loses power again
        await powerOn(board);
        if (board.slots.runningVersion() !== "1.0.0") problems.push("a trial that never came online was not rolled back");
        problems.push(...(await violations(board)));
        const failed = await until(() => status(board), (value) => value.Status === 5, "status 5").catch((error: Error) => error);
        if (failed instanceof Error) problems.push(`rollback not reported: ${failed.message}`);
        // A new UpdateFirmware brings it there after all.
        await update(board);
        problems.push(...(await finishUpdate(board)));
      } else if (point === "after confirm") {
        await powerOn(board);
        await until(async () => board.slots.onTrial(), (trial) => !trial, "confirm");
        await powerOff(board);
        await powerOn(board);
        problems.push(...(await violations(board)));
        if (board.slots.runningVersion() !== "2.0.0") problems.push("a confirmed image was not kept");
        const done = await until(() => status(board), (value) => value.Status === 6, "status 6").catch((error: Error) => error);
        if (done instanceof Error) problems.push(done.message);
      } else {
        await powerOn(board);
        problems.push(...(await violations(board)));
        if (board.slots.runningVersion() !== "2.0.0") problems.push("the finished image did not boot");
        const done = await until(() => status(board), (value) => value.Status === 6, "status 6").catch((error: Error) => error);
        if (done instanceof Error) problems.push(done.message);
      }
      record("ota power cut", point, problems);
      if (problems.length) failures.push(`${point}: ${problems.join("; ")}`);
    }
    assert.deepEqual(failures, []);
  });

  it("a dropped connection, a 500 or a 404 at every download request", async () => {
    const failures: string[] = [];
    for (const kind of ["drop", 500, 404] as const) {
      for (let at = 1; at <= CHUNKS; at++) {
        const board = newBoard();
        await powerOn(board, (inner) => faultyHttp(inner, { at, kind }));
        await update(board);
        const problems: string[] = [];
        if (kind === 404) {
          // Not found is final: the update fails with -2, nothing staged, the old image runs on.
          const failed = await until(() => status(board), (value) => value.Status === 5, "status 5").catch((error: Error) => error);
          if (failed instanceof Error) problems.push(failed.message);
          const listed = await api.DescribeFirmwareTaskDevices({ ProductID: PRODUCT_ID, FirmwareVersion: "2.0.0", Filters: [{ Key: "DeviceName", Value: board.name }] });
          if (listed.Devices![0]?.Retcode !== -2) problems.push(`result_code ${String(listed.Devices![0]?.Retcode)}, not -2`);
          if (board.slots.staged() !== undefined) problems.push("kept a staged image after 404");
          problems.push(...(await violations(board)));
        } else {
          problems.push(...(await finishUpdate(board)));
        }
        record("ota download fault", `${kind} at request ${at}`, problems);
        if (problems.length) failures.push(`${kind} at ${at}: ${problems.join("; ")}`);
      }
    }
    assert.deepEqual(failures, []);
  });

  it("a download that keeps failing reports -1 and keeps what it has; a new UpdateFirmware resumes it", async () => {
    const board = newBoard();
    await powerOn(board, (inner) => faultyHttp(inner, { at: 3, kind: "drop", times: 3 }));
    await update(board);
    await until(() => status(board), (value) => value.Status === 5, "status 5");
    const problems = await violations(board);
    if (board.slots.staged()?.written !== 2 * CHUNK) problems.push(`staged ${String(board.slots.staged()?.written)} bytes, not ${2 * CHUNK}`);
    const served = platform.objects.bytesServed;
    await update(board);
    problems.push(...(await finishUpdate(board)));
    if (platform.objects.bytesServed - served !== (CHUNKS - 2) * CHUNK) problems.push("did not resume from the staged bytes");
    record("ota download fault", "drop 3 times at request 3", problems);
    assert.deepEqual(problems, []);
  });

  it("the MQTT session dropped mid-download: the re-sent update is the same one, the download goes on", async () => {
    const board = newBoard();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let requests = 0;
    await powerOn(board, (inner) => ({
      async request(request) {
        if (request.url.includes("/ota/firmware/") && ++requests === 3) await gate;
        return inner.request(request);
      },
    }));
    await update(board);
    await until(async () => requests, (count) => count >= 3, "the third request");
    platform.broker.disconnect(PRODUCT_ID, board.name);
    await until(async () => platform.broker.isOnline(PRODUCT_ID, board.name), (online) => online, "reconnect");
    release();
    const problems = await finishUpdate(board);
    record("ota download fault", "MQTT dropped mid-download", problems);
    assert.deepEqual(problems, []);
  });

  it("a wrong MD5, a short file and a long file fail the update and leave the old image running", async () => {
    const failures: string[] = [];
    const cases = [
      ["wrong MD5", "2.1.0", randomBytes(IMAGE.length), IMAGE_MD5, IMAGE.length, -4],
      ["short file", "2.2.0", IMAGE.subarray(0, IMAGE.length - 100), IMAGE_MD5, IMAGE.length, -5],
      ["long file", "2.3.0", Buffer.concat([IMAGE, randomBytes(100)]), IMAGE_MD5, IMAGE.length, -5],
    ] as const;
    for (const [label, version, stored, md5, size, code] of cases) {
      // Uploaded right, then the object changes under it: only the device's own checks can catch it.
      const { Url } = await api.GetCOSURL({ ProductID: PRODUCT_ID, FirmwareVersion: version });
      assert.equal((await fetch(Url!, { method: "PUT", body: IMAGE })).status, 200);
      await api.UploadFirmware({ ProductID: PRODUCT_ID, FirmwareVersion: version, Md5sum: md5, FileSize: size });
      await platform.registry.firmware.putObject(PRODUCT_ID, version, Buffer.from(stored), createHash("md5").update(stored).digest("hex"), Date.now());
      const board = newBoard();
      await powerOn(board);
      await api.UpdateFirmware({ ProductID: PRODUCT_ID, DeviceName: board.name, FirmwareVersion: version, FirmwareOriVersion: "1.0.0" });
      const problems: string[] = [];
      const failed = await until(() => status(board), (value) => value.Status === 5, "status 5").catch((error: Error) => error);
      if (failed instanceof Error) problems.push(failed.message);
      const listed = await api.DescribeFirmwareTaskDevices({ ProductID: PRODUCT_ID, FirmwareVersion: version });
      if (listed.Devices![0]?.Retcode !== code) problems.push(`result_code ${String(listed.Devices![0]?.Retcode)}, not ${code}`);
      if (board.slots.staged() !== undefined) problems.push("kept the bad image staged");
      await powerOff(board);
      await powerOn(board);
      problems.push(...(await violations(board)));
      if (board.slots.runningVersion() !== "1.0.0") problems.push(`runs ${board.slots.runningVersion()}`);
      record("ota bad file", label, problems);
      if (problems.length) failures.push(`${label}: ${problems.join("; ")}`);
    }
    assert.deepEqual(failures, []);
  });
});
