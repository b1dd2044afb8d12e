/**
 * A product's data template (thing model) in Tencent's JSON, the format the console exports and
 * the C SDK carries in `tools/example_config.json` (docs/PROTOCOL.md §13): parsed into typed
 * definitions, or refused with a TemplateError naming the field and carrying the Cloud API code
 * Tencent publishes for that fault.
 */
import { isObject, type Json } from "../json-object";

/** Template faults, as IoT Explorer's Cloud API names them (tencentcloud-sdk-go iotexplorer/v20190423/errors.go). */
export type TemplateErrorCode =
  | "InvalidParameterValue.ModelDefineInvalid"
  | "InvalidParameterValue.ModelDefineNil"
  | "InvalidParameterValue.ModelDefineErrorModel"
  | "InvalidParameterValue.ModelDefineErrorType"
  | "InvalidParameterValue.ModelDefineDupID"
  | "InvalidParameterValue.ModelDefineEventParamsDupID"
  | "InvalidParameterValue.ModelDefineEventParamsExceedLimit"
  | "InvalidParameterValue.ModelDefineEventPropNameError"
  | "InvalidParameterValue.ModelDefineEventTypeError"
  | "InvalidParameterValue.ModelDefinePropBoolMappingError"
  | "InvalidParameterValue.ModelDefinePropEnumMappingError"
  | "InvalidParameterValue.ModelDefinePropRangeError"
  | "InvalidParameterValue.ModelDefinePropRangeOverflow"
  | "LimitExceeded.ThingModelExceedLimit";

export class TemplateError extends Error {
  constructor(readonly code: TemplateErrorCode, readonly field: string, detail: string) {
    super(`${field}: ${detail}`);
    this.name = "TemplateError";
  }
}

/**
 * Size limits. Tencent publishes no numbers for these in the sources the mock could cite
 * (its Cloud API only names the faults: LimitExceeded.ThingModelExceedLimit,
 * ModelDefineEventParamsExceedLimit, ModelDefinePropRangeOverflow): the values are the mock's own,
 * generous enough for any console export (docs/PROTOCOL.md §13).
 */
export const TEMPLATE_LIMITS = {
  /** The template's JSON text. */
  bytes: 64 * 1024,
  properties: 256,
  events: 64,
  actions: 64,
  /** Params of an event, inputs or outputs of an action, members of a struct. */
  params: 32,
  enumValues: 128,
  /** Characters of a string value. */
  stringMax: 2048,
  arrayItems: 512,
  /** Characters of a name, a description, a unit or an enum/bool label. */
  text: 256,
} as const;

/** Identifiers: a letter or underscore, then letters, digits, underscores; at most 32 (mock's own rule). */
export const TEMPLATE_ID = /^[A-Za-z_][A-Za-z0-9_]{0,31}$/;

/** int32: the C SDK's TYPE_DEF_TEMPLATE_INT (qcloud_iot_export_data_template.h). */
const INT_MIN = -2147483648;
const INT_MAX = 2147483647;
/** float: the C SDK's TYPE_DEF_TEMPLATE_FLOAT is a C float. */
const FLOAT_LIMIT = 3.4e38;

export type ScalarType = "bool" | "int" | "float" | "enum" | "string" | "timestamp";
export type ValueType = ScalarType | "struct" | "array";

export type DataType =
  | { type: "bool"; mapping: { "0": string; "1": string } }
  | { type: "int" | "float"; min: number; max: number; start: number; step?: number; unit: string }
  | { type: "enum"; mapping: ReadonlyMap<number, string> }
  | { type: "string"; min: number; max: number }
  | { type: "timestamp" }
  | { type: "struct"; specs: readonly Field[] }
  | { type: "array"; item: DataType };

/** A property, an event param, an action input or output, or a struct member. */
export interface Field {
  id: string;
  name: string;
  desc: string;
  define: DataType;
}

export type PropertyMode = "r" | "rw";

export interface Property extends Field {
  mode: PropertyMode;
  required: boolean;
}

export type EventType = "info" | "alert" | "fault";

export interface TemplateEvent {
  id: string;
  name: string;
  desc: string;
  type: EventType;
  params: readonly Field[];
}

export interface TemplateAction {
  id: string;
  name: string;
  desc: string;
  input: readonly Field[];
  output: readonly Field[];
}

