// StrykerJS mutation testing (`npm run mutate`): not part of CI or `npm test`, see docs/TESTING.md.
// Narrow it with `npm run mutate -- --mutate firmware/seal.ts` (one file or glob at a time).
// Mocha runs in Stryker's worker process, so tsx is loaded through the worker's Node flags, not
// through .mocharc.json's node-option.

/** In-process test files that exercise the wire, storage and protocol code (no Moddable lane,
 * browser, bench or CLI-spawning tests: those cannot see the active mutant or cost minutes; not
 * secrets-in-logs either, whose XS-lane case bundles the instrumented core into xsnap, nor
 * boot-platform, whose backoff-timing case fails on a loaded machine and stops the run). */
const testFiles = [
  "test/mqtt-codec.test.ts",
  "test/mqtt-packet-errors.test.ts",
  "test/mqtt-aedes.test.ts",
  "test/mqtt-credentials.test.ts",
  "test/record-store.test.ts",
  "test/esp32-hal-pure.test.ts",
  "test/dynreg.test.ts",
  "test/dynreg-sign.test.ts",
  "test/dynreg-response.test.ts",
  "test/core-basics.test.ts",
  "test/boot.test.ts",
  "test/boot-cert.test.ts",
  "test/device-template.test.ts",
  "test/platform-register.test.ts",
  "test/platform-thing.test.ts",
  "test/platform-mqtt.test.ts",
  "test/interop-c-sdk.test.ts",
];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: "npm",
  testRunner: "mocha",
  testRunnerNodeArgs: ["--import", "tsx"],
  mochaOptions: {
    config: ".mocharc.json",
    spec: testFiles,
    require: ["test/build-fresh.mjs"],
  },
  checkers: ["typescript"],
  tsconfigFile: "test/mutation/tsconfig.json",
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  coverageAnalysis: "perTest",
  // Wire and storage code first, then the platform's protocol code.
  mutate: [
    "firmware/mqtt/*.ts",
    "firmware/record-store.ts",
    "firmware/seal.ts",
    "firmware/dynreg*.ts",
    "firmware/mqtt-credentials.ts",
    "firmware/template-session.ts",
    "firmware/data-template.ts",
    "firmware/boot.ts",
    "simulator/platform/register-api.ts",
    "simulator/platform/payload.ts",
    "simulator/platform/signature.ts",
    "simulator/platform/mqtt-auth.ts",
    "simulator/platform/thing.ts",
  ],
  // The results of the last run: with it, a run re-tests only mutants whose code or tests changed.
  incremental: true,
  incrementalFile: "test/mutation/stryker-incremental.json",
  // 2 cores shared by several people: one test worker, one checker.
  concurrency: 1,
  timeoutMS: 10000,
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: "reports/mutation/mutation.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  ignorePatterns: [".cache", ".data", "tmp", "dist", "reports", "bench/.baseline", "*.flash", "*.flash.efuse"],
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
};
