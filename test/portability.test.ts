/**
 * The core (firmware/) must run on XS as well as Node: ECMAScript built-ins, its own modules
 * (the port contracts among them, firmware/contracts.ts) and tweetnacl only. This test parses every firmware/**\/*.ts with the TypeScript
 * compiler (so comments and strings cannot trip it) and fails on any other import or any
 * host global. It also runs the firmware tsconfig, which has no Node or DOM types.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Bare module names the core may import. */
const ALLOWED_PACKAGES = new Set(["tweetnacl"]);

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

/** Scans the .ts files under `<root>/firmware`; relative imports may reach only there. */
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

    const checkSpecifier = (node: ts.Node, specifier: ts.Expression | undefined) => {
      if (!specifier || !ts.isStringLiteralLike(specifier)) {
        report(node, "import of a computed module name");
        return;
      }
      const name = specifier.text;
      if (name.startsWith(".")) {
        const target = path.resolve(path.dirname(file), name);
        if (!target.startsWith(coreDir + path.sep)) report(node, `relative import "${name}" leaves firmware/`);
      } else if (!ALLOWED_PACKAGES.has(name)) {
        report(node, `import of "${name}" (only ${[...ALLOWED_PACKAGES].join(", ")} and relative core modules are allowed)`);
      }
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
      if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) checkSpecifier(node, node.moduleSpecifier);
      else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) checkSpecifier(node, node.moduleReference.expression);
      else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) checkSpecifier(node, node.arguments[0]);
      else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) checkSpecifier(node, node.argument.literal as ts.StringLiteral);
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

describe("portability: the core holds no forbidden import or global", () => {
  let fixture: string;
  let fixtureScan: { files: string[]; violations: Violation[] };

  before(() => {
    fixture = fs.mkdtempSync(path.join(os.tmpdir(), "explorer-xs-portability-"));
    fs.mkdirSync(path.join(fixture, "firmware", "sub"), { recursive: true });
    fs.writeFileSync(path.join(fixture, "firmware", "contracts.ts"), "export interface CryptoHal { x: number }\n");
    fs.writeFileSync(path.join(fixture, "outside.ts"), "export const x = 1;\n");
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
        'import * as fs from "node:fs";',            // 1
        'import net from "net";',                    // 2
        'import Preference from "preference";',      // 3
        'import Timer from "timer";',                // 4
        'import { Digest } from "crypt";',           // 5
        'import MQTT from "mqtt";',                  // 6
        'import HTTP from "http";',                  // 7
        'import { x } from "../outside";',           // 8
        'export { y } from "crypto";',               // 9
        "declare const Buffer: any;",                // 10 (ambient: still a host global when used)
        "export async function g() {",
        '  await import("embedded:network/http/client");', // 12
        '  const a = require("fs");',                // 13
        "  const b = Buffer.from([]);",              // 14
        "  const c = process.env;",                  // 15
        '  const d = atob("") + btoa("");',          // 16
        "  const e = new TextEncoder(); const t = new TextDecoder();", // 17
        "  const h = globalThis.process;",           // 18
        "  const i = crypto.getRandomValues;",       // 19
        "  return [fs, net, Preference, Timer, Digest, MQTT, HTTP, x, a, b, c, d, e, t, h, i];",
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
    for (const line of [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 14, 15, 16, 17, 18, 19]) {
      assert.ok(lines.has(line), `line ${line} of the dirty fixture not reported: ${JSON.stringify(violations)}`);
    }
    const text = violations.map((v) => v.what).join("\n");
    for (const word of ['"node:fs"', '"preference"', '"crypt"', '"mqtt"', "leaves firmware/", '"require"', '"Buffer"', '"process"', '"atob"', '"btoa"', '"TextEncoder"', '"TextDecoder"', "globalThis.process", '"crypto"']) {
      assert.ok(text.includes(word), `no report mentions ${word}`);
    }
  });

  it("firmware/**/*.ts imports only core modules and tweetnacl, and uses no host global", () => {
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
