/**
 * Which roots the simulated device trusts, per endpoint, as the ESP32 port pins them
 * (docs/ESP32.md "Trust anchors"): DigiCert Global Root CA for registration and Tencent's own
 * IoT root for MQTT when the URL is Tencent's. No system store holds the Tencent IoT root, so
 * Node's bundled roots cannot verify Tencent's broker. A file given with --platform-ca or
 * --mqtt-ca replaces the default (a mock platform's own CA, say); elsewhere Node's bundled roots.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./paths";

/** The PEMs shipped in hal/node/certs, transcribed from the ESP32 port's DER files (test/trust-anchors.test.ts checks their fingerprints). */
export const TENCENT_ANCHOR_FILES = {
  register: join(REPO_ROOT, "hal", "node", "certs", "digicert-global-root-ca.pem"),
  mqtt: join(REPO_ROOT, "hal", "node", "certs", "tencent-iot-root-ca.pem"),
} as const;

/** Tencent IoT Explorer's device endpoints: gateway.tencentdevices.com (registration), <ProductId>.iotcloud.tencentdevices.com (MQTT). */
const TENCENT_DEVICE_DOMAIN = "tencentdevices.com";

export function isTencentDeviceHost(url: string): boolean {
  let hostname: string;
  try {
    hostname = new URL(url).hostname.toLowerCase().replace(/\.$/, "");
  } catch {
    return false;
  }
  return hostname === TENCENT_DEVICE_DOMAIN || hostname.endsWith(`.${TENCENT_DEVICE_DOMAIN}`);
}

const read = new Map<string, string>();

/** A shipped PEM, read once per process (a fleet starts thousands of devices). */
function readAnchor(file: string): string {
  let pem = read.get(file);
  if (pem === undefined) read.set(file, (pem = readFileSync(file, "utf8")));
  return pem;
}

export interface TrustAnchors {
  /** PEM trusted for https:// registration; undefined: Node's bundled roots. */
  registerCa?: string;
  /** PEM trusted for mqtts://; undefined: Node's bundled roots. */
  mqttCa?: string;
}

/**
 * The anchors for these endpoints: an override when given (PEM text), else Tencent's pinned
 * root for a TLS URL on Tencent's device domain, else none.
 */
export function trustAnchorsFor(registerUrl: string, mqttUrl: string, overrides: TrustAnchors = {}): TrustAnchors {
  const pinned = (url: string, scheme: string, file: string) =>
    url.startsWith(scheme) && isTencentDeviceHost(url) ? readAnchor(file) : undefined;
  return {
    registerCa: overrides.registerCa ?? pinned(registerUrl, "https:", TENCENT_ANCHOR_FILES.register),
    mqttCa: overrides.mqttCa ?? pinned(mqttUrl, "mqtts:", TENCENT_ANCHOR_FILES.mqtt),
  };
}
