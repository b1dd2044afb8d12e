/**
 * manifest.json is the ESP32 build's only list of what goes into the image, and mcconfig cannot
 * run here, so this test checks what can be checked without the Moddable SDK:
 * - it is strict JSON (mcconfig would accept more; other tools would not);
 * - every project path it lists exists, and creation.main and the project preloads name listed
 *   modules;
 * - every TypeScript module of firmware/ and hal/esp32/ is listed;
 * - walking the runtime imports from every listed project module reaches only listed project
 *   modules or Moddable SDK modules: never a Node built-in or an npm package, and no listed
 *   file uses a Node global;
 * - preloaded modules do not reach tweetnacl or hardware modules (see hal/esp32/tweetnacl/nacl.ts).
 * The checker runs against the real repository and against a small broken fixture, so it is
 * shown to fail when it should.
 */
import { strict as assert } from "node:assert";
import { X509Certificate } from "node:crypto";
import { builtinModules } from "node:module";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Moddable SDK modules the build takes from the SDK's own manifests (included in manifest.json). */
const MODDABLE_MODULES = new Set([
  "preference", "http", "securesocket", "socket", "mqtt", "crypt", "hmac", "sntp", "time",
  "timer", "wifi", "net", "Resource", "mc/config", "pins/digital", "pins/pwm", "pins/analog", "instrumentation",
  // build/devices/esp32/modules/ota (the lin build takes hal/lin/ota.js under the same name)
  "ota",
  // modules/files/file, which the lin build's Preference (hal/lin/preference-nvs.js) keeps its values in
  "file",
]);

/**
 * Preloading runs a module's body at build time and freezes what it made; importing an SDK
 * module from there is fine (the SDK preloads its own), except `preference`, whose lin version
 * reads its store when it loads: preloaded for every platform, that would bake the build
 * machine's store into the image. (What a preloaded module must not do at run time, such as
 * assigning to its own closure variables, only the image can tell: the Moddable lane runs it.)
 */
const NOT_PRELOADABLE = new Set(["preference"]);

const NODE_GLOBALS = ["Buffer", "process", "require", "__dirname", "__filename", "setImmediate"];
const SOURCE_EXTENSIONS = [".ts", ".js", ".c"];

interface Listed {
  /** Module name as the XS runtime sees it. */
  name: string;
  file: string;
}

interface Problem {
  what: string;
}

/** A project path of a manifest (not $(MODDABLE)/$(MODULES)), made relative to the root as "./...". */
function rebase(root: string, dir: string, value: string): string {
  if (value.startsWith("$(")) return value;
  return "./" + path.relative(root, path.resolve(dir, value)).split(path.sep).join("/");
}

function rebaseTable(root: string, dir: string, table: Record<string, any> | undefined): Record<string, any> {
  const result: Record<string, any> = {};
  for (const [key, value] of Object.entries(table ?? {})) {
    result[key] = Array.isArray(value) ? value.map((entry) => rebase(root, dir, entry)) : typeof value === "string" ? rebase(root, dir, value) : value;
  }
  return result;
}

const asList = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/**
 * The manifest as mcconfig sees it: project includes followed (depth first, each once), their
 * module and data paths made relative to the root, and merged: modules, data, config and
 * creation with the includer winning, preloads and SDK includes concatenated, platform sections
 * merged by name.
 */
function readManifest(root: string, file = path.join(root, "manifest.json"), seen = new Set<string>()): { manifest: any; problems: Problem[] } {
  const merged: any = { include: [], modules: {}, preload: [], data: {}, config: {}, platforms: {} };
  if (seen.has(file)) return { manifest: merged, problems: [] };
  seen.add(file);
  const where = path.relative(root, file) || "manifest.json";
  if (!fs.existsSync(file)) return { manifest: undefined, problems: [{ what: `${where} does not exist` }] };
  let own: any;
  try {
    own = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    return { manifest: undefined, problems: [{ what: `${where} is not strict JSON: ${(error as Error).message}` }] };
  }
  const dir = path.dirname(file);
  const problems: Problem[] = [];
  const mergeIn = (part: any, partDir: string, into: any) => {
    into.include.push(...asList(part.include).filter((entry) => entry.startsWith("$(")));
    Object.assign(into.modules, rebaseTable(root, partDir, part.modules));
    into.preload.push(...asList(part.preload));
    Object.assign(into.data, rebaseTable(root, partDir, part.data));
    Object.assign(into.config, part.config ?? {});
    if (part.creation) into.creation = { ...into.creation, ...part.creation };
    for (const [name, section] of Object.entries<any>(part.platforms ?? {})) {
      const target = (into.platforms[name] ??= { include: [], modules: {}, preload: [], data: {}, config: {}, platforms: {} });
      if (section.error) target.error = section.error;
      mergeIn({ ...section, platforms: undefined }, partDir, target);
    }
  };
  for (const include of asList(own.include)) {
    if (include.startsWith("$(")) continue;
    const included = readManifest(root, path.resolve(dir, include), seen);
    problems.push(...included.problems);
    if (included.manifest) mergeIn(included.manifest, root, merged);
  }
  mergeIn(own, dir, merged);
  return { manifest: merged, problems };
}