export interface DataTemplate {
  version: string;
  properties: readonly Property[];
  events: readonly TemplateEvent[];
  actions: readonly TemplateAction[];
  /** Lookups by id. */
  property: ReadonlyMap<string, Property>;
  event: ReadonlyMap<string, TemplateEvent>;
  action: ReadonlyMap<string, TemplateAction>;
}

function fail(code: TemplateErrorCode, field: string, detail: string): never {
  throw new TemplateError(code, field, detail);
}

function text(value: unknown, field: string, required = false): string {
  if (value === undefined || value === null) {
    if (required) fail("InvalidParameterValue.ModelDefineEventPropNameError", field, "is missing");
    return "";
  }
  if (typeof value !== "string") fail("InvalidParameterValue.ModelDefineErrorModel", field, "must be a string");
  if (value.length > TEMPLATE_LIMITS.text) fail("LimitExceeded.ThingModelExceedLimit", field, `is longer than ${TEMPLATE_LIMITS.text} characters`);
  return value;
}

function identifier(value: unknown, field: string): string {
  if (typeof value !== "string" || !TEMPLATE_ID.test(value)) {
    fail("InvalidParameterValue.ModelDefineEventPropNameError", field, "must be 1-32 letters, digits or _, not starting with a digit");
  }
  return value;
}

/** Tencent writes numbers as strings ("0", "24.0"); numbers are taken too. */
function number(value: unknown, field: string, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  const parsed = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof parsed !== "number" || !Number.isFinite(parsed)) fail("InvalidParameterValue.ModelDefinePropRangeError", field, "must be a number");
  return parsed;
}

function list(value: unknown, field: string, max: number, code: TemplateErrorCode = "LimitExceeded.ThingModelExceedLimit"): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail("InvalidParameterValue.ModelDefineErrorModel", field, "must be an array");
  if (value.length > max) fail(code, field, `has ${value.length} entries; at most ${max} are allowed`);
  return value;
}

function parseNumeric(type: "int" | "float", define: Json, field: string): DataType {
  const min = number(define.min, `${field}.min`);
  const max = number(define.max, `${field}.max`);
  const [low, high] = type === "int" ? [INT_MIN, INT_MAX] : [-FLOAT_LIMIT, FLOAT_LIMIT];
  for (const [name, value] of [["min", min], ["max", max]] as const) {
    if (type === "int" && !Number.isInteger(value)) fail("InvalidParameterValue.ModelDefinePropRangeError", `${field}.${name}`, "must be a whole number");
    if (value < low || value > high) fail("InvalidParameterValue.ModelDefinePropRangeOverflow", `${field}.${name}`, `must be within ${low} and ${high}`);
  }
  if (min > max) fail("InvalidParameterValue.ModelDefinePropRangeError", `${field}.min`, `${min} is greater than max ${max}`);
  // The C SDK's codegen refuses a start outside min..max (tools/codegen.py, iot_field).
  const start = number(define.start, `${field}.start`, min);
  if (start < min || start > max) fail("InvalidParameterValue.ModelDefinePropRangeError", `${field}.start`, `${start} is outside ${min}..${max}`);
  const step = define.step === undefined ? undefined : number(define.step, `${field}.step`);
  if (step !== undefined && step < 0) fail("InvalidParameterValue.ModelDefinePropRangeError", `${field}.step`, "must not be negative");
  return { type, min, max, start, ...(step !== undefined ? { step } : {}), unit: text(define.unit, `${field}.unit`) };
}

function parseMapping(value: unknown, field: string, code: TemplateErrorCode): Array<[number, string]> {
  if (!isObject(value) || Object.keys(value).length === 0) fail(code, field, "must map at least one value to its label");
  const entries = Object.entries(value);
  if (entries.length > TEMPLATE_LIMITS.enumValues) fail("LimitExceeded.ThingModelExceedLimit", field, `has ${entries.length} values; at most ${TEMPLATE_LIMITS.enumValues} are allowed`);
  return entries.map(([key, label]) => {
    if (!/^-?\d{1,10}$/.test(key) || !Number.isSafeInteger(Number(key))) fail(code, `${field}.${key}`, "values must be whole numbers");
    return [Number(key), text(label, `${field}.${key}`)];
  });
}

