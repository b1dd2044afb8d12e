/**
 * Certificate products end to end: the platform issues an X.509 certificate and key from its
 * mock CA, the device seals them into flash and connects
 * over TLS with the certificate as its identity.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPlatform, type RunningPlatform } from "../simulator/platform/index";
import { startSimDevice, type SimDeviceOptions } from "../simulator/sim-device";
import { getDevInfo, inspectFlash, setDevInfo } from "../firmware/record-store";

const PRODUCT_ID = "CERTPRD001";
const PRODUCT_SECRET = "certProductSecretN3x8Vb2Q";

describe("certificate products (real TLS on loopback)", function () {
  this.timeout(60_000);
  let platform: RunningPlatform;
  let dir: string;
  let serverCert: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "exs-cert-"));
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", join(dir, "server.key"), "-out", join(dir, "server.pem"), "-days", "2",
      "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
    serverCert = readFileSync(join(dir, "server.pem"), "utf8");
    platform = await startPlatform({
      memory: true,
      log: () => undefined,
      tls: { key: readFileSync(join(dir, "server.key")), cert: serverCert },
      config: { products: [{ productId: PRODUCT_ID, productSecret: PRODUCT_SECRET, dynamicRegistration: true, authType: "cert", devices: ["cdev1", "cdev2", "cdev3"] }] },
    });
  });

  after(async () => {
    await platform.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function device(deviceName: string, overrides: Partial<SimDeviceOptions> = {}) {
    return startSimDevice({
      flashFile: join(dir, `${deviceName}.flash`),
      registerUrl: `${platform.httpUrl}/device/register`,
      mqttUrl: platform.mqttTlsUrl!,
      ca: serverCert,
      factoryInfo: { productId: PRODUCT_ID, productSecret: PRODUCT_SECRET, deviceName, authMode: "cert" },
      logger: { log: () => undefined },
      boot: { backoff: { baseMs: 10, capMs: 50, maxAttempts: 3 } },
      ...overrides,
    });
  }

  it("registers, seals the certificate and key in both flash slots, and comes online over TLS with them", async () => {
    const cold = device("cdev1");
    await cold.task.online;
    const info = getDevInfo(cold.hal)!;
    const cert = new X509Certificate(info.clientCert!);
    assert.match(cert.subject, new RegExp(`CN=${PRODUCT_ID}cdev1`));
    assert.match(info.clientKey!, /-----BEGIN (EC |RSA )?PRIVATE KEY-----/);
    const report = inspectFlash(cold.hal);
    assert.equal(report.status, "ok");
    assert.ok(report.slots.every((slot) => slot.state === "valid"), "both slots hold the record");
    await cold.close();

    const warm = device("cdev1");
    await warm.task.online;
    assert.equal(warm.counters.httpRequests, 0);
    assert.equal(warm.counters.flashWrites, 0);
    await warm.close();
  });

  it("a certificate product's device cannot connect with its certificate on the plain TCP port", async () => {
    const first = device("cdev2");
    await first.task.online;
    await first.close();
    const plain = device("cdev2", { mqttUrl: platform.mqttUrl });
    await assert.rejects(plain.task.online, (error: { code?: string; message?: string }) => {
      assert.equal(error.code, "mqtt-refused");
      // Not "check the device secret": the fix is the URL.
      assert.match(error.message ?? "", /a certificate device presents its client certificate only over TLS: use an mqtts:\/\/ broker URL/);
      return true;
    });
    await plain.close();
  });

  it("a stored client key that TLS cannot load ends in failed:invalid-device-info after one attempt, not a retry loop", async () => {
    const first = device("cdev3");
    await first.task.online;
    // The record seals and reads back; only TLS can tell the key is unusable.
    setDevInfo(first.hal, { ...getDevInfo(first.hal)!, clientKey: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" }, { mirror: true });
    await first.close();
    const broken = device("cdev3", { boot: { backoff: { baseMs: 10, capMs: 50, maxAttempts: 5 } } });
    await assert.rejects(broken.task.online, (error: { code?: string; message?: string }) =>
      error.code === "invalid-device-info" && /client certificate or key/.test(error.message ?? ""));
    assert.equal(broken.task.state, "failed:invalid-device-info");
    assert.equal(broken.counters.mqttConnects, 1, "tried once, not retried");
    assert.equal(broken.counters.flashWrites, 0, "the record is left as it is");
    await broken.close();
  });
});
