/**
 * Plausible values for a data template (issue 24): what a simulated device reports for every
 * property, and answers an action with, seeded by a text (the device's name) so the same device
 * reports the same values on every run. Every value fits its type and range, so the platform's
 * template checks accept it.
 */
import type { DataTemplate, DataType, Field } from "./platform/thing-model/template";

/** A small seeded generator (mulberry32 over an FNV-1a hash of the seed): reproducible, not secret. */
export function seededRandom(seed: string): () => number {
  let state = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) state = Math.imul(state ^ seed.charCodeAt(i), 0x01000193) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Decimals of a step ("0.1" → 1), for floats that read like a sensor's. */
function decimals(step: number | undefined): number {
  if (!step || Number.isInteger(step)) return step ? 0 : 2;
  return Math.min(6, (String(step).split(".")[1] ?? "").length);
}

/** A value of `define`, drawn from `random`. */
export function plausibleValue(define: DataType, random: () => number, id = "value"): unknown {
  switch (define.type) {
    case "bool": return random() < 0.5 ? 0 : 1;
    case "enum": {
      const values = [...define.mapping.keys()];
      return values[Math.floor(random() * values.length)];
    }
    case "int": {
      const step = define.step && define.step >= 1 ? Math.floor(define.step) : 1;
      const steps = Math.floor((define.max - define.min) / step);
      return define.min + step * Math.floor(random() * (steps + 1));
    }
    case "float": {
      const places = decimals(define.step);
      const value = Number((define.min + random() * (define.max - define.min)).toFixed(places));
      return Math.min(define.max, Math.max(define.min, value));
    }
    case "string": {
      const text = `${id}-${Math.floor(random() * 0xffff).toString(16).padStart(4, "0")}`;
      return text.padEnd(define.min, "x").slice(0, define.max);
    }
    // Seconds within a year from 2024-01-01: a recent, whole time.
    case "timestamp": return 1_704_067_200 + Math.floor(random() * 365 * 86_400);
    case "struct": return plausibleFields(define.specs, random);
    case "array": return Array.from({ length: 1 + Math.floor(random() * 3) }, () => plausibleValue(define.item, random, id));
  }
}

export function plausibleFields(fields: readonly Field[], random: () => number): Record<string, unknown> {
  return Object.fromEntries(fields.map((field) => [field.id, plausibleValue(field.define, random, field.id)]));
}

/** A report of every property, the same for the same seed. */
export function plausibleReport(template: DataTemplate, seed: string): Record<string, unknown> {
  return plausibleFields(template.properties, seededRandom(seed));
}

/** An action's output, fitting its template (or {} for an action the template does not define). */
export function plausibleActionOutput(template: DataTemplate, actionId: string, seed: string): Record<string, unknown> {
  const action = template.action.get(actionId);
  return action ? plausibleFields(action.output, seededRandom(`${seed}/${actionId}`)) : {};
}