function parseDataType(define: unknown, field: string, depth: number): DataType {
  if (!isObject(define)) fail("InvalidParameterValue.ModelDefineErrorModel", field, "must be an object with a type");
  const type = define.type;
  switch (type) {
    case "bool": {
      // A bool's mapping names its two states; the console always writes both, the SDK's example too.
      const mapping = define.mapping === undefined ? [] : parseMapping(define.mapping, `${field}.mapping`, "InvalidParameterValue.ModelDefinePropBoolMappingError");
      if (mapping.some(([key]) => key !== 0 && key !== 1)) fail("InvalidParameterValue.ModelDefinePropBoolMappingError", `${field}.mapping`, "a bool maps only 0 and 1");
      const labels = new Map(mapping);
      return { type, mapping: { "0": labels.get(0) ?? "0", "1": labels.get(1) ?? "1" } };
    }
    case "enum": {
      const mapping = parseMapping(define.mapping, `${field}.mapping`, "InvalidParameterValue.ModelDefinePropEnumMappingError");
      return { type, mapping: new Map(mapping) };
    }
    case "int":
    case "float":
      return parseNumeric(type, define, field);
    case "string": {
      const min = number(define.min, `${field}.min`, 0);
      const max = number(define.max, `${field}.max`, TEMPLATE_LIMITS.stringMax);
      if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0) fail("InvalidParameterValue.ModelDefinePropRangeError", `${field}.min`, "lengths must be whole numbers of at least 0");
      if (max > TEMPLATE_LIMITS.stringMax) fail("InvalidParameterValue.ModelDefinePropRangeOverflow", `${field}.max`, `a string holds at most ${TEMPLATE_LIMITS.stringMax} characters`);
      if (min > max) fail("InvalidParameterValue.ModelDefinePropRangeError", `${field}.min`, `${min} is greater than max ${max}`);
      return { type, min, max };
    }
    case "timestamp":
      return { type };
    case "struct": {
      // Struct members are {id, name, dataType} (example_config.json "position"); no struct inside a struct.
      if (depth > 0) fail("InvalidParameterValue.ModelDefineErrorType", `${field}.type`, "a struct cannot hold another struct");
      const specs = list(define.specs, `${field}.specs`, TEMPLATE_LIMITS.params);
      if (specs.length === 0) fail("InvalidParameterValue.ModelDefineErrorModel", `${field}.specs`, "a struct needs at least one member");
      return { type, specs: parseFields(specs, `${field}.specs`, depth + 1, "dataType", "InvalidParameterValue.ModelDefineDupID") };
    }
    case "array": {
      // Arrays carry their element type in arrayInfo (the console's export); elements are scalars or structs.
      if (depth > 0) fail("InvalidParameterValue.ModelDefineErrorType", `${field}.type`, "an array cannot be inside a struct or an array");
      const item = parseDataType(define.arrayInfo, `${field}.arrayInfo`, depth + 1);
      return { type, item };
    }
    default:
      return fail("InvalidParameterValue.ModelDefineErrorType", `${field}.type`,
        `${JSON.stringify(type)?.slice(0, 40) ?? "nothing"} is not one of bool, int, float, enum, string, timestamp, struct, array`);
  }
}

function parseField(entry: unknown, at: string, depth: number, defineKey: "define" | "dataType"): Field {
  if (!isObject(entry)) fail("InvalidParameterValue.ModelDefineErrorModel", at, "must be an object");
  const id = identifier(entry.id, `${at}.id`);
  return { id, name: text(entry.name, `${at}.name`), desc: text(entry.desc, `${at}.desc`), define: parseDataType(entry[defineKey], `${at}.${defineKey}`, depth) };
}

function parseFields(entries: unknown[], field: string, depth: number, defineKey: "define" | "dataType", dupCode: TemplateErrorCode): Field[] {
  const seen = new Set<string>();
  return entries.map((entry, index) => {
    const parsed = parseField(entry, `${field}[${index}]`, depth, defineKey);
    if (seen.has(parsed.id)) fail(dupCode, `${field}[${index}].id`, `${parsed.id} is defined twice`);
    seen.add(parsed.id);
    return parsed;
  });
}

