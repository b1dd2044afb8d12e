// Maps the dist/ frames of a stack trace back to the TypeScript sources, only when a stack is
// printed: enabling Node's source maps at start-up (process.setSourceMapsEnabled) reads and
// indexes every loaded bundle's map first, about a tenth of a short command's CPU time.
// Plain JavaScript beside the bin, not bundled; Node's own module.SourceMap does the lookup.
import { readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const maps = new Map();

function mapFor(file) {
  if (!maps.has(file)) {
    let map;
    try {
      map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, "utf8")));
    } catch {
      map = undefined; // no map beside it: the frame stays as it is
    }
    maps.set(file, map);
  }
  return maps.get(file);
}

/** The stack with every `dist/*.js:line:column` frame replaced by its TypeScript position. */
export function mapStack(stack, cwd = process.cwd()) {
  return String(stack).replace(/((?:file:\/\/)?\/[^\s():]*\/dist\/[^\s():]+\.js):(\d+):(\d+)/g, (frame, location, line, column) => {
    const file = location.startsWith("file://") ? fileURLToPath(location) : location;
    const entry = mapFor(file)?.findEntry(Number(line) - 1, Number(column) - 1);
    if (!entry?.originalSource) return frame;
    const source = relative(cwd, resolve(dirname(file), entry.originalSource));
    return `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  });
}

/** Prints an error that escaped the CLI with its stack mapped, as Node would have printed it. */
export function printFatal(error) {
  const text = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : `uncaught: ${String(error)}`;
  process.stderr.write(`${mapStack(text)}\n`);
}
