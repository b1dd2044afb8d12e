/**
 * The ES module that manifest.json registers as "tweetnacl", so `import nacl from "tweetnacl"`
 * in the core gets the real tweetnacl on XS. Import order matters: nacl-global defines `self`,
 * then the unchanged nacl-fast.js ("tweetnacl-raw") attaches `self.nacl`. Not preloaded:
 * nacl.setPRNG replaces a closure variable at run time, which a frozen preloaded module forbids.
 */
import "./nacl-global";
import "tweetnacl-raw";
// Types from tweetnacl's own nacl.d.ts (mapped by tsconfig "paths"); importing them from
// "tweetnacl" would name this very module in the Moddable build.
import type * as naclTypes from "tweetnacl-raw";

const nacl = (globalThis as unknown as { nacl?: typeof naclTypes }).nacl;
if (!nacl || typeof nacl.secretbox !== "function") throw new Error("tweetnacl did not load: check the tweetnacl-raw module in manifest.json");

export default nacl;
