/**
 * The platform child process the fleet and the benchmarks start (simulator/platform-process.ts):
 * the config file it writes holds ProductSecrets (and, for `fleet --ota`, a Cloud API key pair),
 * so it is its owner's alone, whatever the umask and whether or not the file was there before.
 */
import { strict as assert } from "node:assert";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startPlatformProcess } from "../simulator/platform-process";
import { callCloudApi } from "../simulator/cloud-api-client";
import { tempDir } from "./platform-helpers";

describe("platform process: its config file", function () {
  this.timeout(40_000);
  const scratch = tempDir("platform-process-");
  after(() => scratch.remove());

  it("writes the config holding the ProductSecret and the key pair at mode 0600, narrowing a file that was readable by others, and the platform uses the pair", async () => {
    const configFile = join(scratch.dir, "products.json");
    writeFileSync(configFile, "{}", { mode: 0o644 });
    const cloudApi = { secretId: "AKIDplatformProcessTest01", secretKey: "platformProcessTestKey0123456789" };
    const platform = await startPlatformProcess({
      configFile, log: false,
      config: { cloudApi, products: [{ productId: "PPROC00001", productSecret: "pprocProductSecret4Rt8Zq", dynamicRegistration: true, autoCreate: false, authType: "psk", devices: ["d1"] }] },
    });
    try {
      assert.equal(statSync(configFile).mode & 0o777, 0o600);
      const answer = await callCloudApi({ url: platform.httpUrl, ...cloudApi }, "DescribeProductDynamicRegister", { ProductId: "PPROC00001" });
      assert.equal(answer.RegisterType, 1, "the child platform took the key pair and the product from the file");
    } finally {
      await platform.stop();
    }
    const fresh = join(scratch.dir, "fresh.json");
    const second = await startPlatformProcess({ configFile: fresh, log: false, config: { products: [] } });
    await second.stop();
    assert.equal(statSync(fresh).mode & 0o777, 0o600, "a new file too, not the umask's 0644");
  });
});