/** Files a manifest module path stands for: "dir/*" is every source file directly in dir. */
function expandPath(root: string, modulePath: string): string[] {
  const abs = path.join(root, modulePath);
  if (modulePath.endsWith("/*")) {
    const dir = abs.slice(0, -2);
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir)
      .filter((name) => (name.endsWith(".ts") && !name.endsWith(".d.ts")) || name.endsWith(".js") || name.endsWith(".c"))
      .map((name) => path.join(dir, name));
  }
  return [...SOURCE_EXTENSIONS, ".d.ts"].map((ext) => abs + ext).filter((file) => fs.existsSync(file));
}

function moduleName(key: string, file: string): string {
  const base = path.basename(file).replace(/(\.d)?\.(ts|js|c)$/, "");
  if (key === "*") return base;
  return key.endsWith("/*") ? key.slice(0, -1) + base : key;
}

/** Project modules (paths starting with "./") from the top level and every platform. */
function listedModules(root: string, manifest: any): { listed: Listed[]; problems: Problem[] } {
  const listed: Listed[] = [];
  const problems: Problem[] = [];
  const tables = [manifest.modules ?? {}, ...Object.values<any>(manifest.platforms ?? {}).map((platform) => platform.modules ?? {})];
  for (const table of tables) {
    for (const [key, value] of Object.entries<any>(table)) {
      for (const modulePath of Array.isArray(value) ? value : [value]) {
        if (typeof modulePath !== "string" || !modulePath.startsWith("./")) continue;
        const files = expandPath(root, modulePath);
        if (files.length === 0) problems.push({ what: `manifest lists ${modulePath} (module ${key}) but no such file exists` });
        for (const file of files) listed.push({ name: moduleName(key, file), file });
      }
    }
  }
  return { listed, problems };
}

function sourceFilesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((name) => name.endsWith(".ts") && !name.endsWith(".d.ts") && !name.endsWith(".test.ts"))
    .map((name) => path.join(dir, name));
}

/** Runtime imports of one file: type-only imports and exports are skipped. */
function runtimeImports(file: string): string[] {
  const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true);
  const specifiers: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly && ts.isStringLiteral(node.moduleSpecifier)) {
      specifiers.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && !node.isTypeOnly && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      specifiers.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments;
      specifiers.push(argument && ts.isStringLiteral(argument) ? argument.text : "(computed dynamic import)");
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specifiers;
}

