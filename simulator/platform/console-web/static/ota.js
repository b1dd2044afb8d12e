// @ts-check
/**
 * The console's firmware update view (issue 22, docs/PROTOCOL.md §14), for the product selected
 * in app.js: upload a version (GetCOSURL, a PUT of the file to the object store, UploadFirmware
 * with the MD5 computed here), list the product's versions (ListFirmwares, DescribeFirmware),
 * start an update for one device (UpdateFirmware) or for the product (BatchUpdateFirmware), and
 * watch it (DescribeFirmwareUpdateStatus, or DescribeFirmwareTask and DescribeFirmwareTaskDevices)
 * until every device is done, failed or timed out. Everything shown is written with textContent.
 */
import { $, api, el, selectedProduct } from "./app.js";
import { md5Hex } from "./md5.js";

/** Tencent's update status codes (DescribeFirmwareUpdateStatusResponse.Status), in words. */
const STATUS = /** @type {Record<number, string>} */ ({
  0: "device offline", 1: "pending", 2: "sent", 3: "downloading", 4: "burning", 5: "failed", 6: "done",
  7: "processing", 8: "waiting for confirmation", 10: "timed out", 20: "downloaded",
});
/** The codes an update ends on. */
const FINAL = new Set([5, 6, 10]);
const POLL_MS = 1000;
const PAGE_SIZE = 100;
/** The largest image the mock's object store takes (MAX_FIRMWARE_BYTES), for the refusal's wording. */
const MAX_MIB = 16;

/** @type {string | undefined} the product the view is for */
let productId;
/** Bumped by each new watch (or product): an older poll loop sees it and stops. */
let watchId = 0;

/** @param {number} status */
function statusLabel(status) {
  return STATUS[status] ?? `status ${status}`;
}

