/**
 * The layer rule (.dependency-cruiser.cjs, docs/ARCHITECTURE.md), run through dependency-cruiser
 * as `npm run lint:layers` runs it: the repository has no violation, and a small tree with an
 * upward import, a circle of types and the other forbidden forms shows the rule can fail.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { cruiseLayers, ROOT } from "../scripts/lint-layers.mjs";

const CONFIG = path.join(ROOT, ".dependency-cruiser.cjs");

/** The fixture tree: file -> text. Comments say which imports must be reported. */
const FIXTURE: Record<string, string> = {
  "tsconfig.json": JSON.stringify({ compilerOptions: { target: "ES2022", module: "ESNext", moduleResolution: "bundler", strict: true, noEmit: true } }),
  "firmware/contracts.ts": "export interface Port { x: number }\n",
  "firmware/clean.ts": [
    'import nacl from "tweetnacl";',
    'import type { Port } from "./contracts";',
    'import { helper } from "./sub/helper";',
    "// import fs from \"node:fs\" in a comment, and a string: 'import(\"net\")'",
    "export const f = (p: Port) => [nacl, helper, p.x, \"import x from 'preference'\"];",
  ].join("\n"),
  "firmware/sub/helper.ts": "export const helper = 1;\n",
  "firmware/dirty.ts": [
    '/// <reference types="node" />',
    'import * as fs from "node:fs";',
    'import net from "net";',
    'import Preference from "preference";',
    'import Timer from "timer";',
    'import { Digest } from "crypt";',
    'import mqtt from "mqtt";',
    'import type { Run } from "../simulator/run";',
    'import { n } from "../hal/node/n";',
    'export { y } from "crypto";',
    'import os = require("node:os");',
    'export type Server = import("node:http").Server;',
    'export const g = async () => [fs, net, Preference, Timer, Digest, mqtt, n, os, await import("embedded:network/http/client")] as Run[];',
  ].join("\n"),
  // A circle made of type-only imports: still a circle.
  "firmware/circle-a.ts": 'import type { B } from "./circle-b";\nexport interface A { b?: B }\n',
  "firmware/circle-b.ts": 'import type { A } from "./circle-a";\nexport interface B { a?: A }\n',
  "hal/esp32/own.ts": "export const own = 1;\n",
  "hal/esp32/port.ts": [
    'import Preference from "preference";',
    'import Digital from "embedded:io/digital";',
    'import Net from "net";',
    'import { Request } from "http";',
    'import { fillRandom } from "hal/esp32/hwrng";',
    'import nacl from "tweetnacl";',
    'import type { Port } from "../../firmware/contracts";',
    'import { own } from "./own";',
    "export const p = [Preference, Digital, Net, Request, fillRandom, nacl, own] as unknown as Port[];",
  ].join("\n"),
  "hal/esp32/upward.ts": [
    'import { run } from "../../simulator/run";',
    'import * as fs from "node:fs";',
    'import mqtt from "mqtt";',
    'import { gone } from "../../firmware/gone";',
    "export const u = [run, fs, mqtt, gone];",
  ].join("\n"),
  "hal/lin/digital.js": 'import Digital from "pins/digital";\nimport { own } from "../esp32/own";\nexport default [Digital, own];\n',
  "hal/node/n.ts": [
    'import * as fs from "node:fs";',
    'import mqtt from "mqtt";',
    'import type { Port } from "../../firmware/contracts";',
    "export const n = [fs, mqtt] as unknown as Port[];",
  ].join("\n"),
  "hal/node/upward.ts": 'import { run } from "../../simulator/run";\nimport Preference from "preference";\nexport const u = [run, Preference];\n',
  "simulator/run.ts": [
    'import { n } from "../hal/node/n";',
    'import { own } from "../hal/esp32/own";',
    'import { helper } from "../test/helper";',
    'import { tool } from "../tools/tool";',
    "export type Run = unknown;",
    "export const run = [n, own, helper, tool];",
  ].join("\n"),
  "xs/entry.ts": 'import { n } from "../hal/node/n";\nimport { helper } from "../test/helper";\nexport const e = [n, helper];\n',
  "tools/tool.ts": 'import { helper } from "../test/helper";\nimport { bench } from "../bench/bench";\nexport const tool = [helper, bench];\n',
  "test/helper.ts": 'import { n } from "../hal/node/n";\nimport { own } from "../hal/esp32/own";\nexport const helper = [n, own];\n',
  "bench/bench.ts": 'import { helper } from "../test/helper";\nexport const bench = helper;\n',
};

