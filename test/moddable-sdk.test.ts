/**
 * Where the Moddable SDK comes from (tools/moddable/sdk.ts): the vendored tarball by default,
 * checked against its SHA256SUMS before anything is extracted; $MODDABLE wins. The build itself
 * is the Moddable lane's and build:esp32's job; this checks the choice and the checksum only.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { locateSdk, REPO_ROOT, SdkChecksumError, SdkUnavailableError, VENDOR_DIR, vendoredTarball } from "../tools/moddable/sdk";

describe("Moddable SDK source (tools/moddable/sdk.ts, vendor/moddable)", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "exs-sdk-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("vendors the SDK tarball inside the repository, with a checksum that matches it and its licences", () => {
    const tarball = vendoredTarball();
    assert.ok(tarball, "vendor/moddable holds a moddable-sdk-*-src.tar.gz");
    assert.equal(path.relative(REPO_ROOT, tarball), path.join("vendor", "moddable", path.basename(tarball)));
    const sums = readFileSync(path.join(VENDOR_DIR, "SHA256SUMS"), "utf8");
    const digest = createHash("sha256").update(readFileSync(tarball)).digest("hex");
    assert.match(sums, new RegExp(`^${digest}  ${path.basename(tarball).replace(/\./g, "\\.")}$`, "m"));
    for (const licence of ["gpl-3.0.txt", "lgpl-3.0.txt", "NOTICE"]) {
      assert.ok(readFileSync(path.join(VENDOR_DIR, "licenses", licence), "utf8").length > 1000, licence);
    }
  });

  it("refuses a tarball whose SHA256SUMS does not match, before extracting anything", async () => {
    const vendor = path.join(dir, "vendor");
    mkdirSync(vendor);
    writeFileSync(path.join(vendor, "moddable-sdk-9.9.9-src.tar.gz"), "not the SDK");
    writeFileSync(path.join(vendor, "SHA256SUMS"), `${"0".repeat(64)}  moddable-sdk-9.9.9-src.tar.gz\n`);
    const cacheDir = path.join(dir, "cache");
    await assert.rejects(locateSdk({ env: {}, vendorDir: vendor, cacheDir, log: () => undefined }), (error: unknown) =>
      error instanceof SdkChecksumError && /SHA-256 [0-9a-f]{64}, but .*SHA256SUMS says 0{64}/.test(error.message));
    assert.equal(existsSync(cacheDir), false, "nothing was extracted");
  });

  it("refuses a vendored tarball without a SHA256SUMS", async () => {
    const vendor = path.join(dir, "vendor");
    mkdirSync(vendor);
    writeFileSync(path.join(vendor, "moddable-sdk-9.9.9-src.tar.gz"), "not the SDK");
    await assert.rejects(locateSdk({ env: {}, vendorDir: vendor, cacheDir: path.join(dir, "cache"), log: () => undefined }), SdkChecksumError);
  });

  it("lets $MODDABLE win over the vendored tarball, and says what it lacks", async () => {
    await assert.rejects(locateSdk({ env: { MODDABLE: dir }, log: () => undefined }), (error: unknown) =>
      error instanceof SdkUnavailableError && error.message.includes(`MODDABLE=${dir} has no host tools`));
  });

  it("without MODDABLE, a tarball or a cached SDK says so as SdkUnavailableError (the callers skip, or fail in CI)", async () => {
    await assert.rejects(locateSdk({ env: {}, vendorDir: path.join(dir, "none"), cacheDir: path.join(dir, "cache"), log: () => undefined }), SdkUnavailableError);
  });
});

describe("the repository is self-contained", () => {
  it("names no path outside itself in CI, scripts, tools, docs or tests", () => {
    // git grep exits 1 when nothing matches: that is the pass.
    const result = spawnSync("git", ["grep", "-n", "-I", "-E", String.raw`\.\./shared|/work/(shared|main)`, "--", ".", ":!package-lock.json"], { cwd: REPO_ROOT, encoding: "utf8" });
    assert.equal(result.status, 1, `paths outside the repository:\n${result.stdout}`);
  });
});
