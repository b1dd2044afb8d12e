/**
 * `explorer-xs codegen` (simulator/codegen/template-codegen.ts): the generated module typechecks
 * under the firmware's rules (ES2022, no Node types) for a template covering every type, runs on XS
 * as on Node, its runtime checks refuse what the platform refuses, and a template change the code
 * does not follow fails tsc.
 */
import { strict as assert } from "node:assert";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseTemplate } from "../simulator/platform/thing-model/template";
import { checkReport as platformCheckReport } from "../simulator/platform/thing-model/values";
import { GENERATED_FILE, generateTemplateModule } from "../simulator/codegen/template-codegen";
import { runProcess } from "./lib/run-process";
import { createNodeHal } from "../hal/node/index";
import { startXsLane, xsLaneSkipReason, type XsLane } from "../xs/host";
import { sdkOrSkip } from "./lib/moddable-sdk";
import { tempDir } from "./platform-helpers";

const ROOT = join(__dirname, "..");
const CLI = join(ROOT, "simulator", "bin", "explorer-xs.js");
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");
const TEMPLATE = join(__dirname, "fixtures", "light-template.json");
const lightTemplate = () => JSON.parse(readFileSync(TEMPLATE, "utf8"));

/** Firmware code using the generated module the way a device would. */
const CONSUMER = `
import { actionHandler, checkEvent, checkReport, controlHandler, EVENT_TYPES, type PropertyReport } from "./${GENERATED_FILE.replace(/\.ts$/, "")}";

const report: PropertyReport = { power_switch: 1, color: 2, brightness: 40, name: "study", position: { longitude: 113 }, schedule: [60] };
export const checked = checkReport(report);
export const event = checkEvent("low_voltage", { voltage: 3.3 });
export const eventType: "info" | "alert" | "fault" = EVENT_TYPES.hardware_fault;
export const onControl = controlHandler((control) => {
  if (control.brightness !== undefined) { const level: number = control.brightness; void level; }
  if (control.color === 2) { /* Blue */ }
});
export const onAction = actionHandler({
  light_blink: (input) => ({ err_code: input.time !== undefined && input.time > 5 ? 1 : 0 }),
});
`;

/** The firmware's compiler rules (tsconfig.firmware.json): ECMAScript only, no Node or DOM types. */
const TSCONFIG = JSON.stringify({
  compilerOptions: { target: "ES2022", module: "ES2022", moduleResolution: "bundler", lib: ["ES2022"], types: [], strict: true, noEmit: true, skipLibCheck: false },
  include: ["*.ts"],
});

async function generate(templateFile: string, out: string) {
  return runProcess(process.execPath, [CLI, "codegen", "--template", templateFile, "--out", out]);
}

async function typecheck(dir: string) {
  return runProcess(process.execPath, [TSC, "-p", join(dir, "tsconfig.json")]);
}

