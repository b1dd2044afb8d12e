/**
 * Firmware update on the mock platform (docs/PROTOCOL.md §14), driven as a backend and a device
 * drive Tencent's: Tencent's Node SDK for the Cloud API (GetCOSURL, UploadFirmware, UpdateFirmware,
 * BatchUpdateFirmware, the Describe* actions), Node's fetch for the object store's signed URLs,
 * and mqtt.js with a device's PSK credentials on `$ota/report` and `$ota/update`, sending the
 * JSON Tencent's C SDK sends (ota_lib.c, qcloud_otalib_gen_report_msg).
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { startPlatform, type RunningPlatform } from "../simulator/platform/index";
import { apiClient, apiFailure, apiTarget, type IotExplorerClient } from "./cloud-api-helpers";
import { PID, mqttCredentials, registerPsk, testConfig } from "./platform-helpers";
import { describeStores } from "./lib/store-matrix";

const FIRMWARE_BYTES = 300 * 1024;

interface OtaDevice {
  client: MqttClient;
  messages: Array<Record<string, any>>;
  next(type: string): Promise<Record<string, any>>;
  report(body: unknown): Promise<void>;
}

async function otaDevice(platform: RunningPlatform, deviceName: string, psk: string): Promise<OtaDevice> {
  const client = await mqtt.connectAsync(platform.mqttUrl, { ...mqttCredentials(PID, deviceName, psk), reconnectPeriod: 0 });
  const messages: Array<Record<string, any>> = [];
  const waiters: Array<{ type: string; resolve(message: Record<string, any>): void }> = [];
  client.on("message", (topic, payload) => {
    if (topic !== `$ota/update/${PID}/${deviceName}`) return;
    const message = JSON.parse(payload.toString()) as Record<string, any>;
    const waiter = waiters.findIndex((entry) => entry.type === message.type);
    if (waiter === -1) messages.push(message);
    else waiters.splice(waiter, 1)[0].resolve(message);
  });
  const granted = await client.subscribeAsync(`$ota/update/${PID}/${deviceName}`, { qos: 1 });
  assert.equal(granted[0].qos, 1);
  return {
    client, messages,
    next(type) {
      const queued = messages.findIndex((message) => message.type === type);
      if (queued !== -1) return Promise.resolve(messages.splice(queued, 1)[0]);
      return new Promise((resolve) => waiters.push({ type, resolve }));
    },
    async report(body) {
      await client.publishAsync(`$ota/report/${PID}/${deviceName}`, JSON.stringify(body), { qos: 1 });
    },
  };
}

const reportVersion = (version: string) => ({ type: "report_version", report: { version } });
const progress = (version: string, state: string, extra: Record<string, string> = {}) =>
  ({ type: "report_progress", report: { progress: { state, result_code: "0", result_msg: "", ...extra }, version } });

/** Waits until `read` returns what `done` accepts (the platform handles a publish after its PUBACK). */
async function eventually<T>(read: () => Promise<T> | T, done: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let i = 0; i < 100 && !done(value); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    value = await read();
  }
  return value;
}

async function uploadFirmware(api: IotExplorerClient, version: string, bytes: Buffer): Promise<string> {
  const { Url } = await api.GetCOSURL({ ProductID: PID, FirmwareVersion: version, FileSize: bytes.length });
  const put = await fetch(Url!, { method: "PUT", body: bytes });
  assert.equal(put.status, 200);
  const md5 = createHash("md5").update(bytes).digest("hex");
  assert.equal(put.headers.get("etag"), `"${md5}"`);
  await api.UploadFirmware({ ProductID: PID, FirmwareVersion: version, Md5sum: md5, FileSize: bytes.length, FirmwareName: `fw ${version}` });
  return md5;
}

