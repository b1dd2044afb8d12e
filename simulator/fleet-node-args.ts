/**
 * The node options of a fleet, apart from simulator/fleet.ts so that `explorer-xs fleet` can
 * check its own process against them, and start itself again with them, without loading the
 * fleet's modules first (that costs about 60 ms, and the process it starts loads them anyway).
 */

/**
 * Node options for a fleet's process and the platform it starts, which between them keep every
 * core busy (bench/fleet-cpu-pairs.ts, simultaneous pairs of 5,000 devices on 2 cores): V8's
 * parallel GC helper threads then only compete with them for the cores (alone 0.94 of the CPU
 * per device), and a larger young generation lets a boot's short-lived objects (requests in
 * flight, parsed packets) die young instead of being promoted (together 0.90; 64 MB: no gain).
 * Not for a platform on its own, which may have cores to spare. They must be given at start: V8
 * aborts when --single-threaded-gc is set in a running process (v8.setFlagsFromString; tried).
 */
export const FLEET_NODE_ARGS: readonly string[] = ["--single-threaded-gc", "--max-semi-space-size=32"];
export const FLEET_PLATFORM_NODE_ARGS: readonly string[] = FLEET_NODE_ARGS;
