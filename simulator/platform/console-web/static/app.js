// @ts-check
/**
 * The web console: a client of the platform's Cloud API (every call signed with TC3 in this
 * browser) and of its signed event stream. Everything shown is written with textContent.
 */
import { authorization, webCryptoAvailable } from "./tc3.js";
import { OnlineChart } from "./chart.js";

const STORAGE_KEY = "explorer-xs-console";
const VERSION = "2019-04-23";
const PAGE_SIZE = 50;
const EVENT_ROWS = 200;

/** @typedef {{ secretId: string, secretKey: string, token?: string }} Credentials */
/** @typedef {{ id: number, time: number, kind: string, ok: boolean, productId?: string, deviceName?: string, clientId?: string, reason?: string, detail?: string, clientToken?: string }} ConsoleEvent */

/** @type {Credentials | undefined} */
let credentials;
let clockOffsetMs = 0;
/** @type {AbortController | undefined} */
let stream;
const state = {
  /** @type {Array<Record<string, any>>} */
  products: [],
  /** @type {string | undefined} */
  productId: undefined,
  offset: 0,
  total: 0,
  /** @type {string | undefined} */
  deviceName: undefined,
  /** @type {Map<string, number>} last seen (ms) by ProductId+DeviceName, from the event stream */
  lastSeen: new Map(),
  /** @type {Set<string>} clientTokens this console sent */
  sentControls: new Set(),
};

/** The product the page shows, for the views in other modules (ota.js). */
export function selectedProduct() {
  const product = state.products.find((candidate) => candidate.ProductId === state.productId);
  return { productId: state.productId, productName: product?.ProductName };
}

/** @param {string} id */
export function $(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing #${id}`);
  return node;
}

/**
 * @param {string} tag
 * @param {string} [text]
 * @param {string} [className]
 */
export function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

/** @param {number | undefined} ms */
function when(ms) {
  if (!ms) return "never";
  const seconds = Math.round((Date.now() + clockOffsetMs - ms) / 1000);
  if (seconds < 5) return "just now";
  if (seconds < 120) return `${seconds} s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min ago`;
  return new Date(ms).toLocaleString();
}

/** @param {string} message */
function showError(message) {
  const banner = $("error");
  banner.textContent = message;
  banner.hidden = message === "";
}

class ApiError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   */
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}

/** The platform's clock, from the Date header, so signatures fall inside its five minutes. */
async function syncClock() {
  const response = await fetch("/console", { method: "HEAD", cache: "no-store" });
  const date = response.headers.get("date");
  if (date) clockOffsetMs = Date.parse(date) - Date.now();
}

/**
 * A signed POST, as Tencent's SDKs send it.
 * @param {string} path
 * @param {string | undefined} action
 * @param {unknown} params
 * @param {AbortSignal} [signal]
 */
async function signedPost(path, action, params, signal) {
  if (!credentials) throw new ApiError("AuthFailure.InvalidAuthorization", "not signed in");
  const body = JSON.stringify(params ?? {});
  const timestamp = Math.floor((Date.now() + clockOffsetMs) / 1000);
  /** @type {Record<string, string>} */
  const headers = {
    "Content-Type": "application/json",
    "X-TC-Timestamp": String(timestamp),
    "X-TC-Version": VERSION,
    "X-TC-Region": "ap-guangzhou",
  };
  if (action) headers["X-TC-Action"] = action;
  // The action and the timestamp are signed: a captured request replayed with another action fails.
  /** @type {Record<string, string>} */
  const signed = { "X-TC-Timestamp": String(timestamp) };
  if (action) signed["X-TC-Action"] = action;
  headers.Authorization = await authorization({ secretId: credentials.secretId, secretKey: credentials.secretKey, timestamp, host: location.host, contentType: "application/json", payload: body, path, headers: signed });
  if (credentials.token) headers["X-TC-Token"] = credentials.token;
  return fetch(path, { method: "POST", headers, body, cache: "no-store", signal });
}

