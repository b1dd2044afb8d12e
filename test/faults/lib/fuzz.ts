/**
 * fast-check glue for the fault run: a property runs a fixed number of times with a seed that
 * is printed (and counted in the results table) when it fails, so any failure reproduces with
 * `fc.assert(property, { seed, path })`.
 */
import { strict as assert } from "node:assert";
import fc from "fast-check";
import { canaryOnline } from "./harness";
import { FUZZ_SEED, recordCase, recordProperty } from "./results";

export { FUZZ_SEED };

export async function checkProperty<Ts extends [unknown, ...unknown[]]>(
  family: string,
  property: fc.IAsyncPropertyWithHooks<Ts> | fc.IPropertyWithHooks<Ts>,
  numRuns: number,
): Promise<void> {
  const details = await fc.check(property as fc.IAsyncPropertyWithHooks<Ts>, { numRuns, seed: FUZZ_SEED });
  if (details.failed) {
    const seed = `${details.seed} path ${details.counterexamplePath}`;
    const detail = `${String(details.errorInstance ?? "failed").slice(0, 300)} on ${fc.stringify(details.counterexample).slice(0, 300)}`;
    recordProperty(family, details.numRuns, { seed, detail });
    assert.fail(`${family}: property failed (seed ${seed}): ${detail}`);
  }
  recordProperty(family, details.numRuns);
}

/** True for a typed failure the caller can act on (an Error subclass with a string code). */
export function isTypedError(error: unknown, ...classes: Array<abstract new (...args: never[]) => Error>): boolean {
  return classes.some((type) => error instanceof type);
}

/** After a fuzz case: a fresh device must still come online on that platform, counted under `family`. */
export async function expectCanaryOnline(platform: { httpUrl: string; mqttUrl: string }, family: string, label: string): Promise<void> {
  const canary = await canaryOnline(platform);
  recordCase({ family, label, survived: canary === undefined, detail: canary });
  assert.equal(canary, undefined);
}
