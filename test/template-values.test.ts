/**
 * Seeded plausible values (simulator/template-values.ts): the same seed gives the same report,
 * another seed another one, and every value passes the platform's own template checks.
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseTemplate } from "../simulator/platform/thing-model/template";
import { checkFields, checkReport } from "../simulator/platform/thing-model/values";
import { plausibleActionOutput, plausibleReport } from "../simulator/template-values";

const template = parseTemplate(JSON.parse(readFileSync(join(__dirname, "fixtures", "light-template.json"), "utf8")));

describe("plausible values from a data template", () => {
  it("reports every property, reproducibly per seed, and every report fits the template", () => {
    const first = plausibleReport(template, "sim-1");
    assert.deepEqual(Object.keys(first), template.properties.map((p) => p.id));
    assert.deepEqual(plausibleReport(template, "sim-1"), first, "same seed, same values");
    assert.notDeepEqual(plausibleReport(template, "sim-2"), first, "another seed, other values");
    for (let i = 0; i < 500; i++) {
      const report = plausibleReport(template, `sim-${i}`);
      assert.equal(checkReport(template, report), undefined, JSON.stringify(report));
    }
  });

  it("answers an action with output that fits it", () => {
    for (let i = 0; i < 50; i++) {
      const output = plausibleActionOutput(template, "light_blink", `sim-${i}`);
      assert.deepEqual(Object.keys(output), ["err_code"]);
      assert.equal(checkFields(template.action.get("light_blink")!.output, output), undefined);
    }
    assert.deepEqual(plausibleActionOutput(template, "nope", "sim-1"), {});
  });
});