describe("explorer-xs codegen", function () {
  this.timeout(60_000);
  const cleanups: Array<() => void> = [];
  afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));

  function workspace() {
    const space = tempDir("codegen-");
    cleanups.push(space.remove);
    writeFileSync(join(space.dir, "tsconfig.json"), TSCONFIG);
    writeFileSync(join(space.dir, "device.ts"), CONSUMER);
    return space.dir;
  }

  it("writes a module that typechecks with no Node types, for a template with every type, events and actions", async () => {
    const dir = workspace();
    const result = await generate(TEMPLATE, dir);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /wrote .*data-template\.generated\.ts: 8 properties, 3 events, 1 actions/);
    const source = readFileSync(join(dir, GENERATED_FILE), "utf8");
    assert.doesNotMatch(source, /^import /m, "the generated module imports nothing");
    assert.match(source, /\/\*\* Brightness \(int 0\.\.100 step 1 %\) \*\/\n  brightness: number;/);
    assert.match(source, /color: 0 \| 1 \| 2;/);
    const checked = await typecheck(dir);
    assert.equal(checked.code, 0, checked.stdout + checked.stderr);
  });

  it("a template change the code does not follow fails tsc: a renamed property, a removed enum value, a changed type", async () => {
    const dir = workspace();
    const changed = lightTemplate();
    changed.properties[2].id = "level";                                  // brightness renamed
    changed.properties[1].define.mapping = { "0": "Red", "1": "Green" }; // Blue removed
    changed.actions[0].output[0].define = { type: "string", min: "0", max: "8" }; // err_code now a string
    const file = join(dir, "changed.json");
    writeFileSync(file, JSON.stringify(changed));
    assert.equal((await generate(file, dir)).code, 0);
    const checked = await typecheck(dir);
    assert.notEqual(checked.code, 0, "tsc accepted code the template no longer allows");
    const errors = checked.stdout;
    assert.match(errors, /device\.ts.*'brightness' does not exist in type|device\.ts.*Property 'brightness' does not exist/);
    assert.match(errors, /device\.ts.*This comparison appears to be unintentional because the types '0 \| 1 \| undefined' and '2' have no overlap/);
    assert.match(errors, /device\.ts.*Type 'number' is not assignable to type 'string'/);
  });

  it("its runtime checks refuse what the platform refuses and accept what it accepts", async () => {
    const dir = workspace();
    assert.equal((await generate(TEMPLATE, dir)).code, 0);
    const generated = await import(pathToFileURL(join(dir, GENERATED_FILE)).href);
    const platformTemplate = parseTemplate(lightTemplate());
    const reports: Array<Record<string, unknown>> = [
      { power_switch: 1, brightness: 100, temperature: -40, installed_at: 0, position: { latitude: -90 }, schedule: [] },
      { brightness: 101 }, { brightness: 1.5 }, { color: 3 }, { name: "x".repeat(65) }, { power: 1 }, { position: { altitude: 1 } }, { schedule: [1440] }, { installed_at: -1 },
    ];
    for (const report of reports) {
      const platformSays = platformCheckReport(platformTemplate, report);
      let deviceSays: Error | undefined;
      try { generated.checkReport(report); } catch (error) { deviceSays = error as Error; }
      assert.equal(deviceSays === undefined, platformSays === undefined, `${JSON.stringify(report)}: device ${deviceSays?.message}, platform ${platformSays?.message}`);
      if (deviceSays) {
        assert.equal(deviceSays.name, "TemplateValueError");
        assert.equal((deviceSays as Error & { field: string }).field, platformSays!.field);
      }
    }
    assert.throws(() => generated.parseControl({ temperature: 20 }), /temperature: is read-only/);
    assert.throws(() => generated.checkEvent("low_voltage", { voltage: 25 }), /voltage: 25 is outside 0\.\.24/);
    const onAction = generated.actionHandler({ light_blink: (input: { time?: number }) => ({ err_code: (input.time ?? 0) > 5 ? 1 : 0 }) });
    assert.deepEqual(await onAction("light_blink", { time: 7, color: 1 }), { err_code: 1 });
    await assert.rejects(onAction("light_blink", { time: 11 }), /time: 11 is outside 0\.\.10/);
    await assert.rejects(onAction("reboot", {}), /reboot: is not an action/);
    const broken = generated.actionHandler({ light_blink: () => ({ err_code: 5 }) });
    await assert.rejects(broken("light_blink", {}), /err_code: must be one of 0, 1/);
  });

  it("refuses a malformed template with exit code 2 naming the field, and writes nothing", async () => {
    const dir = workspace();
    const bad = lightTemplate();
    bad.properties[0].define.type = "boolean";
    writeFileSync(join(dir, "bad.json"), JSON.stringify(bad));
    const result = await generate(join(dir, "bad.json"), join(dir, "out"));
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--template .*bad\.json: properties\[0\]\.define\.type: "boolean" is not one of .* \(InvalidParameterValue\.ModelDefineErrorType\)/);
    assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
    assert.equal(existsSync(join(dir, "out")), false, "nothing written");
    const help = await runProcess(process.execPath, [CLI, "codegen", "--help"]);
    assert.match(help.stdout, /--template <file>/);
    assert.match(help.stdout, /--out <dir>/);
  });
});

