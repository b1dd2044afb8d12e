/**
 * What mcconfig does not say out loud: a manifest entry whose source another entry has already
 * claimed is silently dropped (mcconfig takes each source file once), an entry may resolve to
 * nothing, and a folder wildcard takes every file, JSON included. This reads the project's own
 * manifests (the one built and the project manifests it includes) and the makefile mcconfig
 * wrote, and reports each entry that did not become the module it names.
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import type { Platform } from "./image";

export interface ManifestFinding {
  message: string;
}

interface Manifest {
  include?: string | string[];
  modules?: Record<string, string | string[]>;
  preload?: string | string[];
  platforms?: Record<string, Manifest>;
}

const SOURCE_EXTENSIONS = [".ts", ".js", ".c", ".d.ts"];

function list(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** The project manifests: the one given and those it includes by a project path. */
function projectManifests(file: string, seen = new Set<string>()): Array<{ file: string; manifest: Manifest }> {
  if (seen.has(file)) return [];
  seen.add(file);
  const manifest = JSON.parse(readFileSync(file, "utf8")) as Manifest;
  const result = [{ file, manifest }];
  for (const include of list(manifest.include)) {
    if (include.startsWith("$(")) continue; // the SDK's own manifests
    result.push(...projectManifests(path.resolve(path.dirname(file), include), seen));
  }
  return result;
}

/** The platform section mcconfig applies: the exact name, else "...". */
function platformSection(manifest: Manifest, platform: Platform): Manifest | undefined {
  const platforms = manifest.platforms ?? {};
  return platforms[platform] ?? platforms["..."];
}

/** target -> source, from the makefile's `$(MODULES_DIR)/<target>.xsb: <source>` rules. */
export function builtModules(makefile: string): Map<string, string> {
  const modules = new Map<string, string>();
  for (const match of readFileSync(makefile, "utf8").matchAll(/^\$\(MODULES_DIR\)\/(\S+)\.xsb: (\S+)/gm)) modules.set(match[1], match[2]);
  return modules;
}

function resolveSource(base: string, source: string): string | undefined {
  for (const extension of ["", ...SOURCE_EXTENSIONS]) {
    const candidate = path.resolve(base, source + extension);
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/** Whether `rule` (a makefile source) was compiled from `file`. */
function compiledFrom(rule: string | undefined, file: string): boolean {
  if (rule === undefined) return false;
  if (file.endsWith(".ts")) return rule.startsWith("$(TMP_DIR)/tsc/") && rule.endsWith(file.slice(0, -3) + ".js");
  // mcconfig names a file by its real path: node_modules may be a symlink to a shared install.
  return rule === file || rule === realpathSync(file);
}

export function checkManifest(options: { manifest: string; platform: Platform; makefile: string; mcconfigWarnings: string[] }): ManifestFinding[] {
  const findings: ManifestFinding[] = options.mcconfigWarnings.map((warning) => ({ message: `mcconfig: ${warning.replace(/^#+\s*/, "")}` }));
  const built = builtModules(options.makefile);
  const root = path.dirname(path.resolve(options.manifest));

  for (const [target, source] of built) {
    if (source.endsWith(".json") && !source.includes("/typings/")) {
      findings.push({ message: `${source} became module "${target}": a folder wildcard takes every file, JSON included` });
    }
  }

  for (const { file, manifest } of projectManifests(path.resolve(options.manifest))) {
    const base = path.dirname(file);
    const where = path.relative(root, file) || path.basename(file);
    const sections = [manifest, platformSection(manifest, options.platform)].filter((section): section is Manifest => section !== undefined);
    for (const section of sections) {
      for (const [name, value] of Object.entries(section.modules ?? {})) {
        if (name === "*" || name === "~") continue; // C sources and declarations, named by file
        for (const source of list(value)) {
          if (source.startsWith("$(")) {
            if (!name.includes("*") && !built.has(name)) findings.push({ message: `${where}: module "${name}" (${source}) was not built` });
            continue;
          }
          if (name.endsWith("*")) {
            const folder = path.resolve(base, path.dirname(source));
            const prefix = path.basename(source).replace(/\*$/, "");
            if (!existsSync(folder)) {
              findings.push({ message: `${where}: "${name}": folder ${folder} does not exist` });
              continue;
            }
            for (const entry of readdirSync(folder)) {
              const full = path.join(folder, entry);
              if (entry.startsWith(".") || !statSync(full).isFile() || !entry.startsWith(prefix) || entry.endsWith(".d.ts")) continue;
              const target = name.slice(0, -1) + entry.slice(prefix.length).replace(/\.[^.]+$/, "");
              if (!compiledFrom(built.get(target), full)) {
                findings.push({ message: `${where}: "${name}" matches ${path.relative(root, full)}, but module "${target}" ${built.has(target) ? `comes from ${built.get(target)}` : "was not built"}` });
              }
            }
            continue;
          }
          const resolved = resolveSource(base, source);
          if (resolved === undefined) {
            findings.push({ message: `${where}: module "${name}" names ${source}, which resolves to no file` });
          } else if (!resolved.endsWith(".d.ts") && !compiledFrom(built.get(name), resolved)) {
            findings.push({ message: `${where}: module "${name}" (${path.relative(root, resolved)}) ${built.has(name) ? `was built from ${built.get(name)} instead` : "was dropped (another entry had already claimed its source)"}` });
          }
        }
      }
      for (const preload of list(section.preload)) {
        if (!preload.includes("*") && !built.has(preload)) findings.push({ message: `${where}: preload "${preload}" is not a module of this build` });
      }
    }
  }
  return findings;
}
