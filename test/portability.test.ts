/**
 * The core (firmware/) must run on XS as well as Node: ECMAScript built-ins and nothing of any
 * host. What it may import is the layer rule's job (test/layers.test.ts, through
 * dependency-cruiser); this test parses every firmware/**\/*.ts with the TypeScript compiler (so
 * comments and strings cannot trip it) and fails on what no import rule sees: a host global, an
 * ambient module or global declaration, an import of a computed module name. It also runs the
 * firmware tsconfig, which has no Node or DOM types.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Host globals that XS lacks, or that would tie the core to one platform. */
const FORBIDDEN_GLOBALS = new Set([
  "Buffer", "process", "require", "module", "exports", "__dirname", "__filename", "global",
  "atob", "btoa", "TextEncoder", "TextDecoder", "crypto", "fetch", "URL", "URLSearchParams",
  "setImmediate", "performance", "navigator", "window", "document", "trace",
]);

interface Violation { file: string; line: number; what: string }

function listTs(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((name) => name.endsWith(".ts"))
    .map((name) => path.join(dir, name))
    .sort();
}

/** Scans the .ts files under `<root>/firmware`. */
function scanCore(root: string): { files: string[]; violations: Violation[] } {
  const coreDir = path.join(root, "firmware");
  const files = listTs(coreDir);
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ["lib.es2022.d.ts"],
    types: [],
    noEmit: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const inProject = (fileName: string) => {
    const abs = path.resolve(fileName);
    return abs.startsWith(coreDir + path.sep);
  };
  const violations: Violation[] = [];

  for (const file of files) {
    const source = program.getSourceFile(file);
    assert.ok(source, `parsed ${file}`);
    const report = (node: ts.Node, what: string) => {
      violations.push({ file: path.relative(root, file), line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1, what });
    };

    /** A module name the layer rule cannot read: import(name), require(name). */
    const checkComputed = (node: ts.Node, specifier: ts.Expression | undefined) => {
      if (!specifier || !ts.isStringLiteralLike(specifier)) report(node, "import of a computed module name");
    };

    const isNameOnly = (id: ts.Identifier): boolean => {
      const parent = id.parent;
      if ((ts.isPropertyAccessExpression(parent) || ts.isQualifiedName(parent)) && (ts.isPropertyAccessExpression(parent) ? parent.name : parent.right) === id) return true;
      if ((ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent) || ts.isPropertySignature(parent) || ts.isMethodDeclaration(parent) ||
        ts.isMethodSignature(parent) || ts.isGetAccessor(parent) || ts.isSetAccessor(parent) || ts.isEnumMember(parent)) && parent.name === id) return true;
      if (ts.isBindingElement(parent) && parent.propertyName === id) return true;
      if ((ts.isImportSpecifier(parent) || ts.isExportSpecifier(parent)) && parent.propertyName === id) return true;
      return false;
    };

    const checkGlobal = (id: ts.Identifier) => {
      if (!FORBIDDEN_GLOBALS.has(id.text) || isNameOnly(id)) return;
      const symbol = ts.isShorthandPropertyAssignment(id.parent) ? checker.getShorthandAssignmentValueSymbol(id.parent) : checker.getSymbolAtLocation(id);
      const declarations = symbol?.declarations ?? [];
      const local = declarations.length > 0 && declarations.every((d) => inProject(d.getSourceFile().fileName) && !(ts.getCombinedModifierFlags(d) & ts.ModifierFlags.Ambient) && !d.getSourceFile().isDeclarationFile);
      if (!local) report(id, `host global "${id.text}"`);
    };

    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) checkComputed(node, node.arguments[0]);
      else if (ts.isModuleDeclaration(node) && (ts.isStringLiteral(node.name) || node.name.text === "global")) report(node, "ambient module or global declaration");
      else if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "globalThis" && FORBIDDEN_GLOBALS.has(node.name.text)) report(node, `host global "globalThis.${node.name.text}"`);
      else if (ts.isElementAccessExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "globalThis" && ts.isStringLiteralLike(node.argumentExpression) && FORBIDDEN_GLOBALS.has(node.argumentExpression.text)) report(node, `host global "globalThis['${node.argumentExpression.text}']"`);
      else if (ts.isIdentifier(node)) checkGlobal(node);
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return { files, violations };
}