/** Node globals used as values (identifiers not declared in the file, not property names). */
function nodeGlobals(file: string): string[] {
  const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true);
  const found = new Set<string>();
  const visit = (node: ts.Node) => {
    if (ts.isIdentifier(node) && NODE_GLOBALS.includes(node.text)) {
      const parent = node.parent;
      const isMember = parent && ts.isPropertyAccessExpression(parent) && parent.name === node;
      const isDeclaredName = parent && (ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent) || ts.isMethodDeclaration(parent)) && (parent as { name?: ts.Node }).name === node;
      if (!isMember && !isDeclaredName) found.add(node.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return [...found];
}

function isNodeBuiltin(specifier: string): boolean {
  return specifier.startsWith("node:") || builtinModules.includes(specifier);
}

/** tweetnacl's nacl-fast.js is a script: its one `require` sits behind `typeof require !== 'undefined'`. */
function checkThirdParty(file: string): Problem[] {
  const text = fs.readFileSync(file, "utf8");
  const requires = text.split("require(").length - 1;
  if (requires <= 1 && text.includes("typeof require !== 'undefined'")) return [];
  return [{ what: `${path.relative(ROOT, file)} calls require() outside its typeof-require guard` }];
}

function checkManifest(root: string, file = path.join(root, "manifest.json")): Problem[] {
  const { manifest, problems } = readManifest(root, file);
  if (!manifest) return problems;
  const { listed, problems: pathProblems } = listedModules(root, manifest);
  problems.push(...pathProblems);
  const byName = new Map(listed.map((entry) => [entry.name, entry.file]));
  const listedFiles = new Set(listed.map((entry) => entry.file));

  // Every TypeScript module of the library is in the image, and so is the app's own: the board
  // image's main (hal/esp32/main.ts), or an example's folder.
  const isBoardImage = path.dirname(file) === root;
  const boardMain = path.join(root, "hal", "esp32", "main.ts");
  const library = [...sourceFilesUnder(path.join(root, "firmware")), ...sourceFilesUnder(path.join(root, "hal", "esp32"))].filter((source) => isBoardImage || source !== boardMain);
  const required = [...library, ...(isBoardImage ? [] : sourceFilesUnder(path.dirname(file)))];
  for (const source of required) {
    if (!listedFiles.has(source)) problems.push({ what: `${path.relative(root, source)} is not listed in the modules of ${path.relative(root, file)} or what it includes` });
  }

  const main = manifest.creation?.main;
  if (typeof main !== "string" || !byName.has(main)) problems.push({ what: `creation.main ${JSON.stringify(main)} is not a listed module` });

  // Walk runtime imports from every listed module.
  const reach = new Map<string, Set<string>>();
  const resolve = (from: string, specifier: string): { file?: string; external?: string; problem?: string } => {
    if (specifier.startsWith(".")) {
      const base = path.resolve(path.dirname(from), specifier);
      const file = SOURCE_EXTENSIONS.map((ext) => base + ext).find((candidate) => fs.existsSync(candidate));
      if (!file) return { problem: `${path.relative(root, from)} imports ${specifier}, which does not exist` };
      if (!listedFiles.has(file)) return { problem: `${path.relative(root, from)} imports ${path.relative(root, file)}, which manifest.json does not list` };
      return { file };
    }
    // Moddable's "http" and "net" share names with Node built-ins; in this build they are Moddable's.
    if (specifier.startsWith("node:")) return { problem: `${path.relative(root, from)} imports the Node-only module ${specifier}` };
    const mapped = byName.get(specifier);
    if (mapped) return { file: mapped };
    if (MODDABLE_MODULES.has(specifier)) return { external: specifier };
    if (isNodeBuiltin(specifier)) return { problem: `${path.relative(root, from)} imports the Node-only module ${specifier}` };
    return { problem: `${path.relative(root, from)} imports ${specifier}, which is neither a listed module nor a Moddable SDK module` };
  };
  const walk = (file: string): Set<string> => {
    const known = reach.get(file);
    if (known) return known;
    const names = new Set<string>();
    reach.set(file, names);
    if (file.includes(`${path.sep}node_modules${path.sep}`)) {
      problems.push(...checkThirdParty(file));
      return names;
    }
    if (!file.endsWith(".c")) {
      for (const global of nodeGlobals(file)) problems.push({ what: `${path.relative(root, file)} uses the Node global ${global}` });
      for (const specifier of runtimeImports(file)) {
        const target = resolve(file, specifier);
        if (target.problem) problems.push({ what: target.problem });
        if (target.external) names.add(target.external);
        if (target.file) {
          const name = listed.find((entry) => entry.file === target.file)?.name ?? target.file;
          names.add(name);
          for (const deeper of walk(target.file)) names.add(deeper);
        }
      }
    }
    return names;
  };
  for (const entry of listed) walk(entry.file);

  // Preloaded on every platform: the common list and what each platform section adds alike.
  const platformPreloads = Object.values(manifest.platforms ?? {}).map((section: any) => new Set<string>(section?.error ? [] : section?.preload ?? []));
  const everywhere = new Set<string>([
    ...(manifest.preload ?? []),
    ...[...(platformPreloads[0] ?? [])].filter((name) => platformPreloads.every((set) => set.size === 0 || set.has(name))),
  ]);
  for (const name of manifest.preload ?? []) {
    const file = byName.get(name);
    if (!file) {
      if (name.startsWith("firmware/") || name.startsWith("hal/")) problems.push({ what: `preload names ${name}, which is not a listed module` });
      continue;
    }
    for (const reached of [name, ...walk(file)]) {
      if (NOT_PRELOADABLE.has(reached)) problems.push({ what: `preloaded ${name} reaches ${reached}, which must not be preloaded` });
      else if (byName.has(reached) && !MODDABLE_MODULES.has(reached) && !everywhere.has(reached)) problems.push({ what: `preloaded ${name} reaches ${reached}, which is not preloaded` });
    }
  }
  return problems;
}

function writeFixture(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "exs-manifest-"));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

