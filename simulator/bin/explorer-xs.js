#!/usr/bin/env node
// The installed `explorer-xs` command: runs the CLI compiled ahead of time (dist/cli.js, built by
// `npm ci` through `prepare`, or `npm run build`). An error that escapes it is printed with its
// stack mapped back to the TypeScript (mapped-stack.js), at no start-up cost.
import { existsSync } from "node:fs";
import { printFatal } from "./mapped-stack.js";

const cli = new URL("../../dist/cli.js", import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write("explorer-xs is not built (no dist/cli.js): run `npm run build` (or `npm ci`) in the explorer-xs folder\n");
  process.exit(2);
}
const fatal = (error) => {
  printFatal(error);
  process.exit(1);
};
process.on("uncaughtException", fatal);
process.on("unhandledRejection", fatal);
try {
  const { main } = await import(cli.href);
  await main(process.argv);
} catch (error) {
  fatal(error);
}
