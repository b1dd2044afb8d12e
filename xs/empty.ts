/**
 * Stands in for Node's `crypto` in XS bundles: tweetnacl probes `require("crypto")` for a
 * PRNG; finding nothing there, it waits for `nacl.setPRNG`, which the core feeds from the HAL.
 */
export {};