/**
 * One Cloud API action; its Response without RequestId, or an ApiError.
 * @param {string} action
 * @param {Record<string, unknown>} [params]
 * @returns {Promise<Record<string, any>>}
 */
export async function api(action, params = {}) {
  for (let attempt = 0; ; attempt++) {
    const response = await signedPost("/", action, params);
    const json = await response.json();
    const error = json?.Response?.Error;
    if (error?.Code === "AuthFailure.SignatureExpire" && attempt === 0) {
      await syncClock();
      continue;
    }
    if (error) throw new ApiError(error.Code, error.Message);
    return json.Response;
  }
}

// ---- sign-in ----

/** @param {Credentials | undefined} next */
function remember(next) {
  credentials = next;
  if (next) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next));
  else sessionStorage.removeItem(STORAGE_KEY);
}

/** @param {string} token */
async function redeemLink(token) {
  const response = await fetch("/console/session", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ Token: token }), cache: "no-store" });
  const json = await response.json();
  if (!response.ok) throw new ApiError(json?.Response?.Error?.Code ?? "AuthFailure", json?.Response?.Error?.Message ?? "the link was refused");
  remember({ secretId: json.SecretId, secretKey: json.SecretKey, token: json.Token });
}

/** Revokes a one-time link's temporary key on the platform, then forgets it here (the permanent pair stays valid). */
async function signOut() {
  let message = "";
  if (credentials?.token) {
    const response = await signedPost("/console/signout", undefined, {}).catch(() => undefined);
    if (!response?.ok) message = "the platform could not be told; this session's key lapses on its own within 12 hours";
  }
  remember(undefined);
  showSignIn(message);
}

/** @param {string} [message] */
function showSignIn(message = "") {
  stream?.abort();
  $("app").hidden = true;
  $("sign-in").hidden = false;
  $("sign-out").hidden = true;
  $("status").textContent = "not signed in";
  $("sign-in-error").textContent = message;
}

async function enterApp() {
  await loadProducts(); // the first signed call: it proves the key pair
  $("sign-in").hidden = true;
  $("app").hidden = false;
  $("sign-out").hidden = false;
  $("status").textContent = `signed in as ${credentials?.secretId}${credentials?.token ? " (one-time link session)" : ""}`;
  if (state.productId) await selectProduct(state.productId);
  openEventStream();
}

// ---- products ----

/** @param {Record<string, any>} product */
function registrationLabel(product) {
  return product.registerType === undefined ? "…" : `${["off", "pre-created only", "auto-create"][product.registerType]}${product.registerLimit ? `, limit ${product.registerLimit}` : ""}`;
}

async function loadProducts() {
  const { Products } = await api("GetStudioProductList", { Limit: 100 });
  state.products = Products;
  for (const product of state.products) {
    const dynamic = await api("DescribeProductDynamicRegister", { ProductId: product.ProductId });
    product.registerType = dynamic.RegisterType;
    product.registerLimit = dynamic.RegisterLimit;
    product.productSecret = dynamic.ProductSecret;
  }
  if (!state.productId || !state.products.some((product) => product.ProductId === state.productId)) state.productId = state.products[0]?.ProductId;
  renderProducts();
}

function renderProducts() {
  const body = $("products");
  body.replaceChildren(...state.products.map((product) => {
    const row = el("tr");
    row.dataset.product = product.ProductId;
    if (product.ProductId === state.productId) row.className = "selected";
    row.append(el("td", product.ProductName), el("td", product.ProductId, "mono"), el("td", product.EncryptionType === "1" ? "certificate" : "key"),
      el("td", String(product.DeviceCount)), el("td", registrationLabel(product)));
    row.addEventListener("click", () => selectProduct(product.ProductId).catch(report));
    return row;
  }));
}

