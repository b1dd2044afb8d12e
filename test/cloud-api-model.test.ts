/**
 * Where a product's data template comes from (issue 24): products.json (inline or a file path),
 * the Cloud API's ModifyModelDefinition / DescribeModelDefinition through Tencent's Node SDK, and
 * the registry across restarts. A refused template leaves the previous one, from every entry point.
 */
import { strict as assert } from "node:assert";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startPlatform, type RunningPlatform } from "../simulator/platform/index";
import { ConfigError, loadConfigFile } from "../simulator/platform/config";
import { apiClient, apiFailure, apiTarget } from "./cloud-api-helpers";
import { PID, tempDir, testConfig } from "./platform-helpers";

const TEMPLATE_FILE = join(__dirname, "fixtures", "light-template.json");
const lightTemplate = () => JSON.parse(readFileSync(TEMPLATE_FILE, "utf8"));

describe("data templates: products.json, Cloud API, registry", function () {
  const platforms: RunningPlatform[] = [];
  const cleanups: Array<() => void> = [];
  afterEach(async () => {
    for (const platform of platforms.splice(0)) await platform.close();
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  async function start(options: Parameters<typeof startPlatform>[0]): Promise<RunningPlatform> {
    const platform = await startPlatform(options);
    platforms.push(platform);
    return platform;
  }

  it("DescribeModelDefinition returns the template products.json gave inline, as ModelDefine text", async () => {
    const config = testConfig();
    (config.products[0] as Record<string, unknown>).dataTemplate = lightTemplate();
    const platform = await start({ memory: true, config });
    const { Model } = await apiClient(apiTarget(platform)).DescribeModelDefinition({ ProductId: PID });
    assert.deepEqual(JSON.parse(Model!.ModelDefine!), lightTemplate());
    assert.equal(Model!.ProductId, PID);
    assert.equal(typeof Model!.UpdateTime, "number");
  });

  it("reads a template file named in products.json relative to that file, and refuses a malformed one naming the field", () => {
    const { dir, remove } = tempDir("tpl-config-");
    cleanups.push(remove);
    writeFileSync(join(dir, "light.json"), readFileSync(TEMPLATE_FILE));
    const products = testConfig().products.map((p, i) => (i === 0 ? { ...p, dataTemplate: "light.json" } : p));
    writeFileSync(join(dir, "products.json"), JSON.stringify({ products }));
    const config = loadConfigFile(join(dir, "products.json"));
    assert.deepEqual(JSON.parse(config.products[0].dataTemplate as string), lightTemplate());

    const bad = lightTemplate();
    bad.properties[2].define.min = "500";
    writeFileSync(join(dir, "light.json"), JSON.stringify(bad));
    return assert.rejects(startPlatform({ memory: true, config: join(dir, "products.json") }), (error: Error) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.match(error.message, /products\[0\] \(ABCDEFGHIJ\): dataTemplate\.properties\[2\]\.define\.min: 500 is greater than max 100 \(InvalidParameterValue\.ModelDefinePropRangeError\)/);
      return true;
    });
  });

  it("a missing template file is a ConfigError naming the field", () => {
    const { dir, remove } = tempDir("tpl-config-");
    cleanups.push(remove);
    writeFileSync(join(dir, "products.json"), JSON.stringify({ products: [{ ...testConfig().products[0], dataTemplate: "nope.json" }] }));
    assert.throws(() => loadConfigFile(join(dir, "products.json")), (error: Error) => error instanceof ConfigError && /products\[0\]\.dataTemplate: cannot read/.test(error.message));
  });

  it("ModifyModelDefinition stores a template; a malformed one is refused with Tencent's code and the previous one stays", async () => {
    const platform = await start({ memory: true, config: testConfig() });
    const api = apiClient(apiTarget(platform));
    const empty = await api.DescribeModelDefinition({ ProductId: PID });
    assert.deepEqual(JSON.parse(empty.Model!.ModelDefine!).properties, []);

    await api.ModifyModelDefinition({ ProductId: PID, ModelSchema: JSON.stringify(lightTemplate()) });
    const refusals: Array<[string, string]> = [
      ["{not json", "InvalidParameterValue.ModelDefineInvalid"],
      [JSON.stringify({ properties: [{ id: "a", define: { type: "bool" } }, { id: "a", define: { type: "int", min: "0", max: "1" } }] }), "InvalidParameterValue.ModelDefineDupID"],
      [JSON.stringify({ properties: [{ id: "a", define: { type: "decimal" } }] }), "InvalidParameterValue.ModelDefineErrorType"],
      [JSON.stringify({ properties: [{ id: "a", define: { type: "enum", mapping: {} } }] }), "InvalidParameterValue.ModelDefinePropEnumMappingError"],
    ];
    for (const [schema, code] of refusals) {
      const failure = await apiFailure(api.ModifyModelDefinition({ ProductId: PID, ModelSchema: schema }));
      assert.equal(failure.code, code, failure.message);
    }
    const after = await api.DescribeModelDefinition({ ProductId: PID });
    assert.deepEqual(JSON.parse(after.Model!.ModelDefine!), lightTemplate());
    assert.equal((await apiFailure(api.ModifyModelDefinition({ ProductId: "NOSUCHPROD", ModelSchema: "{}" }))).code, "ResourceNotFound.StudioProductNotExist");
    assert.equal((await apiFailure(api.DescribeModelDefinition({ ProductId: "NOSUCHPROD" }))).code, "ResourceNotFound.StudioProductNotExist");
  });

  it("keeps the template in the data folder across restarts; products.json does not overwrite one set since", async () => {
    const { dir, remove } = tempDir("tpl-data-");
    cleanups.push(remove);
    const config = testConfig();
    (config.products[0] as Record<string, unknown>).dataTemplate = lightTemplate();
    let platform = await start({ dataDir: dir, config });
    const changed = { ...lightTemplate(), properties: lightTemplate().properties.slice(0, 2) };
    await apiClient(apiTarget(platform)).ModifyModelDefinition({ ProductId: PID, ModelSchema: JSON.stringify(changed) });
    await platforms.pop()!.close();
    platform = await start({ dataDir: dir, config });
    const { Model } = await apiClient(apiTarget(platform)).DescribeModelDefinition({ ProductId: PID });
    assert.deepEqual(JSON.parse(Model!.ModelDefine!), changed);
  });
});
