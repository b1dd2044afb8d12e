/**
 * XS bytecode sizes of a build, per folder: the .xsb files mcconfig's xsc wrote for the modules
 * its makefile lists (a reused output folder may still hold modules an earlier manifest had).
 */
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { builtModules } from "./manifest-check";

export type SizeGroup = "firmware" | "hal" | "tweetnacl" | "app" | "moddable";

export interface BytecodeSizes {
  groups: Record<SizeGroup, { modules: number; bytes: number }>;
  total: { modules: number; bytes: number };
}

function groupOf(module: string): SizeGroup {
  if (module.startsWith("firmware/")) return "firmware";
  if (module === "tweetnacl" || module === "tweetnacl-raw" || module === "nacl-global") return "tweetnacl";
  // "explorer-xs" is the port's public entry point (hal/esp32/api/explorer-xs.ts).
  if (module.startsWith("hal/") || module === "explorer-xs") return "hal";
  // An app's own modules (examples/*/main.ts and the module its data template generated).
  if (module === "main" || module === "data-template.generated") return "app";
  return "moddable";
}

export function bytecodeSizes(modulesDir: string, makefile: string): BytecodeSizes {
  const empty = () => ({ modules: 0, bytes: 0 });
  const groups: BytecodeSizes["groups"] = { firmware: empty(), hal: empty(), tweetnacl: empty(), app: empty(), moddable: empty() };
  const total = empty();
  for (const module of builtModules(makefile).keys()) {
    const file = path.join(modulesDir, `${module}.xsb`);
    if (!existsSync(file)) continue;
    const bytes = statSync(file).size;
    const group = groups[groupOf(module)];
    group.modules += 1;
    group.bytes += bytes;
    total.modules += 1;
    total.bytes += bytes;
  }
  return { groups, total };
}

export function formatSizes(sizes: BytecodeSizes): string {
  const rows: Array<[string, { modules: number; bytes: number }]> = [
    ["firmware/ (the core)", sizes.groups.firmware],
    ["hal/ (the ESP32 port)", sizes.groups.hal],
    ["tweetnacl", sizes.groups.tweetnacl],
    ...(sizes.groups.app.modules > 0 ? [["the app (main, template)", sizes.groups.app] as [string, { modules: number; bytes: number }]] : []),
    ["Moddable modules", sizes.groups.moddable],
    ["total", sizes.total],
  ];
  return rows.map(([label, row]) => `  ${label.padEnd(24)} ${String(row.modules).padStart(4)} modules ${row.bytes.toLocaleString("en-US").padStart(10)} bytes`).join("\n");
}