/** @param {string} productId */
async function selectProduct(productId) {
  if (state.productId !== productId) {
    state.offset = 0;
    state.deviceName = undefined;
    $("detail").hidden = true;
  }
  state.productId = productId;
  renderProducts();
  const product = state.products.find((candidate) => candidate.ProductId === productId);
  $("registration").hidden = false;
  $("registration-product").textContent = product?.ProductName ?? productId;
  /** @type {HTMLSelectElement} */ ($("register-type")).value = String(product?.registerType ?? 0);
  /** @type {HTMLInputElement} */ ($("register-limit")).value = String(product?.registerLimit ?? 0);
  showProductSecret(product);
  $("devices-product").textContent = product?.ProductName ?? productId;
  // ota.js follows the selected product.
  document.dispatchEvent(new CustomEvent("console:product", { detail: { productId, productName: product?.ProductName } }));
  await loadDevices();
}

/** The ProductSecret exists while dynamic registration is on; shown only on request. */
function showProductSecret(/** @type {Record<string, any> | undefined} */ product) {
  const line = $("product-secret");
  line.hidden = !product?.productSecret;
  $("product-secret-value").textContent = "••••••••";
  $("product-secret-toggle").textContent = "show";
}

// ---- devices ----

/** @param {Record<string, any>} device */
function deviceState(device) {
  if (device.EnableState === 0) return "disabled";
  return device.MockState ?? (device.FirstOnlineTime ? "activated" : "created");
}

async function loadDevices() {
  if (!state.productId) return;
  const { Devices, Total } = await api("GetDeviceList", { ProductId: state.productId, Offset: state.offset, Limit: PAGE_SIZE });
  state.total = Total;
  $("devices-total").textContent = `${Total}`;
  $("page-label").textContent = Total === 0 ? "no devices" : `${state.offset + 1}-${Math.min(Total, state.offset + PAGE_SIZE)} of ${Total}`;
  /** @type {HTMLButtonElement} */ ($("page-prev")).disabled = state.offset === 0;
  /** @type {HTMLButtonElement} */ ($("page-next")).disabled = state.offset + PAGE_SIZE >= Total;
  $("devices").replaceChildren(...Devices.map(deviceRow));
  if (state.deviceName && Devices.some((/** @type {any} */ device) => device.DeviceName === state.deviceName)) await loadDetail();
}

/** @param {Record<string, any>} device */
function deviceRow(device) {
  const row = el("tr");
  const online = device.Status === 1;
  const status = deviceState(device);
  row.dataset.device = device.DeviceName;
  row.dataset.online = String(online);
  row.dataset.state = status;
  if (device.DeviceName === state.deviceName) row.className = "selected";
  const seen = Math.max((device.LoginTime ?? 0) * 1000, state.lastSeen.get(device.ProductId + device.DeviceName) ?? 0);
  const actions = el("td", undefined, "actions");
  const details = el("button", "details");
  details.addEventListener("click", () => { state.deviceName = device.DeviceName; loadDetail().then(loadDevices).catch(report); });
  const toggle = el("button", device.EnableState === 0 ? "enable" : "disable");
  toggle.addEventListener("click", () => api("UpdateDevicesEnableState", {
    DevicesItems: [{ ProductId: device.ProductId, DeviceName: device.DeviceName }], Status: device.EnableState === 0 ? 1 : 0,
  }).then(loadDevices).catch(report));
  const remove = el("button", "delete", "danger");
  remove.addEventListener("click", () => {
    if (!confirm(`Delete ${device.DeviceName}? Its secret is gone with it.`)) return;
    api("DeleteDevice", { ProductId: device.ProductId, DeviceName: device.DeviceName }).then(() => {
      if (state.deviceName === device.DeviceName) { state.deviceName = undefined; $("detail").hidden = true; }
      return Promise.all([loadDevices(), loadProducts()]);
    }).catch(report);
  });
  actions.append(details, toggle, remove);
  row.append(el("td", device.DeviceName, "mono"), el("td", status, `state ${status}`), el("td", online ? "online" : "offline", online ? "online" : "offline"),
    el("td", when(seen)), actions);
  return row;
}

