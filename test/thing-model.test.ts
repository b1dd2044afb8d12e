/**
 * The data template model (simulator/platform/thing-model/): Tencent's JSON parsed into typed
 * definitions, malformed templates refused with the Cloud API code and the field, and values
 * checked against it as the data plane does.
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseTemplate, parseTemplateText, TemplateError, TEMPLATE_LIMITS } from "../simulator/platform/thing-model/template";
import { checkControl, checkReport, checkFields, checkValue } from "../simulator/platform/thing-model/values";

export const LIGHT_TEMPLATE_FILE = join(__dirname, "fixtures", "light-template.json");
const light = () => JSON.parse(readFileSync(LIGHT_TEMPLATE_FILE, "utf8"));

function refusal(template: unknown): TemplateError {
  try {
    parseTemplate(template);
  } catch (error) {
    assert.ok(error instanceof TemplateError, `not a TemplateError: ${String(error)}`);
    return error;
  }
  assert.fail("the template was accepted");
}

describe("data template model", () => {
  it("parses every type of a console export: bool, int, float, enum, string, timestamp, struct, array, events, actions", () => {
    const template = parseTemplate(light());
    assert.deepEqual(template.properties.map((p) => [p.id, p.define.type, p.mode]), [
      ["power_switch", "bool", "rw"], ["color", "enum", "rw"], ["brightness", "int", "rw"], ["temperature", "float", "r"],
      ["name", "string", "rw"], ["installed_at", "timestamp", "r"], ["position", "struct", "rw"], ["schedule", "array", "rw"],
    ]);
    const brightness = template.property.get("brightness")!.define;
    assert.deepEqual(brightness, { type: "int", min: 0, max: 100, start: 1, step: 1, unit: "%" });
    const position = template.property.get("position")!.define;
    assert.equal(position.type, "struct");
    if (position.type === "struct") assert.deepEqual(position.specs.map((m) => m.id), ["longitude", "latitude"]);
    assert.deepEqual(template.events.map((e) => [e.id, e.type, e.params.length]), [["status_report", "info", 2], ["low_voltage", "alert", 1], ["hardware_fault", "fault", 2]]);
    assert.deepEqual(template.actions.map((a) => [a.id, a.input.map((f) => f.id), a.output.map((f) => f.id)]), [["light_blink", ["time", "color"], ["err_code"]]]);
  });

  const cases: Array<[string, (t: any) => void, string, string]> = [
    ["an unknown type", (t) => { t.properties[2].define.type = "double"; }, "InvalidParameterValue.ModelDefineErrorType", "properties[2].define.type"],
    ["a duplicate property id", (t) => { t.properties[1].id = "power_switch"; }, "InvalidParameterValue.ModelDefineDupID", "properties[1].id"],
    ["a duplicate event param id", (t) => { t.events[2].params[1].id = "name"; }, "InvalidParameterValue.ModelDefineEventParamsDupID", "events[2].params[1].id"],
    ["min greater than max", (t) => { t.properties[2].define.min = "101"; }, "InvalidParameterValue.ModelDefinePropRangeError", "properties[2].define.min"],
    ["start outside the range", (t) => { t.properties[2].define.start = "200"; }, "InvalidParameterValue.ModelDefinePropRangeError", "properties[2].define.start"],
    ["an int range beyond int32", (t) => { t.properties[2].define.max = "3000000000"; }, "InvalidParameterValue.ModelDefinePropRangeOverflow", "properties[2].define.max"],
    ["an enum without values", (t) => { t.properties[1].define.mapping = {}; }, "InvalidParameterValue.ModelDefinePropEnumMappingError", "properties[1].define.mapping"],
    ["an enum value that is not a number", (t) => { t.properties[1].define.mapping = { red: "Red" }; }, "InvalidParameterValue.ModelDefinePropEnumMappingError", "properties[1].define.mapping.red"],
    ["a bool mapping 2", (t) => { t.properties[0].define.mapping = { "0": "off", "2": "on" }; }, "InvalidParameterValue.ModelDefinePropBoolMappingError", "properties[0].define.mapping"],
    ["an event type other than info, alert, fault", (t) => { t.events[0].type = "warning"; }, "InvalidParameterValue.ModelDefineEventTypeError", "events[0].type"],
    ["an id with a space", (t) => { t.actions[0].id = "light blink"; }, "InvalidParameterValue.ModelDefineEventPropNameError", "actions[0].id"],
    ["a string longer than the limit", (t) => { t.properties[4].define.max = String(TEMPLATE_LIMITS.stringMax + 1); }, "InvalidParameterValue.ModelDefinePropRangeOverflow", "properties[4].define.max"],
    ["a struct inside a struct", (t) => { t.properties[6].define.specs[0].dataType = { type: "struct", specs: [] }; }, "InvalidParameterValue.ModelDefineErrorType", "properties[6].define.specs[0].dataType.type"],
    ["a mode other than r and rw", (t) => { t.properties[0].mode = "w"; }, "InvalidParameterValue.ModelDefineErrorModel", "properties[0].mode"],
    ["too many event params", (t) => { t.events[0].params = Array.from({ length: TEMPLATE_LIMITS.params + 1 }, (_, i) => ({ id: `p${i}`, define: { type: "bool" } })); },
      "InvalidParameterValue.ModelDefineEventParamsExceedLimit", "events[0].params"],
    ["too many properties", (t) => { t.properties = Array.from({ length: TEMPLATE_LIMITS.properties + 1 }, (_, i) => ({ id: `p${i}`, define: { type: "bool" } })); },
      "LimitExceeded.ThingModelExceedLimit", "properties"],
  ];
  for (const [what, change, code, field] of cases) {
    it(`refuses ${what} with ${code} naming ${field}`, () => {
      const template = light();
      change(template);
      const error = refusal(template);
      assert.equal(error.code, code);
      assert.equal(error.field, field);
      assert.ok(error.message.startsWith(`${field}: `), error.message);
    });
  }

  it("refuses text that is not JSON, an empty text and a text over the size limit", () => {
    assert.throws(() => parseTemplateText("{"), (e: TemplateError) => e.code === "InvalidParameterValue.ModelDefineInvalid");
    assert.throws(() => parseTemplateText("  "), (e: TemplateError) => e.code === "InvalidParameterValue.ModelDefineNil");
    assert.throws(() => parseTemplateText(JSON.stringify({ properties: [], pad: "x".repeat(TEMPLATE_LIMITS.bytes) })), (e: TemplateError) => e.code === "LimitExceeded.ThingModelExceedLimit");
  });

  it("checks values: types, ranges, enum values, string lengths in characters, structs, arrays", () => {
    const template = parseTemplate(light());
    const define = (id: string) => template.property.get(id)!.define;
    assert.equal(checkValue(define("power_switch"), 1, "power_switch"), undefined);
    assert.equal(checkValue(define("power_switch"), 2, "power_switch")?.kind, "type");
    assert.equal(checkValue(define("brightness"), 100, "brightness"), undefined);
    assert.equal(checkValue(define("brightness"), 101, "brightness")?.kind, "range");
    assert.equal(checkValue(define("brightness"), 1.5, "brightness")?.kind, "type");
    assert.equal(checkValue(define("brightness"), "50", "brightness")?.kind, "type");
    assert.equal(checkValue(define("temperature"), -40, "temperature"), undefined);
    assert.equal(checkValue(define("temperature"), 85.1, "temperature")?.kind, "range");
    assert.equal(checkValue(define("color"), 2, "color"), undefined);
    assert.equal(checkValue(define("color"), 3, "color")?.kind, "range");
    assert.equal(checkValue(define("name"), "😀".repeat(64), "name"), undefined);
    assert.equal(checkValue(define("name"), "x".repeat(65), "name")?.kind, "length");
    assert.equal(checkValue(define("installed_at"), 1700000000, "installed_at"), undefined);
    assert.equal(checkValue(define("installed_at"), -1, "installed_at")?.kind, "type");
    assert.deepEqual(checkValue(define("position"), { longitude: 181 }, "position"), { kind: "range", field: "position.longitude", message: "position.longitude: 181 is outside -180..180" });
    assert.equal(checkValue(define("position"), { altitude: 1 }, "position")?.kind, "unknown");
    assert.equal(checkValue(define("schedule"), [0, 720, 1439], "schedule"), undefined);
    assert.equal(checkValue(define("schedule"), [0, 1440], "schedule")?.field, "schedule[1]");
  });

  it("checks reports, control (read-only refused) and event params by name", () => {
    const template = parseTemplate(light());
    assert.equal(checkReport(template, { power_switch: 1, temperature: 21.5 }), undefined);
    assert.equal(checkReport(template, { power: 1 })?.kind, "unknown");
    assert.equal(checkControl(template, { brightness: 10 }), undefined);
    assert.deepEqual(checkControl(template, { temperature: 20 })?.kind, "read-only");
    assert.equal(checkFields(template.event.get("hardware_fault")!.params, { name: "tf", error_code: 2001 })?.kind, "range");
  });
});
