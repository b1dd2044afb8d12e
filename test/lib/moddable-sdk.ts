/**
 * The Moddable SDK for a test that needs it: found or built by tools/moddable/sdk.ts. Where it
 * cannot be had, the suite is skipped loudly on a developer's machine and fails in CI, which
 * builds it from the vendored source (.ci/run).
 */
import type { Context } from "mocha";
import { isCi, locateSdk, type ModdableSdk, SdkUnavailableError } from "../../tools/moddable/sdk";

export async function sdkOrSkip(context: Context, what: string, options: { needSimulator?: boolean; log?: (line: string) => void } = {}): Promise<ModdableSdk> {
  try {
    return await locateSdk({ needSimulator: options.needSimulator, log: options.log ?? (() => undefined) });
  } catch (error) {
    if (error instanceof SdkUnavailableError && !isCi()) {
      console.warn(`\n  !!! ${what} SKIPPED: ${error.message}\n`);
      context.skip();
    }
    throw error;
  }
}
