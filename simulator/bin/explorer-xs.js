#!/usr/bin/env node
// The installed `explorer-xs` command: loads tsx's ESM hooks in this process, then runs the
// TypeScript CLI, so there is no build step and no second process.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../cli.ts");
await main(process.argv);