describe("generated data template code on XS (the engine the ESP32 runs)", function () {
  this.timeout(60_000);
  let lane: XsLane | undefined;
  let space: { dir: string; remove: () => void } | undefined;
  after(async () => {
    await lane?.close();
    space?.remove();
  });

  it("checks reports, events, control and action output inside XS as it does on Node", async function () {
    const skip = xsLaneSkipReason(); // throws in CI
    if (skip !== undefined) {
      console.warn(`\n  !!! XS LANE SKIPPED: ${skip}\n`);
      this.skip();
    }
    space = tempDir("codegen-xs-");
    assert.equal((await generate(TEMPLATE, space.dir)).code, 0);
    // The XS program: the generated module as it is, and a way to call its checks from here.
    writeFileSync(join(space.dir, "entry.ts"), `
import { checkActionOutput, checkEvent, checkReport, parseControl } from "./${GENERATED_FILE.replace(/\.ts$/, "")}";
import { expose, installCommandHandler } from ${JSON.stringify(join(ROOT, "xs", "runtime"))};
const verdict = (run: () => unknown) => { try { run(); return "ok"; } catch (error) { return (error as Error).name + " " + (error as Error).message; } };
expose({
  reports: (reports: Array<Record<string, unknown>>) => reports.map((report) => verdict(() => checkReport(report))),
  control: (params: Record<string, unknown>) => verdict(() => parseControl(params)),
  event: (params: Record<string, unknown>) => verdict(() => checkEvent("low_voltage", params)),
  output: (output: Record<string, unknown>) => verdict(() => checkActionOutput("light_blink", output as never)),
  engine: () => ({ hasBuffer: typeof (globalThis as { Buffer?: unknown }).Buffer !== "undefined", hasProcess: typeof (globalThis as { process?: unknown }).process !== "undefined" }),
});
installCommandHandler();
`);
    lane = await startXsLane({ hal: createNodeHal({ storageKey: new Uint8Array(32) }), entry: join(space.dir, "entry.ts"), output: () => undefined });
    assert.deepEqual(await lane.invoke("engine"), { hasBuffer: false, hasProcess: false });
    const generated = await import(pathToFileURL(join(space.dir, GENERATED_FILE)).href);
    const onNode = (run: () => unknown) => { try { run(); return "ok"; } catch (error) { return `${(error as Error).name} ${(error as Error).message}`; } };
    const reports = [{ power_switch: 1, brightness: 50, name: "设备 ✓", position: { longitude: -180 }, schedule: [0, 1439] }, { brightness: 101 }, { color: 3 }, { name: "😀".repeat(65) }, { nope: 1 }, { schedule: [1, 2000] }];
    const inXs = await lane.invoke("reports", reports);
    assert.deepEqual(inXs, reports.map((report) => onNode(() => generated.checkReport(report))));
    assert.equal((inXs as string[])[0], "ok");
    assert.equal(await lane.invoke("control", { temperature: 1 }), "TemplateValueError temperature: is read-only");
    assert.equal(await lane.invoke("event", { voltage: 24.5 }), "TemplateValueError voltage: 24.5 is outside 0..24");
    assert.equal(await lane.invoke("output", { err_code: 1 }), "ok");
  });
});

describe("generated data template code against the Moddable SDK's typings", function () {
  this.timeout(120_000);
  let space: { dir: string; remove: () => void } | undefined;
  after(() => space?.remove());

  it("typechecks with the SDK's XS and global typings, as the ESP32 image's tsc does", async function () {
    const sdk = await sdkOrSkip(this, "MODDABLE TYPINGS");
    space = tempDir("codegen-moddable-");
    assert.equal((await generate(TEMPLATE, space.dir)).code, 0);
    writeFileSync(join(space.dir, "device.ts"), CONSUMER);
    // The compiler options of the tsconfig-base.json mcconfig writes for an ESP32 image (tools/moddable/image.ts).
    writeFileSync(join(space.dir, "tsconfig.json"), JSON.stringify({
      compilerOptions: {
        module: "preserve", target: "ES2022", lib: ["es2025"], strict: true, noEmit: true, resolveJsonModule: true,
        types: [join(sdk.root, "xs", "includes", "xs"), join(sdk.root, "typings", "global")],
        // The modules the global typings import, mapped as mcconfig maps them.
        paths: Object.fromEntries(readdirSync(join(sdk.root, "typings")).filter((name) => name.startsWith("embedded_"))
          .map((name) => [`embedded:${name.slice("embedded_".length)}/*`, [join(sdk.root, "typings", name, "*")]])
          .concat([["*", [join(sdk.root, "typings", "*")]]])),
      },
      include: ["*.ts"],
    }));
    const checked = await typecheck(space.dir);
    assert.equal(checked.code, 0, checked.stdout + checked.stderr);
  });
});