/** Parses a template object; throws TemplateError on the first fault. */
export function parseTemplate(value: unknown): DataTemplate {
  if (value === undefined || value === null) fail("InvalidParameterValue.ModelDefineNil", "template", "is empty");
  if (!isObject(value)) fail("InvalidParameterValue.ModelDefineInvalid", "template", "must be a JSON object");
  const version = value.version === undefined ? "1.0" : text(value.version, "version");

  const propertyIds = new Set<string>();
  const properties = list(value.properties, "properties", TEMPLATE_LIMITS.properties).map((entry, index): Property => {
    const at = `properties[${index}]`;
    const field = parseField(entry, at, 0, "define");
    if (propertyIds.has(field.id)) fail("InvalidParameterValue.ModelDefineDupID", `${at}.id`, `${field.id} is defined twice`);
    propertyIds.add(field.id);
    const raw = entry as Json;
    const mode = raw.mode === undefined ? "rw" : raw.mode;
    if (mode !== "r" && mode !== "rw") fail("InvalidParameterValue.ModelDefineErrorModel", `${at}.mode`, "must be r or rw");
    if (raw.required !== undefined && typeof raw.required !== "boolean") fail("InvalidParameterValue.ModelDefineErrorModel", `${at}.required`, "must be true or false");
    return { ...field, mode, required: raw.required === true };
  });

  const eventIds = new Set<string>();
  const events = list(value.events, "events", TEMPLATE_LIMITS.events).map((entry, index): TemplateEvent => {
    const at = `events[${index}]`;
    if (!isObject(entry)) fail("InvalidParameterValue.ModelDefineErrorModel", at, "must be an object");
    const id = identifier(entry.id, `${at}.id`);
    if (eventIds.has(id)) fail("InvalidParameterValue.ModelDefineDupID", `${at}.id`, `${id} is defined twice`);
    eventIds.add(id);
    const type = entry.type;
    if (type !== "info" && type !== "alert" && type !== "fault") fail("InvalidParameterValue.ModelDefineEventTypeError", `${at}.type`, "must be info, alert or fault");
    const params = list(entry.params, `${at}.params`, TEMPLATE_LIMITS.params, "InvalidParameterValue.ModelDefineEventParamsExceedLimit");
    return { id, name: text(entry.name, `${at}.name`), desc: text(entry.desc, `${at}.desc`), type,
      params: parseFields(params, `${at}.params`, 0, "define", "InvalidParameterValue.ModelDefineEventParamsDupID") };
  });

  const actionIds = new Set<string>();
  const actions = list(value.actions, "actions", TEMPLATE_LIMITS.actions).map((entry, index): TemplateAction => {
    const at = `actions[${index}]`;
    if (!isObject(entry)) fail("InvalidParameterValue.ModelDefineErrorModel", at, "must be an object");
    const id = identifier(entry.id, `${at}.id`);
    if (actionIds.has(id)) fail("InvalidParameterValue.ModelDefineDupID", `${at}.id`, `${id} is defined twice`);
    actionIds.add(id);
    return {
      id, name: text(entry.name, `${at}.name`), desc: text(entry.desc, `${at}.desc`),
      input: parseFields(list(entry.input, `${at}.input`, TEMPLATE_LIMITS.params), `${at}.input`, 0, "define", "InvalidParameterValue.ModelDefineDupID"),
      output: parseFields(list(entry.output, `${at}.output`, TEMPLATE_LIMITS.params), `${at}.output`, 0, "define", "InvalidParameterValue.ModelDefineDupID"),
    };
  });

  return {
    version, properties, events, actions,
    property: new Map(properties.map((p) => [p.id, p])),
    event: new Map(events.map((e) => [e.id, e])),
    action: new Map(actions.map((a) => [a.id, a])),
  };
}

/** Parses a template's JSON text (bounded). */
export function parseTemplateText(source: string): DataTemplate {
  if (source.trim() === "") fail("InvalidParameterValue.ModelDefineNil", "template", "is empty");
  if (Buffer.byteLength(source, "utf8") > TEMPLATE_LIMITS.bytes) fail("LimitExceeded.ThingModelExceedLimit", "template", `is larger than ${TEMPLATE_LIMITS.bytes} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (error) {
    fail("InvalidParameterValue.ModelDefineInvalid", "template", `is not JSON (${(error as Error).message.slice(0, 80)})`);
  }
  return parseTemplate(value);
}