/** Every violation the fixture must produce, as "rule from -> to". */
const EXPECTED = [
  "core-imports-only-core firmware/dirty.ts -> fs",
  "core-imports-only-core firmware/dirty.ts -> net",
  "core-imports-only-core firmware/dirty.ts -> preference",
  "core-imports-only-core firmware/dirty.ts -> timer",
  "core-imports-only-core firmware/dirty.ts -> crypt",
  "core-imports-only-core firmware/dirty.ts -> node_modules/mqtt/",
  "core-imports-only-core firmware/dirty.ts -> simulator/run.ts",
  "core-imports-only-core firmware/dirty.ts -> hal/node/n.ts",
  "core-imports-only-core firmware/dirty.ts -> crypto",
  "core-imports-only-core firmware/dirty.ts -> os",
  "core-imports-only-core firmware/dirty.ts -> http",
  "core-imports-only-core firmware/dirty.ts -> node_modules/@types/node/",
  "core-imports-only-core firmware/dirty.ts -> embedded:network/http/client",
  "resolvable-outside-moddable-ports firmware/dirty.ts -> preference",
  "resolvable-outside-moddable-ports firmware/dirty.ts -> timer",
  "resolvable-outside-moddable-ports firmware/dirty.ts -> crypt",
  "resolvable-outside-moddable-ports firmware/dirty.ts -> embedded:network/http/client",
  "no-circular firmware/circle-a.ts -> firmware/circle-b.ts",
  "moddable-ports-import-core-and-own-folder hal/esp32/upward.ts -> simulator/run.ts",
  "moddable-ports-import-core-and-own-folder hal/esp32/upward.ts -> node_modules/mqtt/",
  "moddable-ports-no-node-builtins hal/esp32/upward.ts -> fs",
  "relative-imports-resolve hal/esp32/upward.ts -> ../../firmware/gone",
  "moddable-ports-import-core-and-own-folder hal/lin/digital.js -> hal/esp32/own.ts",
  "node-port-imports-core-and-own-folder hal/node/upward.ts -> simulator/run.ts",
  "node-port-imports-core-and-own-folder hal/node/upward.ts -> preference",
  "resolvable-outside-moddable-ports hal/node/upward.ts -> preference",
  "simulator-imports-core-and-node-port simulator/run.ts -> hal/esp32/own.ts",
  "simulator-imports-core-and-node-port simulator/run.ts -> test/helper.ts",
  "simulator-imports-core-and-node-port simulator/run.ts -> tools/tool.ts",
  "only-tests-and-benchmarks-import-them simulator/run.ts -> test/helper.ts",
  "only-tools-tests-and-benchmarks-import-tools simulator/run.ts -> tools/tool.ts",
  "xs-lane-imports-core-only xs/entry.ts -> hal/node/n.ts",
  "xs-lane-imports-core-only xs/entry.ts -> test/helper.ts",
  "only-tests-and-benchmarks-import-them xs/entry.ts -> test/helper.ts",
  "only-tests-and-benchmarks-import-them tools/tool.ts -> test/helper.ts",
  "only-tests-and-benchmarks-import-them tools/tool.ts -> bench/bench.ts",
];

type Cruise = Awaited<ReturnType<typeof cruiseLayers>>;
/** "rule from -> to", a package named by its folder (node_modules/mqtt/), not the file its version resolves to. */
const lines = (cruise: Cruise) => cruise.violations.map((v) => `${v.rule} ${v.from} -> ${v.to.replace(/^(node_modules\/(@[^/]+\/)?[^/]+\/).*$/, "$1")}`);

describe("layers: the import rule through dependency-cruiser", function () {
  // dependency-cruiser parses every module with the TypeScript compiler: seconds, more on a busy machine.
  this.timeout(180_000);

  let fixture: string;
  let fixtureCruise: Cruise;

  before(async () => {
    fixture = fs.mkdtempSync(path.join(os.tmpdir(), "explorer-xs-layers-"));
    for (const [file, text] of Object.entries(FIXTURE)) {
      fs.mkdirSync(path.dirname(path.join(fixture, file)), { recursive: true });
      fs.writeFileSync(path.join(fixture, file), text);
    }
    // The repository's packages, so npm names resolve in the fixture as they do in the repository.
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(fixture, "node_modules"));
    fixtureCruise = await cruiseLayers({ root: fixture, configFile: CONFIG, folders: ["firmware", "hal", "simulator", "xs", "tools", "test", "bench"] });
  });

  after(() => fs.rmSync(fixture, { recursive: true, force: true }));

  it("reports every forbidden import of the fixture, the circle of types among them (the rule can fail)", () => {
    const found = lines(fixtureCruise);
    const missing = EXPECTED.filter((line) => !found.includes(line));
    assert.deepEqual(missing, [], `not reported:\n${missing.join("\n")}\nreported:\n${found.join("\n")}`);
  });

  it("reports nothing else: comments, strings, Moddable names in the Moddable ports, npm packages in hal/node, tests importing anything", () => {
    const extra = lines(fixtureCruise).filter((line) => !EXPECTED.includes(line));
    assert.deepEqual(extra, []);
  });

  it("the repository has no circle and no import crossing a layer the wrong way", async () => {
    const cruise = await cruiseLayers();
    for (const expected of ["firmware/contracts.ts", "firmware/boot.ts", "hal/esp32/main.ts", "hal/node/index.ts", "hal/lin/hwrng.js", "xs/host.ts", "simulator/cli.ts", "tools/moddable/image.ts", "test/layers.test.ts"]) {
      assert.ok(cruise.modules.includes(expected), `${expected} was cruised`);
    }
    assert.deepEqual(lines(cruise), [], cruise.report);
  });
});
