/**
 * The Node port's trust anchors for Tencent's real endpoints (simulator/trust-anchors.ts), as
 * the ESP32 port pins them: the shipped PEMs are the very roots (by fingerprint and
 * self-signature), chosen per endpoint by URL, each reaching only its own transport, and
 * overridable from the CLI, where a mock platform's own CA keeps working.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HalNetworkError } from "../firmware/contracts";
import { createNodeHal } from "../hal/node/index";
import { startPlatform, type RunningPlatform } from "../simulator/platform/index";
import { isTencentDeviceHost, TENCENT_ANCHOR_FILES, trustAnchorsFor } from "../simulator/trust-anchors";
import { runProcess } from "./lib/run-process";

const DIGICERT_SHA256 = "43:48:A0:E9:44:4C:78:CB:26:5E:05:8D:5E:89:44:B4:D8:4F:96:62:BD:26:DB:25:7F:89:34:A4:43:C7:01:61";
const TENCENT_IOT_SHA256 = "3B:1F:A1:E1:14:9E:3F:3B:D3:72:27:30:DB:EF:9E:B7:2E:C4:B9:FD:95:55:30:63:A9:C6:0B:A6:27:78:E7:40";
const TENCENT_GATEWAY = "https://ap-guangzhou.gateway.tencentdevices.com/device/register";
const TENCENT_BROKER = "mqtts://ABCDEFGHIJ.iotcloud.tencentdevices.com:8883";
const BIN = join(import.meta.dirname, "..", "simulator", "bin", "explorer-xs.js");

describe("trust anchors of the Node port", () => {
  it("ships DigiCert Global Root CA and Tencent's IoT root, byte for byte the roots the ESP32 port pins", () => {
    const digicert = new X509Certificate(readFileSync(TENCENT_ANCHOR_FILES.register));
    const tencent = new X509Certificate(readFileSync(TENCENT_ANCHOR_FILES.mqtt));
    assert.equal(digicert.fingerprint256, DIGICERT_SHA256);
    assert.equal(tencent.fingerprint256, TENCENT_IOT_SHA256);
    assert.match(digicert.subject, /CN=DigiCert Global Root CA/);
    assert.match(tencent.subject, /OU=Tencent Iothub/);
    // Self-signed roots whose signatures verify: no byte changed in transcription.
    assert.ok(digicert.verify(digicert.publicKey) && tencent.verify(tencent.publicKey));
    assert.deepEqual(tencent.raw, readFileSync(join(import.meta.dirname, "..", "hal", "esp32", "certs", "tencent-iot-root-ca.der")));
  });

  it("picks each root for Tencent's TLS endpoints only, and an override before it", () => {
    const pinned = trustAnchorsFor(TENCENT_GATEWAY, TENCENT_BROKER);
    assert.equal(new X509Certificate(pinned.registerCa!).fingerprint256, DIGICERT_SHA256);
    assert.equal(new X509Certificate(pinned.mqttCa!).fingerprint256, TENCENT_IOT_SHA256);
    assert.deepEqual(trustAnchorsFor("https://127.0.0.1:8443/device/register", "mqtts://127.0.0.1:8883"), { registerCa: undefined, mqttCa: undefined });
    assert.deepEqual(trustAnchorsFor("http://gateway.tencentdevices.com/device/register", "mqtt://A.iotcloud.tencentdevices.com:1883"), { registerCa: undefined, mqttCa: undefined }, "no TLS, no anchor");
    assert.deepEqual(trustAnchorsFor(TENCENT_GATEWAY, TENCENT_BROKER, { registerCa: "R", mqttCa: "M" }), { registerCa: "R", mqttCa: "M" });
    for (const host of ["https://tencentdevices.com.evil.example/", "https://eviltencentdevices.com/", "not a url"]) assert.equal(isTencentDeviceHost(host), false, host);
    assert.equal(isTencentDeviceHost("mqtts://ABC.IOTCLOUD.TencentDevices.com.:8883"), true);
  });

  describe("each transport trusts its own anchor (real TLS on loopback)", function () {
    this.timeout(60_000);
    let dir: string;
    let serverCert: string;
    let serverKey: string;
    let platform: RunningPlatform;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), "exs-anchors-"));
      execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", join(dir, "server.key"), "-out", join(dir, "server.pem"), "-days", "2",
        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
      serverCert = readFileSync(join(dir, "server.pem"), "utf8");
      serverKey = readFileSync(join(dir, "server.key"), "utf8");
      platform = await startPlatform({
        memory: true, log: () => undefined, tls: { key: serverKey, cert: serverCert },
        config: { products: [{ productId: "ANCHORPRD1", productSecret: "anchorProductSecretQ7Zr4", dynamicRegistration: true, authType: "psk", devices: ["a1"] }] },
      });
    });
    after(async () => {
      await platform?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it("registerCa reaches the HTTP client only, mqttCa the socket only", async () => {
      const server = createServer({ key: serverKey, cert: serverCert }, (_req, res) => res.end("ok"));
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const { port } = server.address() as AddressInfo;
      try {
        const hal = createNodeHal({ registerCa: serverCert, mqttCa: readFileSync(TENCENT_ANCHOR_FILES.mqtt, "utf8") });
        const response = await hal.http.request({ method: "GET", url: `https://127.0.0.1:${port}/`, headers: {}, timeoutMs: 5_000, maxResponseBytes: 64 });
        assert.equal(response.status, 200);
        await assert.rejects(
          hal.socket.connect({ host: "127.0.0.1", port, tls: {} }, { onData: () => undefined, onClose: () => undefined }, 5_000),
          (error: unknown) => error instanceof HalNetworkError && error.code === "tls",
        );
      } finally {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });

    it("device --platform-ca/--mqtt-ca: a mock platform's own CA over https:// and mqtts://; without them TLS refuses it", async () => {
      const info = join(dir, "a1.json");
      writeFileSync(info, JSON.stringify({ auth_mode: "KEY", productId: "ANCHORPRD1", productSecret: "anchorProductSecretQ7Zr4", deviceName: "a1" }));
      const endpoints = ["--platform", platform.httpsUrl!, "--mqtt", platform.mqttTlsUrl!];
      const untrusted = await runProcess(process.execPath, [BIN, "device", "--flash", join(dir, "u.flash"), "--device-info", info, ...endpoints, "--once"]);
      assert.equal(untrusted.code, 3, untrusted.stdout + untrusted.stderr);
      assert.match(untrusted.stderr, /device failed: network: .*(self-signed|self signed|certificate)/i);
      const cert = join(dir, "server.pem");
      const trusted = await runProcess(process.execPath, [BIN, "device", "--flash", join(dir, "t.flash"), "--device-info", info, ...endpoints, "--platform-ca", cert, "--mqtt-ca", cert, "--once"]);
      assert.equal(trusted.code, 0, trusted.stdout + trusted.stderr);
      assert.match(trusted.stdout, /report acknowledged/);
      const notPem = await runProcess(process.execPath, [BIN, "device", "--flash", join(dir, "t.flash"), ...endpoints, "--mqtt-ca", info, "--once"]);
      assert.equal(notPem.code, 2);
      assert.match(notPem.stderr, /--mqtt-ca .*a1\.json: no PEM certificate in it/);
    });
  });
});
