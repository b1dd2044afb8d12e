// @ts-check
/**
 * The console's data template view (issue 24): a device's reported properties named and united
 * from its product's template (DescribeModelDefinition), a control form built from it (a switch
 * for bool, a slider for a range, a select for an enum, a text field for a string) sent with
 * ControlDeviceData, and a template upload (ModifyModelDefinition). Everything shown is written
 * with textContent.
 */
import { $, api, el } from "./app.js";

/**
 * @typedef {{ type: string, min?: string | number, max?: string | number, step?: string | number, unit?: string, mapping?: Record<string, string> }} Define
 * @typedef {{ id: string, name?: string, mode?: string, define: Define }} TemplateProperty
 * @typedef {{ properties?: TemplateProperty[], events?: unknown[], actions?: unknown[] }} Template
 */

/** @type {Map<string, { updated: number, template: Template, text: string }>} templates by ProductId, as last described */
const templates = new Map();
/** What the control form was built for: rebuilding it on every refresh would drop what is being typed. */
let builtFor = "";

/** @param {string} productId */
async function describe(productId) {
  const { Model } = await api("DescribeModelDefinition", { ProductId: productId });
  /** @type {Template} */
  let template = {};
  try {
    template = JSON.parse(Model?.ModelDefine || "{}");
  } catch {
    template = {};
  }
  const entry = { updated: Number(Model?.UpdateTime ?? 0), template, text: JSON.stringify(template, null, 2) };
  templates.set(productId, entry);
  return entry;
}

/** @param {Define} define @param {unknown} value */
function shown(define, value) {
  const unit = define.unit ? ` ${define.unit}` : "";
  if ((define.type === "bool" || define.type === "enum") && define.mapping && typeof value !== "object") {
    const label = define.mapping[String(Number(value))];
    return label === undefined ? JSON.stringify(value) : `${label} (${JSON.stringify(value)})`;
  }
  if (define.type === "timestamp" && typeof value === "number") return new Date(value < 1e11 ? value * 1000 : value).toLocaleString();
  return `${JSON.stringify(value)}${typeof value === "number" ? unit : ""}`;
}

/** Names and units on the reported rows app.js drew. @param {TemplateProperty[]} properties */
function labelRows(properties) {
  for (const row of /** @type {NodeListOf<HTMLTableRowElement>} */ (document.querySelectorAll("#reported tr[data-property]"))) {
    const property = properties.find((candidate) => candidate.id === row.dataset.property);
    if (!property || row.dataset.labelled === "true") continue;
    const [nameCell, valueCell] = row.cells;
    let value;
    try {
      value = JSON.parse(valueCell.textContent ?? "null");
    } catch {
      continue;
    }
    nameCell.replaceChildren(el("span", property.name || property.id), " ", el("span", property.id, "mono hint"));
    valueCell.textContent = shown(property.define, value);
    row.dataset.labelled = "true";
  }
}

/** One input for a read-write property, or undefined for types the JSON box covers (struct, array, timestamp). @param {TemplateProperty} property */
function inputFor(property) {
  const { define } = property;
  const number = (/** @type {unknown} */ text, /** @type {number} */ fallback) => (text === undefined || text === "" ? fallback : Number(text));
  if (define.type === "bool") {
    const input = /** @type {HTMLInputElement} */ (el("input"));
    input.type = "checkbox";
    input.setAttribute("role", "switch");
    return { input, read: () => (input.checked ? 1 : 0), set: (/** @type {unknown} */ v) => { input.checked = v === 1 || v === true; } };
  }
  if (define.type === "enum" && define.mapping) {
    const select = /** @type {HTMLSelectElement} */ (el("select"));
    for (const [value, label] of Object.entries(define.mapping)) {
      const option = /** @type {HTMLOptionElement} */ (el("option", `${label} (${value})`));
      option.value = value;
      select.append(option);
    }
    return { input: select, read: () => Number(select.value), set: (/** @type {unknown} */ v) => { select.value = String(v); } };
  }
  if (define.type === "int" || define.type === "float") {
    const input = /** @type {HTMLInputElement} */ (el("input"));
    input.type = "range";
    input.min = String(number(define.min, 0));
    input.max = String(number(define.max, 100));
    input.step = String(number(define.step, define.type === "int" ? 1 : 0.1) || "any");
    return { input, read: () => Number(input.value), set: (/** @type {unknown} */ v) => { input.value = String(v); } };
  }
  if (define.type === "string") {
    const input = /** @type {HTMLInputElement} */ (el("input"));
    input.maxLength = number(define.max, 2048);
    return { input, read: () => input.value, set: (/** @type {unknown} */ v) => { input.value = String(v); } };
  }
  return undefined;
}