async function loadDetail() {
  if (!state.productId || !state.deviceName) return;
  const { Device } = await api("DescribeDevice", { ProductId: state.productId, DeviceName: state.deviceName });
  $("detail").hidden = false;
  $("detail-name").textContent = `${Device.ProductId}/${Device.DeviceName}`;
  const fields = $("detail-fields");
  fields.replaceChildren();
  /** @param {string} name @param {string | Node} value */
  const field = (name, value) => {
    const cell = el("dd");
    cell.append(value);
    fields.append(el("dt", name), cell);
  };
  field("state", deviceState(Device));
  field("online", Device.Status === 1 ? "online" : "offline");
  field("first online", Device.FirstOnlineTime ? new Date(Device.FirstOnlineTime * 1000).toLocaleString() : "never");
  field("last login", Device.LoginTime ? new Date(Device.LoginTime * 1000).toLocaleString() : "never");
  if (Device.DevicePsk) {
    const secret = el("span", "••••••••", "mono secret");
    const reveal = el("button", "show");
    reveal.addEventListener("click", () => { secret.textContent = secret.textContent === Device.DevicePsk ? "••••••••" : Device.DevicePsk; });
    const holder = el("span");
    holder.append(secret, " ", reveal);
    field("PSK", holder);
  }
  if (Device.DeviceCert) field("certificate", `${Device.DeviceCert.length} bytes of PEM (private key not kept)`);
  await loadReported();
}

async function loadReported() {
  if (!state.productId || !state.deviceName) return;
  const body = $("reported");
  try {
    const { Data } = await api("DescribeDeviceData", { ProductId: state.productId, DeviceName: state.deviceName });
    const values = JSON.parse(Data || "{}");
    body.replaceChildren(...Object.entries(values).map(([name, entry]) => {
      const row = el("tr");
      row.dataset.property = name;
      const value = entry && typeof entry === "object" && "Value" in entry ? entry.Value : entry;
      const time = entry && typeof entry === "object" && "LastUpdate" in entry ? entry.LastUpdate : undefined;
      row.append(el("td", name, "mono"), el("td", JSON.stringify(value)), el("td", when(typeof time === "number" ? time : undefined)));
      return row;
    }));
    if (body.childElementCount === 0) body.append(messageRow("nothing reported yet"));
    // template.js labels the rows and builds the control form from the product's data template.
    document.dispatchEvent(new CustomEvent("console:reported", { detail: { productId: state.productId, deviceName: state.deviceName } }));
  } catch (error) {
    body.replaceChildren(messageRow(error instanceof Error ? error.message : String(error)));
  }
}

/** @param {string} text */
function messageRow(text) {
  const row = el("tr");
  const cell = /** @type {HTMLTableCellElement} */ (el("td", text, "hint"));
  cell.colSpan = 3;
  row.append(cell);
  return row;
}

// ---- event stream ----

let refreshTimer = 0;
let refreshDetail = false;
/** Refreshes the device page and products at most once a second while events arrive. */
function scheduleRefresh(detail = false) {
  refreshDetail ||= detail;
  if (refreshTimer) return;
  refreshTimer = window.setTimeout(() => {
    refreshTimer = 0;
    const withDetail = refreshDetail;
    refreshDetail = false;
    Promise.all([loadDevices(), loadProducts()]).then(() => (withDetail ? loadReported() : undefined)).catch(report);
  }, 1000);
}

/** @param {ConsoleEvent} event */
function describeEvent(event) {
  const who = event.deviceName ? `${event.productId}/${event.deviceName}` : event.clientId ?? "";
  return [who, event.ok ? event.detail ?? "" : event.reason ?? "refused"].filter(Boolean).join(" — ");
}

/** @param {ConsoleEvent} event */
function eventRow(event) {
  const row = el("li", undefined, event.ok ? "" : "refused");
  row.dataset.kind = event.kind;
  if (event.clientToken) row.dataset.token = event.clientToken;
  row.append(el("time", new Date(event.time).toLocaleTimeString([], { hour12: false })), el("span", event.kind, `kind ${event.kind}`), el("span", describeEvent(event)));
  return row;
}

