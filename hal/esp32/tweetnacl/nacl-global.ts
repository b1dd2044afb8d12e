/**
 * tweetnacl ships as a script-style UMD file (nacl-fast.js): with no CommonJS `module` it
 * attaches itself to `self.nacl`, and while it loads it installs its PRNG from
 * `self.crypto.getRandomValues` when there is one. XS has neither, so this module, evaluated
 * first (see nacl.ts), defines a `self` for tweetnacl alone whose getRandomValues draws from the
 * hardware RNG (hal/esp32/random.ts; never Math.random).
 *
 * The PRNG has to be in place while tweetnacl loads: the image preloads tweetnacl (its functions
 * and tables then live in flash, not in the heap), preloading freezes it, and a later
 * nacl.setPRNG() (an assignment to its closure variable) throws on the device.
 */
// By module name: this module is "nacl-global" at the image's top level, so a relative path
// would not name hal/esp32/random there.
import { hardwareRandomBytes, MAX_RANDOM_BYTES } from "hal/esp32/random";

function getRandomValues<View extends ArrayBufferView>(view: View): View {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  for (let offset = 0; offset < bytes.length; offset += MAX_RANDOM_BYTES) {
    bytes.set(hardwareRandomBytes(Math.min(MAX_RANDOM_BYTES, bytes.length - offset)), offset);
  }
  return view;
}

const host = globalThis as { self?: object };
if (host.self === undefined) host.self = { crypto: { getRandomValues } };

export {};