describe("portability: the core uses no host global", () => {
  let fixture: string;
  let fixtureScan: { files: string[]; violations: Violation[] };

  before(() => {
    fixture = fs.mkdtempSync(path.join(os.tmpdir(), "explorer-xs-portability-"));
    fs.mkdirSync(path.join(fixture, "firmware", "sub"), { recursive: true });
    fs.writeFileSync(path.join(fixture, "firmware", "contracts.ts"), "export interface CryptoHal { x: number }\n");
    fs.writeFileSync(
      path.join(fixture, "firmware", "clean.ts"),
      [
        "// Buffer, process.env and require( in a comment are fine; so is a string: \"TextEncoder\"",
        'import nacl from "tweetnacl";',
        'import type { CryptoHal } from "./contracts";',
        'import { helper } from "./sub/helper";',
        "export function f(crypto: CryptoHal, hal: { crypto: CryptoHal; process: number }) {",
        "  const o = { process: 1, Buffer: 2, crypto };",
        "  const { process: p } = hal;",
        '  return [nacl, helper, o.Buffer, hal.crypto, p, crypto.x, "Buffer.from(x)"];',
        "}",
      ].join("\n"),
    );
    fs.writeFileSync(path.join(fixture, "firmware", "sub", "helper.ts"), "export const helper = 1;\n");
    fs.writeFileSync(
      path.join(fixture, "firmware", "dirty.ts"),
      [
        "declare const Buffer: any;",                // 1 (ambient: still a host global when used)
        'declare module "preference" {}',            // 2
        "export async function g(name: string) {",
        "  await import(name);",                     // 4
        '  const a = require("fs");',                // 5
        "  const b = Buffer.from([]);",              // 6
        "  const c = process.env;",                  // 7
        '  const d = atob("") + btoa("");',          // 8
        "  const e = new TextEncoder(); const t = new TextDecoder();", // 9
        "  const h = globalThis.process;",           // 10
        "  const i = crypto.getRandomValues;",       // 11
        "  return [a, b, c, d, e, t, h, i];",
        "}",
      ].join("\n"),
    );
    fixtureScan = scanCore(fixture);
  });

  after(() => fs.rmSync(fixture, { recursive: true, force: true }));

  it("the scanner accepts clean code: comments, strings, property names, local names, tweetnacl", () => {
    const { violations } = fixtureScan;
    assert.deepEqual(violations.filter((v) => v.file.endsWith("clean.ts") || v.file.includes("helper")), []);
  });

  it("the scanner catches every forbidden form (it can fail)", () => {
    const { violations } = fixtureScan;
    const lines = new Set(violations.filter((v) => v.file.endsWith("dirty.ts")).map((v) => v.line));
    for (const line of [2, 4, 5, 6, 7, 8, 9, 10, 11]) {
      assert.ok(lines.has(line), `line ${line} of the dirty fixture not reported: ${JSON.stringify(violations)}`);
    }
    const text = violations.map((v) => v.what).join("\n");
    for (const word of ["ambient module", "computed module name", '"require"', '"Buffer"', '"process"', '"atob"', '"btoa"', '"TextEncoder"', '"TextDecoder"', "globalThis.process", '"crypto"']) {
      assert.ok(text.includes(word), `no report mentions ${word}`);
    }
  });

  it("firmware/**/*.ts uses no host global, declares no ambient module and imports no computed name", () => {
    const { files, violations } = scanCore(ROOT);
    const names = files.map((f) => path.relative(ROOT, f));
    for (const expected of ["firmware/encoding.ts", "firmware/dynreg.ts", "firmware/dynreg-sign.ts", "firmware/dynreg-response.ts", "firmware/mqtt-credentials.ts"]) {
      assert.ok(names.includes(expected), `${expected} was scanned`);
    }
    assert.deepEqual(violations, [], violations.map((v) => `${v.file}:${v.line} ${v.what}`).join("\n"));
  });

  it("tsconfig.firmware.json (ES2022 lib, no Node or DOM types) typechecks", function () {
    this.timeout(180_000);
    const tsc = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
    const result = spawnSync(process.execPath, [tsc, "-p", path.join(ROOT, "tsconfig.firmware.json")], { cwd: ROOT, encoding: "utf8", timeout: 170_000 });
    assert.equal(result.status, 0, `tsc failed:\n${result.stdout}${result.stderr}`);
  });
});
