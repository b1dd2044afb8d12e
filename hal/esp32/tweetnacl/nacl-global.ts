/**
 * tweetnacl ships as a script-style UMD file (nacl-fast.js): with no CommonJS `module` it
 * attaches itself to `self.nacl`. XS has no `self`, so this module, evaluated first (see
 * hal/esp32/tweetnacl/nacl.ts), points `self` at the global object. The file itself is loaded unchanged.
 */
const global = globalThis as { self?: unknown };
if (global.self === undefined) global.self = globalThis;

export {};
