/**
 * Values against a data template: what the data plane checks in reports, events, action replies
 * and control (docs/PROTOCOL.md §13). Each check answers the first fault as a Violation naming the
 * field, or undefined when everything fits.
 */
import { isObject, type Json } from "../json-object";
import type { DataTemplate, DataType, Field } from "./template";

export type ViolationKind = "unknown" | "type" | "range" | "length" | "read-only";

export interface Violation {
  kind: ViolationKind;
  /** The field's path: `brightness`, `position.longitude`, `list[3]`. */
  field: string;
  message: string;
}

function violation(kind: ViolationKind, field: string, message: string): Violation {
  return { kind, field, message: `${field}: ${message}` };
}

/** Characters as JavaScript counts them would split emoji; Tencent's limit is in characters, so code points. */
function characters(value: string): number {
  let count = 0;
  for (const _ of value) count++;
  return count;
}

/** Checks one value against its type. */
export function checkValue(define: DataType, value: unknown, field: string): Violation | undefined {
  switch (define.type) {
    case "bool":
      // The C SDK sends 0 or 1 (TYPE_DEF_TEMPLATE_BOOL is a char); true and false are taken too (mock's own).
      if (value === 0 || value === 1 || value === true || value === false) return undefined;
      return violation("type", field, "must be 0 or 1");
    case "int":
    case "float": {
      if (typeof value !== "number" || !Number.isFinite(value)) return violation("type", field, `must be a number (${define.type})`);
      if (define.type === "int" && !Number.isInteger(value)) return violation("type", field, "must be a whole number");
      if (value < define.min || value > define.max) return violation("range", field, `${value} is outside ${define.min}..${define.max}`);
      return undefined;
    }
    case "enum":
      if (typeof value !== "number" || !Number.isInteger(value)) return violation("type", field, "must be one of the enum's values");
      if (!define.mapping.has(value)) return violation("range", field, `${value} is not one of ${[...define.mapping.keys()].join(", ")}`);
      return undefined;
    case "string": {
      if (typeof value !== "string") return violation("type", field, "must be a string");
      const length = characters(value);
      if (length > define.max) return violation("length", field, `has ${length} characters; at most ${define.max} are allowed`);
      if (length < define.min) return violation("length", field, `has ${length} characters; at least ${define.min} are needed`);
      return undefined;
    }
    case "timestamp":
      // TYPE_DEF_TEMPLATE_TIME is a uint32 of seconds in the C SDK; milliseconds are taken too (mock's own).
      if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) return violation("type", field, "must be a time: a whole number of at least 0");
      return undefined;
    case "struct": {
      if (!isObject(value)) return violation("type", field, "must be an object");
      return checkFields(define.specs, value, `${field}.`);
    }
    case "array": {
      if (!Array.isArray(value)) return violation("type", field, "must be an array");
      for (let index = 0; index < value.length; index++) {
        const fault = checkValue(define.item, value[index], `${field}[${index}]`);
        if (fault) return fault;
      }
      return undefined;
    }
  }
}

/** Members of a struct, an event's params, an action's input or output: each name must be defined. */
export function checkFields(fields: readonly Field[], values: Json, prefix = ""): Violation | undefined {
  for (const [name, value] of Object.entries(values)) {
    const field = fields.find((candidate) => candidate.id === name);
    if (!field) return violation("unknown", prefix + name, "is not defined in the data template");
    const fault = checkValue(field.define, value, prefix + name);
    if (fault) return fault;
  }
  return undefined;
}

/** A report's params: every property defined, every value of its type and in range. */
export function checkReport(template: DataTemplate, params: Json): Violation | undefined {
  for (const [name, value] of Object.entries(params)) {
    const property = template.property.get(name);
    if (!property) return violation("unknown", name, "is not defined in the data template");
    const fault = checkValue(property.define, value, name);
    if (fault) return fault;
  }
  return undefined;
}

/** A control's params: as a report, and only read-write properties. */
export function checkControl(template: DataTemplate, params: Json): Violation | undefined {
  for (const name of Object.keys(params)) {
    const property = template.property.get(name);
    if (property && property.mode !== "rw") return violation("read-only", name, "is read-only (mode r)");
  }
  return checkReport(template, params);
}
