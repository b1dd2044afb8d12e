/**
 * Where the compiled programs are. This file sits one folder below the repository root, and so
 * does every bundle in dist/ (scripts/build.mjs puts chunks there too), so `..` from
 * `import.meta.url` is the root whether this code runs from source or from the bundle.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
export const DIST_DIR = join(REPO_ROOT, "dist");

/** A compiled entry point (scripts/build.mjs ENTRY_POINTS): "cli", "fleet-worker", "xs-child". */
export function compiledEntry(name: string): string {
  return join(DIST_DIR, `${name}.js`);
}