/** @param {unknown} error */
function message(error) {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A line under a form; `data-state` says ok, error or busy, so the page (and its tests) can tell.
 * @param {string} id @param {"ok" | "error" | "busy"} state @param {string} text
 */
function say(id, state, text) {
  const line = $(id);
  line.dataset.state = state;
  line.textContent = text;
}

/**
 * One Cloud API call whose refusal names the action and, for the refusals a person meets most,
 * says what to do (Tencent's code and message stay, after it).
 * @param {string} action @param {Record<string, unknown>} params
 * @param {Record<string, string> | ((code: string, text: string) => string | undefined)} [hints] by error code
 */
async function call(action, params, hints = {}) {
  try {
    return await api(action, params);
  } catch (error) {
    const text = message(error);
    const code = text.split(":")[0];
    const hint = typeof hints === "function" ? hints(code, text) : hints[code];
    throw new Error(`${action} refused: ${hint ? `${hint} (${text})` : text}`);
  }
}

// ---- upload ----

/** @param {HTMLFormElement} form */
async function upload(form) {
  if (!productId) throw new Error("select a product first");
  const data = new FormData(form);
  const version = String(data.get("version") ?? "").trim();
  const file = /** @type {HTMLInputElement} */ ($("ota-file")).files?.[0];
  if (!file) throw new Error("choose a firmware file first");
  const name = String(data.get("name") ?? "").trim();
  const description = String(data.get("description") ?? "").trim();
  // The platform judges the version and the size before a byte is read here.
  say("ota-upload-result", "busy", `asking for an upload URL for ${version}…`);
  const { Url } = await call("GetCOSURL", { ProductID: productId, FirmwareVersion: version, FileSize: file.size }, (code, text) => {
    if (code === "InvalidParameterValue.FirmwareAlreadyExist") return `version ${version} already exists for this product: a published version's bytes never change, so upload under a new version`;
    if (text.includes("`FirmwareVersion`")) return `"${version.slice(0, 40)}" is not a version: 1-32 characters of A-Z a-z 0-9 . _ -`;
    if (text.includes("`FileSize`")) return `${file.name} has ${file.size} bytes: the platform takes 1 byte to ${MAX_MIB} MiB`;
    return undefined;
  });
  const bytes = new Uint8Array(await file.arrayBuffer());
  say("ota-upload-result", "busy", `computing the MD5 of ${bytes.length} bytes…`);
  const md5 = md5Hex(bytes);
  // The object store answers on the platform's every port and its signature covers the path, not
  // the host: sent to this page's origin, the PUT stays within the page's connect-src 'self'.
  const signed = new URL(String(Url));
  say("ota-upload-result", "busy", `uploading ${bytes.length} bytes…`);
  const put = await fetch(new URL(signed.pathname + signed.search, location.origin), {
    method: "PUT", body: bytes, headers: { "Content-Type": "application/octet-stream" }, cache: "no-store",
  });
  if (!put.ok) {
    const answer = await put.json().catch(() => undefined);
    throw new Error(`the object store refused the file: HTTP ${put.status}${answer?.error ? ` ${answer.error.code}: ${answer.error.message}` : ""}`);
  }
  await call("UploadFirmware", {
    ProductID: productId, FirmwareVersion: version, Md5sum: md5, FileSize: bytes.length,
    ...(name ? { FirmwareName: name } : {}), ...(description ? { FirmwareDescription: description } : {}),
  }, { "InvalidParameterValue.FirmwareAlreadyExist": `version ${version} already exists for this product` });
  form.reset();
  say("ota-upload-result", "ok", `uploaded ${version}: ${bytes.length} bytes, MD5 ${md5}`);
  await listFirmwares(version);
}

// ---- versions ----

/** @param {string} [select] a version to select in the update form */
async function listFirmwares(select) {
  if (!productId) return;
  const forProduct = productId;
  const { TotalCount, Firmwares } = await call("ListFirmwares", { PageNum: 1, PageSize: PAGE_SIZE, ProductID: forProduct });
  if (forProduct !== productId) return;
  /** @type {Array<Record<string, any>>} */
  const firmwares = Firmwares ?? [];
  firmwares.sort((a, b) => b.CreateTime - a.CreateTime || String(b.Version).localeCompare(String(a.Version)));
  $("ota-count").textContent = TotalCount > firmwares.length ? `${firmwares.length} of ${TotalCount}` : String(TotalCount);
  const body = $("ota-firmwares");
  body.replaceChildren(...firmwares.map((firmware) => {
    const row = el("tr");
    row.dataset.version = firmware.Version;
    const details = /** @type {HTMLButtonElement} */ (el("button", "details"));
    details.type = "button";
    details.addEventListener("click", () => { describeFirmware(firmware.Version).catch((error) => say("ota-update-result", "error", message(error))); });
    const update = /** @type {HTMLButtonElement} */ (el("button", "update…"));
    update.type = "button";
    update.addEventListener("click", () => { /** @type {HTMLSelectElement} */ ($("ota-version")).value = firmware.Version; $("ota-device").focus(); });
    const actions = el("td", undefined, "actions");
    actions.append(details, update);
    row.append(el("td", firmware.Version, "mono"), el("td", firmware.Name ?? ""), el("td", firmware.Md5sum, "mono hint"),
      el("td", new Date(firmware.CreateTime * 1000).toLocaleString()), actions);
    return row;
  }));
  if (firmwares.length === 0) {
    const cell = /** @type {HTMLTableCellElement} */ (el("td", "no firmware uploaded for this product yet", "hint"));
    cell.colSpan = 5;
    const row = el("tr");
    row.append(cell);
    body.append(row);
  }
  const versions = /** @type {HTMLSelectElement} */ ($("ota-version"));
  const previous = select ?? versions.value;
  versions.replaceChildren(...firmwares.map((firmware) => {
    const option = /** @type {HTMLOptionElement} */ (el("option", `${firmware.Version}${firmware.Name && firmware.Name !== firmware.Version ? ` (${firmware.Name})` : ""}`));
    option.value = firmware.Version;
    return option;
  }));
  if (firmwares.some((firmware) => firmware.Version === previous)) versions.value = previous;
}

/** @param {string} version */
async function describeFirmware(version) {
  if (!productId) return;
  const firmware = await call("DescribeFirmware", { ProductID: productId, FirmwareVersion: version });
  const fields = $("ota-firmware-fields");
  fields.replaceChildren();
  for (const [name, value] of [["version", firmware.Version], ["name", firmware.Name], ["description", firmware.Description || "—"],
    ["MD5", firmware.Md5sum], ["uploaded", new Date(firmware.Createtime * 1000).toLocaleString()], ["product", `${firmware.ProductName} (${firmware.ProductId})`]]) {
    fields.append(el("dt", name), el("dd", String(value ?? "")));
  }
  $("ota-firmware").hidden = false;
}

/** Device names for the update form's suggestions (the first page of the product's devices). */
async function suggestDevices() {
  if (!productId) return;
  const { Devices } = await call("GetDeviceList", { ProductId: productId, Offset: 0, Limit: PAGE_SIZE });
  $("ota-device-names").replaceChildren(...(Devices ?? []).map((/** @type {Record<string, any>} */ device) => {
    const option = /** @type {HTMLOptionElement} */ (el("option"));
    option.value = device.DeviceName;
    return option;
  }));
}

/** Every device name of the product, page by page (BatchUpdateFirmware takes at most 10,000). */
async function allDeviceNames() {
  /** @type {string[]} */
  const names = [];
  for (let offset = 0; ; offset += PAGE_SIZE) {
    const { Devices, Total } = await call("GetDeviceList", { ProductId: productId, Offset: offset, Limit: PAGE_SIZE });
    for (const device of Devices ?? []) names.push(device.DeviceName);
    if (offset + PAGE_SIZE >= Total || (Devices ?? []).length === 0) return names;
  }
}

// ---- update ----

/** @param {HTMLFormElement} form */
async function startUpdate(form) {
  if (!productId) throw new Error("select a product first");
  const data = new FormData(form);
  const version = String(data.get("version") ?? "");
  if (!version) throw new Error("upload a firmware version first");
  const target = String(data.get("target") ?? "device");
  if (target === "device") {
    const deviceName = String(data.get("device") ?? "").trim();
    if (!deviceName) throw new Error("name the device to update");
    // UpdateFirmware takes the version the device runs now, as it last reported it.
    const { Device } = await call("DescribeDevice", { ProductId: productId, DeviceName: deviceName });
    const from = String(Device?.Version ?? "");
    await call("UpdateFirmware", { ProductID: productId, DeviceName: deviceName, FirmwareVersion: version, FirmwareOriVersion: from }, {
      "ResourceNotFound.DeviceHasNoFirmware": `${deviceName} has not reported a firmware version yet: it must be online with firmware update on`,
      "FailedOperation.DeviceFirmwareIsUpdated": `${deviceName} already runs ${version}`,
      "FailedOperation.OtherUpdateTaskExist": `${deviceName} is being updated already: wait until that update ends`,
    });
    say("ota-update-result", "ok", `update of ${deviceName} from ${from} to ${version} started`);
    await watchDevice(productId, deviceName, version);
    return;
  }
  const from = String(data.get("from") ?? "").trim();
  const params = /** @type {Record<string, unknown>} */ ({ ProductID: productId, FirmwareVersion: version });
  if (from) params.FirmwareOriVersion = from;
  else params.DeviceNames = await allDeviceNames();
  const { TaskId } = await call("BatchUpdateFirmware", params, {
    "FailedOperation.DeviceFirmwareIsUpdated": `no device of the product needs ${version}: every one runs it${from ? `, runs another version than ${from}` : ""} or is being updated`,
  });
  say("ota-update-result", "ok", `task ${TaskId} started: ${from ? `every device on ${from}` : "the product's devices"} to ${version}`);
  await watchTask(productId, version, Number(TaskId));
}

// ---- progress ----

/**
 * @param {string} title
 * @param {number} percent 0-100
 * @param {string} line
 * @param {"running" | "done" | "failed"} state
 */
function showProgress(title, percent, line, state) {
  const panel = $("ota-progress");
  panel.hidden = false;
  panel.dataset.state = state;
  $("ota-progress-title").textContent = title;
  const bar = /** @type {HTMLProgressElement} */ ($("ota-bar"));
  bar.value = percent;
  $("ota-percent").textContent = `${percent} %`;
  $("ota-progress-line").textContent = line;
}

/** @param {Array<Record<string, any>>} updates DeviceUpdateStatus entries */
function showDevices(updates) {
  $("ota-task-devices").replaceChildren(...updates.map((update) => {
    const row = el("tr");
    row.dataset.device = update.DeviceName;
    row.dataset.status = String(update.Status);
    const label = statusLabel(update.Status);
    row.append(el("td", update.DeviceName, "mono"), el("td", label, `ota-status s${update.Status}`), el("td", `${update.Percent ?? 0} %`),
      el("td", `${update.OriVersion || "?"} → ${update.DstVersion}`, "mono"), el("td", update.Status === 5 ? `${update.Retcode ?? ""} ${update.ErrMsg ?? ""}`.trim() : update.Status === 10 ? "no answer within the task's timeout" : ""));
    return row;
  }));
}

const pause = () => new Promise((resolve) => setTimeout(resolve, POLL_MS));

/** Polls one device's update until it ends; then shows the version the device reports. @param {string} product @param {string} deviceName @param {string} version */
async function watchDevice(product, deviceName, version) {
  const id = ++watchId;
  for (;;) {
    const status = await call("DescribeFirmwareUpdateStatus", { ProductId: product, DeviceName: deviceName });
    if (id !== watchId) return;
    const code = Number(status.Status);
    const label = statusLabel(code);
    showDevices([{ DeviceName: deviceName, Status: code, Percent: status.Percent, OriVersion: status.OriVersion, DstVersion: status.DstVersion }]);
    if (FINAL.has(code)) {
      const { Device } = await call("DescribeDevice", { ProductId: product, DeviceName: deviceName });
      if (id !== watchId) return;
      $("ota-device-version").textContent = String(Device?.Version ?? "");
      showProgress(`${deviceName} to ${version}`, Number(status.Percent), `${label}: ${deviceName} runs ${Device?.Version ?? "?"}`, code === 6 ? "done" : "failed");
      return;
    }
    showProgress(`${deviceName} to ${version}`, Number(status.Percent), `${label}, ${status.Percent} %`, "running");
    await pause();
  }
}

/** Polls a batch task until every device ended: counts by status, and the first page of its devices. @param {string} product @param {string} version @param {number} taskId */
async function watchTask(product, version, taskId) {
  const id = ++watchId;
  $("ota-device-version").textContent = "";
  for (;;) {
    const task = await call("DescribeFirmwareTask", { ProductID: product, FirmwareVersion: version, TaskId: taskId });
    const { Total, Devices } = await call("DescribeFirmwareTaskDevices", {
      ProductID: product, FirmwareVersion: version, Filters: [{ Key: "TaskId", Value: String(taskId) }], Offset: 0, Limit: PAGE_SIZE,
    });
    /** @type {Map<number, number>} */
    const counts = new Map();
    // One count per status the page shows, from the platform's filter (exact past the first page).
    for (const code of [1, 2, 3, 20, 4, 5, 6, 10]) {
      const { Total: n } = await call("DescribeFirmwareTaskDevices", {
        ProductID: product, FirmwareVersion: version, Filters: [{ Key: "TaskId", Value: String(taskId) }, { Key: "Status", Value: String(code) }], Offset: 0, Limit: 1,
      });
      if (n) counts.set(code, n);
    }
    if (id !== watchId) return;
    showDevices(Devices ?? []);
    const ended = [5, 6, 10].reduce((sum, code) => sum + (counts.get(code) ?? 0), 0);
    const percent = Total ? Math.floor((ended * 100) / Total) : 0;
    const line = `${[...counts].map(([code, n]) => `${n} ${statusLabel(code)}`).join(", ") || "no devices"} of ${Total}`;
    const finished = Number(task.Status) === 2;
    showProgress(`task ${taskId}: ${product} to ${version}`, percent, finished ? `finished: ${line}` : line,
      finished ? ((counts.get(6) ?? 0) === Total ? "done" : "failed") : "running");
    if (finished) return;
    await pause();
  }
}

// ---- wiring ----

/** @param {string} id @param {string} result @param {(form: HTMLFormElement) => Promise<void>} action */
function onSubmit(id, result, action) {
  const form = /** @type {HTMLFormElement} */ ($(id));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    action(form).catch((error) => say(result, "error", message(error)));
  });
}

onSubmit("ota-upload", "ota-upload-result", upload);
onSubmit("ota-update", "ota-update-result", startUpdate);
$("ota-update").addEventListener("change", () => {
  const product = /** @type {HTMLSelectElement} */ ($("ota-target")).value === "product";
  $("ota-device-field").hidden = product;
  $("ota-from-field").hidden = !product;
});

/** @param {{ productId?: string, productName?: string }} selected */
function follow(selected) {
  if (!selected.productId || selected.productId === productId) return;
  productId = selected.productId;
  watchId++;
  $("ota-product").textContent = selected.productName ?? selected.productId;
  $("ota-progress").hidden = true;
  $("ota-firmware").hidden = true;
  for (const id of ["ota-upload-result", "ota-update-result"]) say(id, "ok", "");
  Promise.all([listFirmwares(), suggestDevices()]).catch((error) => say("ota-update-result", "error", message(error)));
}

document.addEventListener("console:product", (event) => follow(/** @type {CustomEvent<{ productId?: string, productName?: string }>} */ (event).detail));
// A product selected before this module ran.
follow(selectedProduct());