/** @param {ConsoleEvent[]} events */
function showEvents(events) {
  const list = $("events");
  for (const event of events) {
    list.prepend(eventRow(event));
    const key = event.productId && event.deviceName ? event.productId + event.deviceName : event.clientId;
    if (key && event.kind !== "management") state.lastSeen.set(key, event.time);
    const mine = state.productId !== undefined && (event.productId === state.productId || (event.clientId ?? "").startsWith(state.productId));
    const selected = mine && event.deviceName === state.deviceName;
    if (event.kind === "control_reply" && event.clientToken && state.sentControls.has(event.clientToken)) {
      const result = $("control-result");
      result.textContent = event.ok ? `reply to ${event.clientToken}: ${event.detail ?? "received"}` : `reply to ${event.clientToken} not recorded: ${event.reason}`;
      result.dataset.replied = event.clientToken;
    }
    if (mine && ["register", "login", "logout", "management"].includes(event.kind)) scheduleRefresh();
    if (selected && event.kind === "report") scheduleRefresh(true);
  }
  while (list.childElementCount > EVENT_ROWS) list.lastElementChild?.remove();
}

/** @type {OnlineChart | undefined} */
let chart;

/** @param {number} online @param {number} time */
function showOnline(online, time) {
  $("online-count").textContent = String(online);
  chart?.add({ time, online });
}

/** Reads the signed event stream (server-sent events) with fetch; reconnects after a drop. */
function openEventStream() {
  stream?.abort();
  const controller = new AbortController();
  stream = controller;
  (async () => {
    let delay = 1000;
    while (!controller.signal.aborted) {
      try {
        const response = await signedPost("/console/events", undefined, {}, controller.signal);
        if (response.status === 401) {
          const json = await response.json();
          if (json?.Response?.Error?.Code === "AuthFailure.SignatureExpire") { await syncClock(); continue; }
          showSignIn(`signed out: ${json?.Response?.Error?.Message ?? "the key was refused"}`);
          return;
        }
        if (!response.ok || !response.body) throw new Error(`event stream answered ${response.status}`);
        delay = 1000;
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf("\n\n")) !== -1) {
            const message = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const type = /^event: (.*)$/m.exec(message)?.[1];
            const data = /^data: (.*)$/m.exec(message)?.[1];
            if (!type || data === undefined) continue;
            const payload = JSON.parse(data);
            if (type === "hello") {
              $("events").replaceChildren();
              showEvents(payload.events);
              chart?.reset(payload.samples);
              const last = payload.samples.at(-1);
              if (last) $("online-count").textContent = String(last.online);
            } else if (type === "batch") {
              showEvents(payload.events);
              showOnline(payload.online, payload.time);
              $("events-skipped").textContent = payload.skipped ? `(${payload.skipped} more in the last moment not shown)` : "";
            }
          }
        }
      } catch (error) {
        if (controller.signal.aborted) return;
        showError(`event stream: ${error instanceof Error ? error.message : String(error)}; reconnecting`);
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 15000);
      showError("");
    }
  })();
}

// ---- forms ----

/** @param {unknown} error */
function report(error) {
  if (error instanceof ApiError && error.code.startsWith("AuthFailure")) {
    remember(undefined);
    showSignIn(error.message);
    return;
  }
  showError(error instanceof Error ? error.message : String(error));
}

/**
 * @param {string} id
 * @param {(form: HTMLFormElement) => Promise<void>} action
 */
function onSubmit(id, action) {
  const form = /** @type {HTMLFormElement} */ ($(id));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    showError("");
    action(form).catch(report);
  });
}