describeStores("cloud api: firmware update (OTA)", function (store) {
  let platform: RunningPlatform;
  let api: IotExplorerClient;
  let clock: number;
  let offsetMs = 0;
  const devices: OtaDevice[] = [];
  const psks = new Map<string, string>();

  async function online(deviceName: string, version?: string): Promise<OtaDevice> {
    if (!psks.has(deviceName)) psks.set(deviceName, await registerPsk(platform.httpUrl, deviceName));
    const device = await otaDevice(platform, deviceName, psks.get(deviceName)!);
    devices.push(device);
    if (version !== undefined) {
      await device.report(reportVersion(version));
      assert.deepEqual(await device.next("report_version_rsp"), { type: "report_version_rsp", result_code: 0, result_msg: "success", version });
    }
    return device;
  }

  beforeEach(async () => {
    offsetMs = 0;
    platform = await startPlatform({ ...(await store.options()), config: testConfig(), now: () => (clock = Date.now() + offsetMs) });
    api = apiClient(apiTarget(platform));
    psks.clear();
  });
  afterEach(async () => {
    for (const device of devices.splice(0)) await device.client.endAsync(true);
    await platform.close();
  });

  it("GetCOSURL → PUT → UploadFirmware → UpdateFirmware: the device downloads 300 KiB in Range chunks, reports progress, and ends on the new Version", async () => {
    const device = await online("dev001", "1.0.0");
    assert.equal((await api.DescribeDevice({ ProductId: PID, DeviceName: "dev001" })).Device!.Version, "1.0.0");
    const image = randomBytes(FIRMWARE_BYTES);
    const md5 = await uploadFirmware(api, "2.0.0", image);
    const described = await api.DescribeFirmware({ ProductID: PID, FirmwareVersion: "2.0.0" });
    assert.deepEqual([described.Version, described.ProductId, described.Md5sum, described.Name], ["2.0.0", PID, md5, "fw 2.0.0"]);
    const listed = await api.ListFirmwares({ PageNum: 1, PageSize: 10, ProductID: PID });
    assert.deepEqual([listed.TotalCount, listed.Firmwares!.map((firmware) => firmware.Version)], [1, ["2.0.0"]]);

    await api.UpdateFirmware({ ProductID: PID, DeviceName: "dev001", FirmwareVersion: "2.0.0", FirmwareOriVersion: "1.0.0" });
    const update = await device.next("update_firmware");
    assert.deepEqual(Object.keys(update).sort(), ["file_size", "md5sum", "type", "url", "version"]);
    assert.deepEqual([update.file_size, update.md5sum, update.version], [FIRMWARE_BYTES, md5, "2.0.0"]);
    assert.match(update.url, /^http:\/\/127\.0\.0\.1:\d+\/ota\/firmware\//);
    let status = await api.DescribeFirmwareUpdateStatus({ ProductId: PID, DeviceName: "dev001" });
    assert.deepEqual([status.OriVersion, status.DstVersion, status.Status, status.Percent], ["1.0.0", "2.0.0", 2, 0]);

    // In chunks, as a device with a small buffer reads; the last asks past the end, as the C SDK does.
    const chunks: Buffer[] = [];
    const chunk = 64 * 1024;
    for (let offset = 0; offset < FIRMWARE_BYTES; offset += chunk) {
      const last = offset + chunk >= FIRMWARE_BYTES ? FIRMWARE_BYTES : offset + chunk - 1;
      const answer = await fetch(update.url, { headers: { Range: `bytes=${offset}-${last}` } });
      assert.equal(answer.status, 206);
      const body = Buffer.from(await answer.arrayBuffer());
      assert.equal(answer.headers.get("content-range"), `bytes ${offset}-${offset + body.length - 1}/${FIRMWARE_BYTES}`);
      chunks.push(body);
      await device.report(progress("2.0.0", "downloading", { percent: String(Math.floor(((offset + body.length) * 100) / FIRMWARE_BYTES)) }));
      if (offset === 0) {
        status = await eventually(() => api.DescribeFirmwareUpdateStatus({ ProductId: PID, DeviceName: "dev001" }), (value) => value.Status === 3);
        assert.deepEqual([status.Status, status.Percent], [3, 21]);
      }
    }
    assert.equal(createHash("md5").update(Buffer.concat(chunks)).digest("hex"), md5);
    status = await eventually(() => api.DescribeFirmwareUpdateStatus({ ProductId: PID, DeviceName: "dev001" }), (value) => value.Status === 20);
    assert.deepEqual([status.Status, status.Percent], [20, 100]);
    await device.report(progress("2.0.0", "burning"));
    status = await eventually(() => api.DescribeFirmwareUpdateStatus({ ProductId: PID, DeviceName: "dev001" }), (value) => value.Status === 4);
    assert.equal(status.Status, 4);
    await device.report(progress("2.0.0", "done"));
    status = await eventually(() => api.DescribeFirmwareUpdateStatus({ ProductId: PID, DeviceName: "dev001" }), (value) => value.Status === 6);
    assert.deepEqual([status.Status, status.Percent], [6, 100]);
    await device.report(reportVersion("2.0.0"));
    await device.next("report_version_rsp");
    assert.equal((await api.DescribeDevice({ ProductId: PID, DeviceName: "dev001" })).Device!.Version, "2.0.0");
    assert.equal(platform.objects.bytesServed, FIRMWARE_BYTES);
  });

  it("where the platform has TLS, GetCOSURL and update_firmware give HTTPS URLs, served with Range", async () => {
    const dir = mkdtempSync(join(tmpdir(), "exs-ota-tls-"));
    try {
      execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
      const ca = readFileSync(join(dir, "cert.pem"));
      const tls = await startPlatform({ ...(await store.options()), config: testConfig(), tls: { key: readFileSync(join(dir, "key.pem")), cert: ca } });
      try {
        const tlsApi = apiClient(apiTarget(tls));
        const { Url } = await tlsApi.GetCOSURL({ ProductID: PID, FirmwareVersion: "5.0.0" });
        assert.ok(Url!.startsWith(`${tls.httpsUrl}/ota/firmware/`), Url);
        const exchange = (method: string, url: string, headers: Record<string, string>, body?: Buffer) => new Promise<{ status: number; body: Buffer; range?: string }>((resolve, reject) => {
          const req = httpsRequest(url, { method, headers, ca }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (chunk: Buffer) => chunks.push(chunk));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), range: res.headers["content-range"] }));
          });
          req.on("error", reject);
          req.end(body);
        });
        const image = randomBytes(5000);
        assert.equal((await exchange("PUT", Url!, { "Content-Length": String(image.length) }, image)).status, 200);
        const download = tls.objects.downloadUrl(PID, "5.0.0");
        assert.ok(download.startsWith("https://"));
        const part = await exchange("GET", download, { Range: "bytes=1000-1999" });
        assert.deepEqual([part.status, part.range, part.body.equals(image.subarray(1000, 2000))], [206, "bytes 1000-1999/5000", true]);
      } finally {
        await tls.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("UploadFirmware takes only an uploaded object that matches Md5sum and FileSize, once", async () => {
    const image = randomBytes(1000);
    const md5 = createHash("md5").update(image).digest("hex");
    assert.equal((await apiFailure(api.UploadFirmware({ ProductID: PID, FirmwareVersion: "2.0.0", Md5sum: md5, FileSize: 1000 }))).code, "ResourceNotFound.CannotGetFromUrl");
    const { Url } = await api.GetCOSURL({ ProductID: PID, FirmwareVersion: "2.0.0" });
    assert.equal((await fetch(Url!, { method: "PUT", body: image })).status, 200);
    assert.equal((await apiFailure(api.UploadFirmware({ ProductID: PID, FirmwareVersion: "2.0.0", Md5sum: "0".repeat(32), FileSize: 1000 }))).code, "InvalidParameterValue");
    assert.equal((await apiFailure(api.UploadFirmware({ ProductID: PID, FirmwareVersion: "2.0.0", Md5sum: md5, FileSize: 999 }))).code, "InvalidParameterValue");
    assert.equal((await apiFailure(api.UploadFirmware({ ProductID: PID, FirmwareVersion: "2.0.0", Md5sum: "not-hex", FileSize: 1000 }))).code, "InvalidParameterValue");
    await api.UploadFirmware({ ProductID: PID, FirmwareVersion: "2.0.0", Md5sum: md5.toUpperCase(), FileSize: 1000 });
    assert.equal((await apiFailure(api.UploadFirmware({ ProductID: PID, FirmwareVersion: "2.0.0", Md5sum: md5, FileSize: 1000 }))).code, "InvalidParameterValue.FirmwareAlreadyExist");
    // A published version's bytes never change: no new upload URL, and the old one is refused.
    assert.equal((await apiFailure(api.GetCOSURL({ ProductID: PID, FirmwareVersion: "2.0.0" }))).code, "InvalidParameterValue.FirmwareAlreadyExist");
    assert.equal((await fetch(Url!, { method: "PUT", body: randomBytes(1000) })).status, 409);
    assert.equal((await platform.registry.firmware.objectInfo(PID, "2.0.0"))?.md5, md5);
    assert.equal((await apiFailure(api.DescribeFirmware({ ProductID: PID, FirmwareVersion: "9.9.9" }))).code, "ResourceNotFound.FirmwareNotExist");
    assert.equal((await apiFailure(api.GetCOSURL({ ProductID: PID, FirmwareVersion: "bad version/" }))).code, "InvalidParameterValue");
    assert.equal((await apiFailure(api.GetCOSURL({ ProductID: "NOPRODUCT1", FirmwareVersion: "1.0" }))).code, "ResourceNotFound.ProductNotExist");
  });

  it("the object store serves only URLs it signed, for their method, before they expire, within their size", async () => {
    const { Url } = await api.GetCOSURL({ ProductID: PID, FirmwareVersion: "3.0.0", FileSize: 100 });
    const url = new URL(Url!);
    assert.equal((await fetch(Url!, { method: "PUT", body: randomBytes(101) })).status, 413);
    const forged = new URL(url);
    forged.searchParams.set("signature", "0".repeat(64));
    assert.equal((await fetch(forged, { method: "PUT", body: randomBytes(10) })).status, 403);
    const widened = new URL(url);
    widened.searchParams.set("limit", "1000");
    assert.equal((await fetch(widened, { method: "PUT", body: randomBytes(200) })).status, 403);
    const other = new URL(url);
    other.pathname = other.pathname.replace("3.0.0", "3.0.1");
    assert.equal((await fetch(other, { method: "PUT", body: randomBytes(10) })).status, 403);
    const bare = new URL(url);
    bare.search = "";
    assert.equal((await fetch(bare)).status, 403);
    const image = randomBytes(100);
    assert.equal((await fetch(Url!, { method: "PUT", body: image })).status, 200);
    // An upload URL does not download.
    assert.equal((await fetch(Url!)).status, 403);
    const download = platform.objects.downloadUrl(PID, "3.0.0");
    const whole = await fetch(download);
    assert.equal(whole.status, 200);
    assert.deepEqual(Buffer.from(await whole.arrayBuffer()), image);
    const tail = await fetch(download, { headers: { Range: "bytes=-10" } });
    assert.equal(tail.status, 206);
    assert.deepEqual(Buffer.from(await tail.arrayBuffer()), image.subarray(90));
    const past = await fetch(download, { headers: { Range: "bytes=100-" } });
    assert.equal(past.status, 416);
    assert.equal(past.headers.get("content-range"), "bytes */100");
    assert.equal((await fetch(platform.objects.downloadUrl(PID, "4.0.0"))).status, 404);
    assert.equal((await fetch(download, { method: "DELETE" })).status, 405);
    offsetMs = 25 * 3600 * 1000; // past the download URL's 24 h
    assert.equal((await fetch(download)).status, 403);
  });

  it("firmware URLs leave a default port out, as Tencent's C SDK needs (it dials 80 or 443 and takes host:port for a name)", () => {
    const base = platform.objects.baseUrl;
    try {
      platform.objects.baseUrl = "http://127.0.0.1:80";
      assert.match(platform.objects.downloadUrl(PID, "2.0.0"), /^http:\/\/127\.0\.0\.1\/ota\/firmware\/ABCDEFGHIJ\/2\.0\.0\?/);
      platform.objects.baseUrl = "https://[::1]:443";
      assert.match(platform.objects.uploadUrl(PID, "2.0.0"), /^https:\/\/\[::1\]\/ota\/firmware\//);
    } finally {
      platform.objects.baseUrl = base;
    }
    assert.match(platform.objects.downloadUrl(PID, "2.0.0"), /^http:\/\/127\.0\.0\.1:\d+\/ota\//);
  });

  it("UpdateFirmware refuses a device that never reported, runs another version, already runs the target, or is being updated", async () => {
    await uploadFirmware(api, "2.0.0", randomBytes(2000));
    const update = (deviceName: string, ori = "1.0.0", version = "2.0.0") =>
      api.UpdateFirmware({ ProductID: PID, DeviceName: deviceName, FirmwareVersion: version, FirmwareOriVersion: ori });
    await online("dev002");
    assert.equal((await apiFailure(update("dev002"))).code, "ResourceNotFound.DeviceHasNoFirmware");
    await online("dev001", "1.0.0");
    assert.equal((await apiFailure(update("dev001", "0.9.0"))).code, "FailedOperation.DeviceInfoOutdated");
    assert.equal((await apiFailure(update("dev001", "1.0.0", "7.0.0"))).code, "ResourceNotFound.FirmwareNotExist");
    assert.equal((await apiFailure(update("nodevice"))).code, "ResourceNotFound.DeviceNotExist");
    assert.equal((await apiFailure(api.UpdateFirmware({ ProductID: PID, DeviceName: "dev001", FirmwareVersion: "2.0.0", FirmwareOriVersion: "1.0.0", UpgradeMethod: 1 }))).code, "UnsupportedOperation");
    await update("dev001");
    assert.equal((await apiFailure(update("dev001"))).code, "FailedOperation.OtherUpdateTaskExist");
    await online("dev003", "2.0.0");
    assert.equal((await apiFailure(update("dev003", "2.0.0"))).code, "FailedOperation.DeviceFirmwareIsUpdated");
  });

  it("a device offline when the update is published gets it after its next report_version", async () => {
    await uploadFirmware(api, "2.0.0", randomBytes(2000));
    const first = await online("dev001", "1.0.0");
    await first.client.endAsync();
    await eventually(() => platform.broker.isOnline(PID, "dev001"), (value) => !value);
    await api.UpdateFirmware({ ProductID: PID, DeviceName: "dev001", FirmwareVersion: "2.0.0", FirmwareOriVersion: "1.0.0" });
    assert.equal((await api.DescribeFirmwareUpdateStatus({ ProductId: PID, DeviceName: "dev001" })).Status, 1);
    const again = await online("dev001", "1.0.0");
    const update = await again.next("update_firmware");
    assert.equal(update.version, "2.0.0");
    assert.equal((await api.DescribeFirmwareUpdateStatus({ ProductId: PID, DeviceName: "dev001" })).Status, 2);
  });

  it("a fail report sets status 5 with the device's result_code and result_msg; a silent device times out (10)", async () => {
    await uploadFirmware(api, "2.0.0", randomBytes(2000));
    const failing = await online("dev001", "1.0.0");
    await online("dev002", "1.0.0");
    const { TaskId } = await api.BatchUpdateFirmware({ ProductID: PID, FirmwareVersion: "2.0.0", DeviceNames: ["dev001", "dev002"], TimeoutInterval: 120 });
    await failing.next("update_firmware");
    await failing.report(progress("2.0.0", "fail", { result_code: "-4", result_msg: "md5 mismatch" }));
    const status = await eventually(() => api.DescribeFirmwareUpdateStatus({ ProductId: PID, DeviceName: "dev001" }), (value) => value.Status === 5);
    assert.equal(status.Status, 5);
    offsetMs = 121_000;
    assert.equal((await platform.ota.currentUpdate(PID, "dev002"))?.status, 10);
    offsetMs = 0; // the SDK's signatures carry the real time
    const listed = await api.DescribeFirmwareTaskDevices({ ProductID: PID, FirmwareVersion: "2.0.0", Filters: [{ Key: "TaskId", Value: String(TaskId) }] });
    assert.equal(listed.Total, 2);
    const byName = Object.fromEntries(listed.Devices!.map((entry) => [entry.DeviceName, entry]));
    assert.deepEqual([byName.dev001.Status, byName.dev001.Retcode, byName.dev001.ErrMsg, byName.dev001.OriVersion], [5, -4, "md5 mismatch", "1.0.0"]);
    assert.deepEqual([byName.dev002.Status, byName.dev002.ErrMsg], [10, "time_out"]);
    assert.equal((await api.DescribeFirmwareTask({ ProductID: PID, FirmwareVersion: "2.0.0", TaskId: TaskId! })).Status, 2);
  });

  it("BatchUpdateFirmware by original version sends RateLimit devices per minute and skips those on the target", async () => {
    await uploadFirmware(api, "2.0.0", randomBytes(2000));
    const on1 = [await online("dev001", "1.0.0"), await online("dev002", "1.0.0"), await online("dev003", "1.0.0")];
    await online("dev004", "2.0.0");
    await online("dev005", "0.5.0");
    const { TaskId } = await api.BatchUpdateFirmware({ ProductID: PID, FirmwareVersion: "2.0.0", FirmwareOriVersion: "1.0.0", RateLimit: 2, TaskUserDefine: "wave 1" });
    const task = await api.DescribeFirmwareTask({ ProductID: PID, FirmwareVersion: "2.0.0", TaskId: TaskId! });
    assert.deepEqual([task.Status, task.UpgradeMode, task.OriginalVersion, task.RateLimit, task.TaskUserDefine, task.TimeoutInterval], [1, "originalVersion", "1.0.0", 2, "wave 1", 600]);
    await on1[0].next("update_firmware");
    await on1[1].next("update_firmware");
    const statuses = async () => (await api.DescribeFirmwareTaskDevices({ ProductID: PID, FirmwareVersion: "2.0.0", Limit: 100 })).Devices!.map((entry) => [entry.DeviceName, entry.Status]);
    assert.deepEqual(await statuses(), [["dev001", 2], ["dev002", 2], ["dev003", 1]]);
    // Within the first minute a version report does not bring the third device its update early ...
    await on1[2].report(reportVersion("1.0.0"));
    await on1[2].next("report_version_rsp");
    assert.equal(on1[2].messages.some((message) => message.type === "update_firmware"), false);
    // ... after it, one does (its minute's timer would have sent it too).
    offsetMs = 61_000;
    await on1[2].report(reportVersion("1.0.0"));
    assert.equal((await on1[2].next("update_firmware")).version, "2.0.0");
    offsetMs = 0;
    assert.equal((await apiFailure(api.DescribeFirmwareTask({ ProductID: PID, FirmwareVersion: "2.0.0", TaskId: TaskId! + 1 }))).code, "ResourceNotFound.FirmwareTaskNotExist");
    assert.equal((await apiFailure(api.BatchUpdateFirmware({ ProductID: PID, FirmwareVersion: "2.0.0", DeviceNames: ["dev004"] }))).code, "FailedOperation.DeviceFirmwareIsUpdated");
    assert.equal((await apiFailure(api.BatchUpdateFirmware({ ProductID: PID, FirmwareVersion: "2.0.0", DeviceNames: ["dev001", "nodevice"] }))).code, "ResourceNotFound.DeviceNotExist");
    assert.equal((await apiFailure(api.BatchUpdateFirmware({ ProductID: PID, FirmwareVersion: "2.0.0", DeviceNames: ["dev005"], TimeoutInterval: 60 }))).code, "InvalidParameterValue");
    assert.equal((await apiFailure(api.BatchUpdateFirmware({ ProductID: PID, FirmwareVersion: "2.0.0" }))).code, "MissingParameter");
  });

  it("the ACL: a device reports on its own $ota/report and subscribes to its own $ota/update only", async () => {
    const device = await online("dev001");
    // mqtt.js turns the SUBACK's 0x80 into this rejection.
    await assert.rejects(device.client.subscribeAsync(`$ota/update/${PID}/dev002`, { qos: 1 }), /Subscribe error/);
    const closed = new Promise<void>((resolve) => device.client.once("close", () => resolve()));
    device.client.publish(`$ota/report/${PID}/dev002`, JSON.stringify(reportVersion("6.6.6")), { qos: 1 });
    await closed;
    assert.equal(await platform.registry.firmware.reportedVersion(PID, "dev002"), undefined);
  });

  it("report_version with a bad version is answered with a non-zero result_code and records nothing", async () => {
    const device = await online("dev001");
    await device.report(reportVersion("x".repeat(33)));
    const answer = await device.next("report_version_rsp");
    assert.equal(answer.result_code, -1);
    assert.equal(await platform.registry.firmware.reportedVersion(PID, "dev001"), undefined);
  });
});