/** The values app.js shows as reported, by property (read before the rows are labelled). */
function reportedValues() {
  /** @type {Map<string, unknown>} */
  const values = new Map();
  for (const row of /** @type {NodeListOf<HTMLTableRowElement>} */ (document.querySelectorAll("#reported tr[data-property]"))) {
    if (row.dataset.labelled === "true") continue;
    try {
      values.set(row.dataset.property ?? "", JSON.parse(row.cells[1].textContent ?? "null"));
    } catch {
      // not a value app.js wrote: left out
    }
  }
  return values;
}

/** @param {string} productId @param {string} deviceName @param {TemplateProperty[]} properties @param {Map<string, unknown>} current */
function buildForm(productId, deviceName, properties, current) {
  const form = $("template-control");
  form.replaceChildren();
  /** @type {Map<string, () => unknown>} the inputs the user changed, by property */
  const changed = new Map();
  for (const property of properties.filter((candidate) => (candidate.mode ?? "rw") === "rw")) {
    const made = inputFor(property);
    if (!made) continue;
    const { input, read, set } = made;
    if (current.has(property.id)) set(current.get(property.id));
    input.name = property.id;
    input.dataset.type = property.define.type;
    const value = el("output", "", "mono");
    const show = () => { value.textContent = shown(property.define, read()); };
    input.addEventListener("input", () => { changed.set(property.id, read); show(); });
    show();
    const label = el("label");
    label.append(el("span", property.name || property.id), " ", input, " ", value);
    form.append(label);
  }
  const send = /** @type {HTMLButtonElement} */ (el("button", "Send control"));
  send.type = "submit";
  form.append(send);
  form.onsubmit = (event) => {
    event.preventDefault();
    const result = $("template-result");
    if (changed.size === 0) {
      result.textContent = "change a value first";
      return;
    }
    const data = Object.fromEntries([...changed].map(([id, read]) => [id, read()]));
    api("ControlDeviceData", { ProductId: productId, DeviceName: deviceName, Data: JSON.stringify(data) })
      .then((answer) => {
        const sent = JSON.parse(answer.Data || "{}");
        const delivered = JSON.parse(answer.Result || "{}").Sent === 1;
        result.textContent = `${delivered ? "sent" : "kept for the device"} ${sent.clientToken ?? ""}: ${JSON.stringify(data)}`;
        changed.clear();
      })
      .catch((/** @type {unknown} */ error) => { result.textContent = error instanceof Error ? error.message : String(error); });
  };
}

/** @param {{ productId?: string, deviceName?: string }} selected */
async function render(selected) {
  const { productId, deviceName } = selected;
  if (!productId || !deviceName) return;
  const entry = templates.get(productId) ?? await describe(productId);
  const properties = entry.template.properties ?? [];
  $("template").hidden = false;
  $("template-summary").textContent = properties.length === 0
    ? "none: the product accepts any property"
    : `${properties.length} properties, ${entry.template.events?.length ?? 0} events, ${entry.template.actions?.length ?? 0} actions`;
  const current = reportedValues();
  labelRows(properties);
  const key = `${productId}/${deviceName}@${entry.updated}`;
  if (key === builtFor) return;
  builtFor = key;
  $("template-result").textContent = "";
  $("template-json").textContent = entry.text;
  buildForm(productId, deviceName, properties, current);
}

document.addEventListener("console:reported", (event) => {
  const detail = /** @type {CustomEvent<{ productId?: string, deviceName?: string }>} */ (event).detail;
  render(detail).catch((/** @type {unknown} */ error) => { $("template-summary").textContent = error instanceof Error ? error.message : String(error); });
});

$("template-upload").addEventListener("submit", (event) => {
  event.preventDefault();
  const file = /** @type {HTMLInputElement} */ ($("template-file")).files?.[0];
  const productId = builtFor.split("/")[0];
  const result = $("template-result");
  if (!file || !productId) {
    result.textContent = "choose a template file first";
    return;
  }
  file.text()
    .then((text) => api("ModifyModelDefinition", { ProductId: productId, ModelSchema: text }))
    .then(() => describe(productId))
    .then(() => {
      result.textContent = "template uploaded";
      const deviceName = builtFor.slice(productId.length + 1).replace(/@\d+$/, "");
      return render({ productId, deviceName });
    })
    // A refused template: Tencent's code and the field; the product keeps its previous template.
    .catch((/** @type {unknown} */ error) => { result.textContent = error instanceof Error ? error.message : String(error); });
});