function wireForms() {
  onSubmit("sign-in-form", async (form) => {
    const data = new FormData(form);
    remember({ secretId: String(data.get("secretId")).trim(), secretKey: String(data.get("secretKey")).trim() });
    try {
      await enterApp();
      form.reset();
    } catch (error) {
      remember(undefined);
      showSignIn(error instanceof Error ? error.message : String(error));
    }
  });
  onSubmit("new-product", async (form) => {
    const data = new FormData(form);
    const { Product } = await api("CreateStudioProduct", {
      ProductName: String(data.get("name")), CategoryId: 1, ProductType: 0, EncryptionType: String(data.get("encryption")),
      NetType: "wifi", DataProtocol: 1, ProductDesc: "", ProjectId: "default",
    });
    form.reset();
    state.productId = Product.ProductId;
    await loadProducts();
    await selectProduct(Product.ProductId);
  });
  onSubmit("registration-form", async () => {
    if (!state.productId) return;
    await api("ModifyProductDynamicRegister", {
      ProductId: state.productId,
      RegisterType: Number(/** @type {HTMLSelectElement} */ ($("register-type")).value),
      RegisterLimit: Number(/** @type {HTMLInputElement} */ ($("register-limit")).value),
    });
    await loadProducts();
    showProductSecret(state.products.find((candidate) => candidate.ProductId === state.productId));
  });
  onSubmit("new-device", async (form) => {
    if (!state.productId) return;
    const name = String(new FormData(form).get("name"));
    const { Data } = await api("CreateDevice", { ProductId: state.productId, DeviceName: name });
    form.reset();
    const notice = $("created-secret");
    notice.hidden = false;
    notice.textContent = Data.DevicePsk
      ? `${name} created. Its PSK is shown in its details; a one-type-one-secret device gets it by registering.`
      : `${name} created with a certificate; its private key was returned once to this call and is not kept for display.`;
    await Promise.all([loadDevices(), loadProducts()]);
  });
  onSubmit("control-form", async () => {
    if (!state.productId || !state.deviceName) return;
    const text = /** @type {HTMLTextAreaElement} */ ($("control-params")).value;
    try {
      JSON.parse(text);
    } catch {
      throw new Error("the control parameters must be JSON, e.g. {\"power_switch\": 1}");
    }
    const result = $("control-result");
    delete result.dataset.replied;
    const answer = await api("ControlDeviceData", { ProductId: state.productId, DeviceName: state.deviceName, Data: text });
    const sent = JSON.parse(answer.Data || "{}");
    const token = sent.clientToken ?? "";
    if (token) state.sentControls.add(token);
    result.dataset.token = token;
    result.textContent = `sent ${token}; waiting for the device's reply`;
  });
  $("product-secret-toggle").addEventListener("click", () => {
    const product = state.products.find((candidate) => candidate.ProductId === state.productId);
    const value = $("product-secret-value");
    const hidden = value.textContent !== product?.productSecret;
    value.textContent = hidden ? product?.productSecret ?? "" : "••••••••";
    $("product-secret-toggle").textContent = hidden ? "hide" : "show";
  });
  $("page-prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE_SIZE); loadDevices().catch(report); });
  $("page-next").addEventListener("click", () => { state.offset += PAGE_SIZE; loadDevices().catch(report); });
  $("sign-out").addEventListener("click", () => { signOut().catch(report); });
}

async function start() {
  wireForms();
  chart = new OnlineChart(/** @type {SVGSVGElement} */ (/** @type {unknown} */ ($("online-chart"))));
  chart.render();
  if (!webCryptoAvailable()) {
    showSignIn("This page needs WebCrypto, which browsers give only to secure pages: open it over https, or over http on 127.0.0.1 or localhost.");
    return;
  }
  await syncClock().catch(() => undefined);
  const link = /^#login=([A-Za-z0-9_-]+)$/.exec(location.hash);
  if (link) {
    history.replaceState(null, "", location.pathname); // the token is spent: keep it out of the history
    try {
      await redeemLink(link[1]);
    } catch (error) {
      showSignIn(error instanceof Error ? error.message : String(error));
      return;
    }
  } else {
    const stored = sessionStorage.getItem(STORAGE_KEY);
    if (stored) credentials = JSON.parse(stored);
  }
  if (!credentials) {
    showSignIn();
    return;
  }
  try {
    await enterApp();
  } catch (error) {
    remember(undefined);
    showSignIn(error instanceof Error ? error.message : String(error));
  }
}

// Relative times age: refresh them now and then.
setInterval(() => { if (!$("app").hidden && credentials) loadDevices().catch(() => undefined); }, 15000);
start().catch(report);
