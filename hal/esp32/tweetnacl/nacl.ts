/**
 * The ES module that manifest.json registers as "tweetnacl", so `import nacl from "tweetnacl"`
 * in the core gets the real tweetnacl on XS. Import order matters: nacl-global defines `self`
 * with a hardware-RNG getRandomValues, then the unchanged nacl-fast.js ("tweetnacl-raw")
 * attaches `self.nacl` and takes its PRNG from there while it loads (it is preloaded, so it
 * cannot take one later).
 *
 * This folder is outside the manifest's `hal/esp32/*` wildcard on purpose: mcconfig takes each
 * source file once, so a file the wildcard had already claimed as `hal/esp32/nacl` was silently
 * left out under the name `tweetnacl`, and the image aborted at boot.
 */
import "./nacl-global";
import "tweetnacl-raw";
// Types only (erased from the output): tweetnacl's own declarations, reached by path because
// "tweetnacl" names this very module in the Moddable build.
import type * as Nacl from "../../../node_modules/tweetnacl/nacl";

function loaded(): typeof Nacl {
  const nacl = (globalThis as unknown as { self?: { nacl?: typeof Nacl } }).self?.nacl;
  if (!nacl || typeof nacl.secretbox !== "function") throw new Error("tweetnacl did not load: check the tweetnacl-raw module in manifest.json");
  return nacl;
}

const nacl: typeof Nacl = loaded();
export default nacl;
