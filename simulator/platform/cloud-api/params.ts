/**
 * Request parameters of the Cloud API, checked against each action's fields as the SDK's
 * iotexplorer v20190423 models declare them (iotexplorer_models.d.ts): a missing required field
 * is MissingParameter, a wrong type InvalidParameter, a field the action does not have
 * UnknownParameter (as Tencent answers). GET requests carry the same fields flattened in the
 * query string (`DevicesItems.0.ProductId=...`), all text; they are rebuilt and converted here.
 */
import { CloudApiError, invalidParameter, missingParameter } from "./errors";

export type FieldType =
  | "string" | "integer" | "boolean"
  | { array: FieldType; maxItems?: number }
  | { object: Schema };

export interface Field {
  type: FieldType;
  required?: boolean;
}

export type Schema = Readonly<Record<string, Field>>;

export const string = (required = false): Field => ({ type: "string", required });
export const integer = (required = false): Field => ({ type: "integer", required });
export const boolean = (required = false): Field => ({ type: "boolean", required });
export const arrayOf = (type: FieldType, required = false, maxItems?: number): Field => ({ type: { array: type, maxItems }, required });
export const object = (schema: Schema): FieldType => ({ object: schema });

/** Checks `value` against `schema`; `fromQuery` converts GET's text values to integers and booleans. */
export function checkParams(schema: Schema, value: unknown, fromQuery = false): Record<string, unknown> {
  return checkObject(schema, value, "", fromQuery);
}

function checkObject(schema: Schema, value: unknown, path: string, fromQuery: boolean): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalidParameter(path || "the request body", "a JSON object");
  const input = value as Record<string, unknown>;
  for (const name of Object.keys(input)) {
    if (!Object.prototype.hasOwnProperty.call(schema, name)) {
      throw new CloudApiError("UnknownParameter", `The parameter \`${path}${name}\` is not recognized.`);
    }
  }
  const output: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(schema)) {
    const fieldValue = input[name];
    // The SDK drops null fields before sending; a null is treated the same way.
    if (fieldValue === undefined || fieldValue === null) {
      if (field.required) throw missingParameter(path + name);
      continue;
    }
    output[name] = checkValue(field.type, fieldValue, path + name, fromQuery);
  }
  return output;
}

function checkValue(type: FieldType, value: unknown, path: string, fromQuery: boolean): unknown {
  if (type === "string") {
    if (typeof value !== "string") throw invalidParameter(path, "a string");
    return value;
  }
  if (type === "integer") {
    const number = fromQuery && typeof value === "string" && /^-?\d{1,16}$/.test(value) ? Number(value) : value;
    if (typeof number !== "number" || !Number.isSafeInteger(number)) throw invalidParameter(path, "an integer");
    return number;
  }
  if (type === "boolean") {
    const flag = fromQuery && (value === "true" || value === "false") ? value === "true" : value;
    if (typeof flag !== "boolean") throw invalidParameter(path, "a boolean");
    return flag;
  }
  if ("array" in type) {
    if (!Array.isArray(value)) throw invalidParameter(path, "an array");
    if (type.maxItems !== undefined && value.length > type.maxItems) {
      throw new CloudApiError("InvalidParameterValue", `The parameter \`${path}\` has ${value.length} items; at most ${type.maxItems} are allowed.`);
    }
    const items: unknown[] = [];
    for (let index = 0; index < value.length; index++) {
      if (!(index in value)) throw missingParameter(`${path}.${index}`); // a gap in a GET list
      items.push(checkValue(type.array, value[index], `${path}.${index}`, fromQuery));
    }
    return items;
  }
  return checkObject(type.object, value, `${path}.`, fromQuery);
}

const MAX_QUERY_INDEX = 1000;

/**
 * Rebuilds a GET request's parameters: `A.0.B=x` becomes `{A:[{B:"x"}]}` (numeric segments are
 * array indexes, as the SDK flattens them).
 */
export function unflattenQuery(query: URLSearchParams): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of query) {
    const segments = key.split(".");
    let node: Record<string, unknown> | unknown[] = root;
    segments.forEach((segment, index) => {
      const last = index === segments.length - 1;
      const nextIsIndex = !last && /^\d+$/.test(segments[index + 1]);
      let slot: string | number;
      if (/^\d+$/.test(segment)) {
        if (!Array.isArray(node)) throw invalidParameter(segments.slice(0, index).join("."), "an object, not a list");
        slot = Number(segment);
        if (slot > MAX_QUERY_INDEX) throw new CloudApiError("InvalidParameterValue", `The index in \`${key}\` is too large.`);
      } else {
        if (Array.isArray(node) || segment === "__proto__" || segment === "constructor" || segment === "prototype") {
          throw new CloudApiError("UnknownParameter", `The parameter \`${key}\` is not recognized.`);
        }
        slot = segment;
      }
      // The same rules for a list position as for a field: given once, and a value or a structure.
      const container = node as Record<string | number, unknown>;
      const present = Object.prototype.hasOwnProperty.call(container, slot);
      if (last) {
        if (present) throw invalidParameter(key, "given once");
        container[slot] = value;
        return;
      }
      if (!present) container[slot] = nextIsIndex ? [] : {};
      node = container[slot] as Record<string, unknown> | unknown[];
      if (typeof node !== "object" || node === null) throw invalidParameter(segments.slice(0, index + 1).join("."), "a single value or a structure, not both");
    });
  }
  return root;
}
