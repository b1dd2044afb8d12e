/**
 * The demo and the examples use the code `explorer-xs codegen` generates from their data templates
 * (issue 24): each committed module is byte for byte what the CLI writes from its template today,
 * and a template change an example's code does not follow fails tsc as the ESP32 build runs it
 * (mcconfig's tsconfig, the Moddable SDK's typings).
 */
import { strict as assert } from "node:assert";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GENERATED_FILE } from "../simulator/codegen/template-codegen";
import { buildImage, ImageBuildError } from "../tools/moddable/image";
import type { ModdableSdk } from "../tools/moddable/sdk";
import { sdkOrSkip } from "./lib/moddable-sdk";
import { runProcess } from "./lib/run-process";
import { tempDir } from "./platform-helpers";

const ROOT = join(__dirname, "..");
const CLI = join(ROOT, "simulator", "bin", "explorer-xs.js");

interface GeneratedModule {
  template: string;
  committed: string;
  /** What to run when they differ. */
  regenerate: string;
}

/** Every example with a data template (examples/<name>/template.json), beside the demo. */
function generatedModules(): GeneratedModule[] {
  const examples = readdirSync(join(ROOT, "examples")).sort()
    .filter((name) => existsSync(join(ROOT, "examples", name, "template.json")))
    .map((name) => ({
      template: `examples/${name}/template.json`,
      committed: `examples/${name}/${GENERATED_FILE}`,
      regenerate: `npx explorer-xs codegen --template examples/${name}/template.json --out examples/${name}`,
    }));
  return [
    {
      template: "simulator/demo-template.json",
      committed: "simulator/demo-template.generated.ts",
      regenerate: `npx explorer-xs codegen --template simulator/demo-template.json --out DIR, then copy DIR/${GENERATED_FILE} to simulator/demo-template.generated.ts`,
    },
    ...examples,
  ];
}

async function generate(template: string, out: string): Promise<void> {
  const result = await runProcess(process.execPath, [CLI, "codegen", "--template", template, "--out", out]);
  assert.equal(result.code, 0, result.stderr);
}

describe("the committed modules generated from data templates", function () {
  this.timeout(60_000);
  const cleanups: Array<() => void> = [];
  afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));

  it("covers the demo and both examples", () => {
    assert.deepEqual(generatedModules().map((module) => module.committed),
      ["simulator/demo-template.generated.ts", `examples/lamp/${GENERATED_FILE}`, `examples/sensor/${GENERATED_FILE}`]);
  });

  for (const module of generatedModules()) {
    it(`${module.committed} is what codegen writes from ${module.template} today`, async () => {
      const space = tempDir("template-module-");
      cleanups.push(space.remove);
      await generate(join(ROOT, module.template), space.dir);
      const fresh = readFileSync(join(space.dir, GENERATED_FILE), "utf8");
      const committed = readFileSync(join(ROOT, module.committed), "utf8");
      assert.ok(fresh === committed, `${module.committed} does not match ${module.template}; run: ${module.regenerate}`);
    });
  }
});

/**
 * An example as a person would copy it: its main.ts, its manifest (the library included by an
 * absolute path) and the module generated from `template` beside them, typechecked by the ESP32
 * build's own step (tools/moddable/image.ts, npm run typecheck:esp32).
 */
async function typecheckExample(sdk: ModdableSdk, dir: string, example: string, template: Record<string, unknown>): Promise<void> {
  const app = join(dir, example);
  mkdirSync(app, { recursive: true });
  copyFileSync(join(ROOT, "examples", example, "main.ts"), join(app, "main.ts"));
  const manifest = readFileSync(join(ROOT, "examples", example, "manifest.json"), "utf8").replaceAll('"../../', `"${ROOT}/`);
  writeFileSync(join(app, "manifest.json"), manifest);
  writeFileSync(join(app, "template.json"), JSON.stringify(template));
  await generate(join(app, "template.json"), app);
  await buildImage({ sdk, platform: "esp32", manifest: join(app, "manifest.json"), outDir: join(app, "build"), typecheckOnly: true, log: () => undefined });
}

describe("an example against a changed data template, with the Moddable SDK's typings", function () {
  this.timeout(300_000);
  let sdk: ModdableSdk;
  let space: { dir: string; remove: () => void } | undefined;

  before(async function () {
    sdk = await sdkOrSkip(this, "MODDABLE TYPINGS");
    space = tempDir("template-change-");
  });
  after(() => space?.remove());

  const templateOf = (example: string) => JSON.parse(readFileSync(join(ROOT, "examples", example, "template.json"), "utf8"));

  const changes: Array<{ example: string; says: string; change: (template: { properties: Array<{ id: string }> }) => void; errors: RegExp[] }> = [
    {
      example: "lamp",
      says: "brightness renamed to level",
      change: (template) => { template.properties.find((property) => property.id === "brightness")!.id = "level"; },
      // tsc names PropertyControl and PropertyReport by what they stand for.
      errors: [
        /main\.ts\(\d+,\d+\): error TS2339: Property 'brightness' does not exist on type 'Properties'/,
        /main\.ts\(\d+,\d+\): error TS2339: Property 'brightness' does not exist on type 'Partial<Pick<Properties, ControllableProperty>>'/,
        /main\.ts\(\d+,\d+\): error TS2353: Object literal may only specify known properties, and 'brightness' does not exist in type 'Partial<Properties>'/,
      ],
    },
    {
      example: "sensor",
      says: "light renamed to lux",
      change: (template) => { template.properties.find((property) => property.id === "light")!.id = "lux"; },
      errors: [/main\.ts\(\d+,\d+\): error TS2353: Object literal may only specify known properties, and 'light' does not exist in type 'Partial<Properties>'/],
    },
  ];

  for (const { example, says, change, errors } of changes) {
    it(`examples/${example}/main.ts typechecks against its own template, and fails tsc once the template has ${says}`, async () => {
      await typecheckExample(sdk, join(space!.dir, "same"), example, templateOf(example));

      const changed = templateOf(example);
      change(changed);
      const failure = await typecheckExample(sdk, join(space!.dir, "changed"), example, changed).then(() => undefined, (error: unknown) => error);
      assert.ok(failure instanceof ImageBuildError, `tsc accepted examples/${example}/main.ts against a template with ${says}${failure ? `: ${String(failure)}` : ""}`);
      assert.match(failure.message, /TypeScript errors against the Moddable SDK's typings/);
      for (const error of errors) assert.match(failure.message, error);
      assert.doesNotMatch(failure.message, new RegExp(`${GENERATED_FILE.replace(/\./g, "\\.")}\\(`), "the generated module itself still typechecks");
    });
  }
});
