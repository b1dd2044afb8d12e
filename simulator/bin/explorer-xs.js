#!/usr/bin/env node
// The installed `explorer-xs` command: runs the CLI compiled ahead of time (dist/cli.js, built by
// `npm ci` through `prepare`, or `npm run build`), with stack traces mapped back to the TypeScript.
import { existsSync } from "node:fs";

const cli = new URL("../../dist/cli.js", import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write("explorer-xs is not built (no dist/cli.js): run `npm run build` (or `npm ci`) in the explorer-xs folder\n");
  process.exit(2);
}
process.setSourceMapsEnabled(true);
const { main } = await import(cli.href);
await main(process.argv);