describe("manifest.json (ESP32 build)", () => {
  it("passes every check against this repository", () => {
    const problems = checkManifest(ROOT).map((problem) => problem.what);
    assert.deepEqual(problems, []);
  });

  it("includes Moddable's base and network manifests and a trust anchor per role in its data", () => {
    const { manifest, problems } = readManifest(ROOT);
    assert.deepEqual(problems, []);
    assert.ok(manifest.include.includes("$(MODDABLE)/examples/manifest_base.json"));
    assert.ok(manifest.include.includes("$(MODDABLE)/examples/manifest_net.json"));
    // Registration HTTPS: DigiCert Global Root CA, as Moddable ships it (modules/crypt/data/ca106).
    assert.equal(manifest.config.registerCa, "digicert-global-root-ca.der");
    assert.equal(manifest.data["digicert-global-root-ca"], "$(MODULES)/crypt/data/ca106");
    // MQTT: the Tencent IoT root that Tencent's device SDKs embed as iot_ca_crt.
    assert.equal(manifest.config.mqttCa, "tencent-iot-root-ca.der");
    assert.equal(manifest.data["tencent-iot-root-ca"], "./hal/esp32/certs/tencent-iot-root-ca");
    const der = fs.readFileSync(path.join(ROOT, "hal/esp32/certs/tencent-iot-root-ca.der"));
    const certificate = new X509Certificate(der);
    assert.equal(certificate.fingerprint256, "3B:1F:A1:E1:14:9E:3F:3B:D3:72:27:30:DB:EF:9E:B7:2E:C4:B9:FD:95:55:30:63:A9:C6:0B:A6:27:78:E7:40");
    assert.match(certificate.subject, /OU=Tencent Iothub/);
    assert.ok(certificate.verify(certificate.publicKey), "self-signed: a byte changed in transcription would break the signature");
    assert.equal(manifest.creation.main, "hal/esp32/main");
    for (const key of ["productId", "productSecret", "deviceName", "deviceNameRule", "region", "registerUrl", "ledPin"]) {
      assert.ok(key in manifest.config, `config.${key}`);
    }
  });

  it("is the library (hal/esp32/manifest.json, no creation, no main) included by the board image, which keeps only the app part", () => {
    const top = JSON.parse(fs.readFileSync(path.join(ROOT, "manifest.json"), "utf8"));
    assert.deepEqual(top.include, ["./hal/esp32/manifest.json"]);
    assert.deepEqual(Object.keys(top.modules), ["hal/esp32/main"]);
    assert.equal(top.data, undefined);
    const library = JSON.parse(fs.readFileSync(path.join(ROOT, "hal", "esp32", "manifest.json"), "utf8"));
    assert.equal(library.creation, undefined);
    assert.ok(library.include.includes("../../firmware/manifest.json"));
    assert.deepEqual(Object.keys(library.platforms).sort(), ["...", "esp32", "lin"]);
    assert.equal(library.modules["explorer-xs"], "./api/explorer-xs", "the public entry point, by its short name");
    const core = JSON.parse(fs.readFileSync(path.join(ROOT, "firmware", "manifest.json"), "utf8"));
    assert.equal(core.creation, undefined);
    assert.equal(core.platforms, undefined, "the core knows no platform");
    assert.ok(Object.values<string>(core.modules).every((source) => source.startsWith("./")), "the core lists only its own files");
  });

  it("links Moddable's esp32/ota, the project's rollback natives and ESP-IDF's rollback option on esp32; stand-ins of the same shape on lin", () => {
    const library = JSON.parse(fs.readFileSync(path.join(ROOT, "hal", "esp32", "manifest.json"), "utf8"));
    const esp32 = library.platforms.esp32;
    // Moddable 8.2.3 keeps the module under build/devices (its own tools/testmc includes it so).
    assert.ok(esp32.include.includes("$(MODDABLE)/build/devices/esp32/modules/ota/manifest.json"));
    assert.equal(esp32.modules["hal/esp32/ota-state"], "./native/ota-state");
    assert.ok(fs.existsSync(path.join(ROOT, "hal", "esp32", "native", "ota-state.c")));
    const lin = library.platforms.lin;
    assert.deepEqual([lin.modules.ota, lin.modules["hal/esp32/ota-state"]], ["../lin/ota", "../lin/ota-state"]);
    assert.ok(fs.existsSync(path.join(ROOT, "hal", "lin", "ota.c")));
    // The stand-in declares the very functions (and host symbols) the board's native module does.
    const hostFunctions = (file: string) => [...fs.readFileSync(path.join(ROOT, file), "utf8").matchAll(/^export function (\w+)\(([^)]*)\) @ "(\w+)";$/gm)].map((match) => match.slice(1).join(" "));
    const board = hostFunctions("hal/esp32/native/ota-state.js");
    assert.equal(board.length, 10);
    assert.deepEqual(hostFunctions("hal/lin/ota-state.js"), board);
    const linC = fs.readFileSync(path.join(ROOT, "hal", "lin", "ota.c"), "utf8");
    const boardC = fs.readFileSync(path.join(ROOT, "hal", "esp32", "native", "ota-state.c"), "utf8");
    for (const entry of board) {
      const symbol = entry.split(" ").at(-1)!;
      assert.match(boardC, new RegExp(`^void ${symbol}\\(xsMachine \\*the\\)$`, "m"), `ota-state.c defines ${symbol}`);
      assert.match(linC, new RegExp(`^void ${symbol}\\(xsMachine \\*the\\)$`, "m"), `hal/lin/ota.c defines ${symbol}`);
    }
    // ESP-IDF options, through Moddable's SDKCONFIGPATH merge, unless an app or target names its own folder.
    assert.equal(esp32.build["SDKCONFIGPATH ?="], "./sdkconfig");
    const sdkconfig = fs.readFileSync(path.join(ROOT, "hal", "esp32", "sdkconfig", "sdkconfig.defaults"), "utf8");
    assert.match(sdkconfig, /^CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE=y$/m);
    assert.match(sdkconfig, /^CONFIG_APP_PROJECT_VER_FROM_CONFIG=y$/m);
    const version = /^CONFIG_APP_PROJECT_VER="([^"]+)"$/m.exec(sdkconfig)?.[1];
    const firmwareVersion = /FIRMWARE_VERSION = "([^"]+)"/.exec(fs.readFileSync(path.join(ROOT, "firmware", "version.ts"), "utf8"))?.[1];
    assert.equal(version, firmwareVersion, "the image's esp_app_desc_t version is the version the firmware reports");
  });

  for (const example of ["lamp", "sensor"]) {
    it(`examples/${example}/manifest.json includes the library and passes every check`, () => {
      const file = path.join(ROOT, "examples", example, "manifest.json");
      assert.deepEqual(checkManifest(ROOT, file).map((problem) => problem.what), []);
      const own = JSON.parse(fs.readFileSync(file, "utf8"));
      assert.ok(own.include.includes("../../hal/esp32/manifest.json"));
      assert.equal(readManifest(ROOT, file).manifest.creation.main, "main");
    });
  }

  describe("the checker fails on a broken tree", () => {
    let dir: string;
    before(() => {
      dir = writeFixture({
        "lib/manifest.json": JSON.stringify({ modules: { "lib/gone": "./gone" } }),
        "manifest.json": JSON.stringify({
          include: ["./lib/manifest.json"],
          creation: { main: "hal/esp32/main" },
          modules: { "firmware/*": "./firmware/*", "hal/esp32/main": "./hal/esp32/main", "gone": "./hal/esp32/gone" },
          preload: ["hal/esp32/main"],
        }),
        "firmware/core.ts": 'import { readFileSync } from "node:fs";\nexport const size = Buffer.byteLength("x");\n',
        "firmware/other.ts": 'import "left-pad";\nimport { join } from "path";\nexport const j = join;\n',
        "hal/esp32/main.ts": 'import Preference from "preference";\nimport "../../firmware/core";\nexport default Preference;\n',
        "hal/esp32/unlisted.ts": "export {};\n",
      });
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("reports each fault", () => {
      const problems = checkManifest(dir).map((problem) => problem.what).join("\n");
      assert.match(problems, /hal\/esp32\/gone .*no such file/);
      assert.match(problems, /\.\/lib\/gone \(module lib\/gone\) .*no such file/, "an included manifest's paths are its own folder's");
      assert.match(problems, /hal\/esp32\/unlisted\.ts is not listed/);
      assert.match(problems, /firmware\/core\.ts imports the Node-only module node:fs/);
      assert.match(problems, /firmware\/core\.ts uses the Node global Buffer/);
      assert.match(problems, /firmware\/other\.ts imports left-pad, which is neither/);
      assert.match(problems, /firmware\/other\.ts imports the Node-only module path/);
      assert.match(problems, /preloaded hal\/esp32\/main reaches preference/);
    });

    it("reports a manifest that is not strict JSON", () => {
      const broken = writeFixture({ "manifest.json": '{ "modules": { "*": ["./main",] } }' });
      try {
        assert.match(checkManifest(broken)[0].what, /not strict JSON/);
      } finally {
        fs.rmSync(broken, { recursive: true, force: true });
      }
    });
  });
});
