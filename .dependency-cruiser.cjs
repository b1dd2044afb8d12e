/**
 * The layer rule (docs/ARCHITECTURE.md): lower layers never import higher ones, and no import
 * circle anywhere, type-only imports included. `npm run lint:layers` and test/layers.test.ts run
 * it through dependency-cruiser's API (scripts/lint-layers.mjs says why not its CLI).
 *
 * Paths are relative to the repository root. A module dependency-cruiser cannot resolve keeps the
 * name it was imported by ("preference", "embedded:io/digital"): that is how a Moddable module
 * looks from Node, so the ESP32 and lin ports may import such names, while a relative import that
 * does not resolve is never a Moddable module and is refused everywhere.
 */

/** Moddable modules whose names are also Node built-ins, so dependency-cruiser reports them as "core". */
const MODDABLE_NAMES_SHADOWING_NODE = "^(net|http)$";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "An import circle (type-only imports included) ties its modules into one: break it by moving what both need into a lower module.",
      from: {},
      to: { circular: true },
    },
    {
      name: "core-imports-only-core",
      severity: "error",
      comment: "firmware/ is the engine-neutral core: it imports its own modules and tweetnacl, nothing of Node, Moddable or any port.",
      from: { path: "^firmware/" },
      to: { pathNot: ["^firmware/", "^node_modules/tweetnacl/"] },
    },
    {
      name: "moddable-ports-import-core-and-own-folder",
      severity: "error",
      comment: "hal/esp32 and hal/lin implement the core's contracts on Moddable: the core, their own folder, tweetnacl and Moddable modules (names Node cannot resolve), nothing else.",
      from: { path: "^hal/(esp32|lin)/" },
      to: {
        pathNot: ["^firmware/", "^hal/$1/", "^node_modules/tweetnacl/"],
        couldNotResolve: false,
        dependencyTypesNot: ["core"],
      },
    },
    {
      name: "moddable-ports-no-node-builtins",
      severity: "error",
      comment: "A Node built-in in a Moddable port is a Node import, unless Moddable has a module of the same name.",
      from: { path: "^hal/(esp32|lin)/" },
      to: { dependencyTypes: ["core"], pathNot: MODDABLE_NAMES_SHADOWING_NODE },
    },
    {
      name: "node-port-imports-core-and-own-folder",
      severity: "error",
      comment: "hal/node implements the core's contracts on Node: the core, its own folder, Node built-ins and npm packages.",
      from: { path: "^hal/node/" },
      to: { pathNot: ["^firmware/", "^hal/node/", "^node_modules/"], dependencyTypesNot: ["core"] },
    },
    {
      name: "xs-lane-imports-core-only",
      severity: "error",
      comment:
        "xs/ runs the core inside xsnap and bridges the Hal its caller hands it to Node: the core, its own folder, Node built-ins and npm packages (esbuild, xsnap). It needs no port: tests and benchmarks pass hal/node in.",
      from: { path: "^xs/" },
      to: { pathNot: ["^firmware/", "^xs/", "^node_modules/"], dependencyTypesNot: ["core"] },
    },
    {
      name: "simulator-imports-core-and-node-port",
      severity: "error",
      comment:
        "simulator/ stands on the core and the Node port. Its one look into hal/esp32: the factory command writes the ESP32 port's NVS factory namespace, so it shares that port's key names and limits (engine-neutral modules).",
      from: { path: "^simulator/" },
      to: {
        pathNot: ["^firmware/", "^hal/node/", "^simulator/", "^node_modules/", "^hal/esp32/(factory|nvs-limits|storage-key)\\.ts$"],
        dependencyTypesNot: ["core"],
      },
    },
    {
      name: "only-tests-and-benchmarks-import-them",
      severity: "error",
      comment: "test/ and bench/ may import anything; nothing else may import them.",
      from: { pathNot: "^(test|bench)/" },
      to: { path: "^(test|bench)/" },
    },
    {
      name: "only-tools-tests-and-benchmarks-import-tools",
      severity: "error",
      comment: "tools/ is build and lane tooling: no product code depends on it.",
      from: { pathNot: "^(tools|test|bench)/" },
      to: { path: "^tools/" },
    },
    {
      name: "resolvable-outside-moddable-ports",
      severity: "error",
      comment: "Outside the Moddable ports every import must resolve; a relative one must resolve everywhere.",
      from: { pathNot: "^hal/(esp32|lin)/" },
      to: { couldNotResolve: true },
    },
    {
      name: "relative-imports-resolve",
      severity: "error",
      from: {},
      to: { couldNotResolve: true, path: "^\\.{1,2}/" },
    },
  ],
  options: {
    // Type-only imports count: a circle of types is still a circle.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "^node_modules/" },
    // node_modules is not excluded (that would drop every import of a package from the graph): only not followed.
    exclude: { path: ["^dist/", "^\\.cache/", "^test/moddable/image/"] },
    // ES modules, require(), and triple-slash references (/// <reference types|path>) count as imports.
    moduleSystems: ["es6", "cjs", "tsd"],
    // node_modules may be a symlink to a shared install (a git worktree): keep its paths under node_modules/.
    preserveSymlinks: true,
    // Resolve packages as Node and tsx do, through their "exports" (aedes and others have no "main").
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default"],
      mainFields: ["module", "main", "types", "typings"],
    },
  },
};
