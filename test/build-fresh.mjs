// Mocha global setup: tests spawn the compiled CLI and workers (dist/), so rebuild them first
// when a source changed since the last build (a few ms when nothing did).
import { buildIfStale } from "../scripts/build.mjs";

export async function mochaGlobalSetup() {
  await buildIfStale();
}
