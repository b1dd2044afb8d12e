/**
 * Every path a device takes through its secrets, for the tests that read a port's raw log output
 * and look for them: register, store, connect (TCP and TLS), report, control, a warm boot, and
 * each fatal end the mock platform can cause. A port under test supplies `BootPort`; the flows
 * run against one mock platform with TLS, and `needles()` lists every secret that took part, in
 * every form it could leak in (ProductSecret, PSK in Base64 and hex, MQTT password, each body
 * line of a certificate or key).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqttPacket from "mqtt-packet";
import type { BootOptions } from "../../firmware/boot";
import type { DeviceInfo } from "../../firmware/device-info";
import { setDevInfo } from "../../firmware/record-store";
import { createMemoryFlash, type NodeFlash } from "../../hal/node/flash";
import { createNodeHal } from "../../hal/node/index";
import type { Hal, SocketTransport } from "../../firmware/contracts";
import { startPlatform, type RunningPlatform } from "../../simulator/platform/index";
import { startHttpFront, type HttpFront } from "../faults/lib/fault-proxy";

export const PSK_PRODUCT = { productId: "LEAKPSK001", productSecret: "leakPskProductSecretQ9w2Zt" };
export const STRICT_PRODUCT = { productId: "LEAKSTR001", productSecret: "leakStrictProductSecretM4" };
export const CERT_PRODUCT = { productId: "LEAKCRT001", productSecret: "leakCertProductSecretH7p3" };
export const OFF_PRODUCT = { productId: "LEAKOFF001", productSecret: "leakOffProductSecretB5n8X" };
/** Secrets that are wrong on purpose: they must not leak either. */
export const WRONG_PRODUCT_SECRET = "wrongProductSecretZ8x4Kq1";
export const SHORT_PRODUCT_SECRET = "shortSecret9Kq2"; // 15 characters: below the 16 the AES key needs
export const PLANTED_PSK = "cGxhbnRlZFdyb25nUFNLIQ==";

export interface SecretsEnv {
  platform: RunningPlatform;
  serverCert: string;
  /** A registration front that answers with a payload under another key (payload-undecryptable). */
  wrongKeyFront: HttpFront;
  close(): Promise<void>;
}

export async function startSecretsEnv(): Promise<SecretsEnv> {
  const dir = mkdtempSync(join(tmpdir(), "exs-leaks-"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", join(dir, "server.key"), "-out", join(dir, "server.pem"), "-days", "2",
    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
  const serverCert = readFileSync(join(dir, "server.pem"), "utf8");
  const platform = await startPlatform({
    memory: true,
    log: () => undefined,
    tls: { key: readFileSync(join(dir, "server.key")), cert: serverCert },
    config: {
      products: [
        { ...PSK_PRODUCT, dynamicRegistration: true, autoCreate: true, authType: "psk", devices: [] },
        { ...STRICT_PRODUCT, dynamicRegistration: true, autoCreate: false, authType: "psk", devices: [] },
        { ...CERT_PRODUCT, dynamicRegistration: true, autoCreate: true, authType: "cert", devices: [] },
        { ...OFF_PRODUCT, dynamicRegistration: false, autoCreate: true, authType: "psk", devices: [] },
      ],
    },
  });
  const wrongKeyFront = await startHttpFront(platform.httpUrl, PSK_PRODUCT.productSecret, "psk");
  return {
    platform,
    serverCert,
    wrongKeyFront,
    async close() {
      await wrongKeyFront.close();
      await platform.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What one boot ended with, and what it said on the way. */
export interface BootResult {
  outcome: string;
  /** The fatal error's message, as the caller of the task receives it. */
  message?: string;
  /** The boot events' details, as listeners receive them. */
  details: string[];
}

export interface BootRequest {
  flash: NodeFlash;
  options: BootOptions;
  /** Trust the platform's TLS certificate (TLS MQTT). */
  ca?: string;
  /** Once online: one more report, then a control message answered. */
  exercise: boolean;
  /** The flash continues the same device's last boot (a warm boot): a port with flash files reuses its file. */
  continues?: boolean;
  /** The flash cuts power at this write (so a port with flash files can arm its own). */
  powerCutAtWrite?: number;
}

/** A port under test: boots the core once and reports how it ended. */
export interface BootPort {
  boot(request: BootRequest, env: SecretsEnv): Promise<BootResult>;
}

export interface Flow {
  name: string;
  expect: string;
  request(env: SecretsEnv, port: string): BootRequest;
}

const backoff = { baseMs: 5, capMs: 20, maxAttempts: 3 };
const factory = (product: { productId: string; productSecret: string }, deviceName: string, overrides: Partial<DeviceInfo> = {}): DeviceInfo =>
  ({ ...product, deviceName, authMode: "psk", ...overrides });
const common = (env: SecretsEnv, info: DeviceInfo, mqtt: "plain" | "tls" = "plain"): BootOptions => ({
  registerUrl: `${env.platform.httpUrl}/device/register`,
  mqttUrl: mqtt === "tls" ? env.platform.mqttTlsUrl! : env.platform.mqttUrl,
  factoryInfo: info,
  initialReport: { power_switch: 1 },
  backoff,
  replyTimeoutMs: 10_000,
  connectTimeoutMs: 10_000,
});

/** Flash files of devices that come back for a warm boot, by port and flow. */
const keptFlash = new Map<string, NodeFlash>();

export const FLOWS: Flow[] = [
  {
    name: "psk: register, store, connect, report, control",
    expect: "online",
    request: (env, port) => {
      const flash = createMemoryFlash();
      keptFlash.set(`${port}/psk`, flash);
      return { flash, options: common(env, factory(PSK_PRODUCT, `${port}-psk`)), exercise: true };
    },
  },
  {
    name: "psk: warm boot from the stored secret, report, control",
    expect: "online",
    request: (env, port) => ({ flash: keptFlash.get(`${port}/psk`)!.reboot(), options: common(env, factory(PSK_PRODUCT, `${port}-psk`)), exercise: true, continues: true }),
  },
  {
    name: "cert: register, store certificate and key, connect over TLS, report, control",
    expect: "online",
    request: (env, port) => ({ flash: createMemoryFlash(), options: common(env, factory(CERT_PRODUCT, `${port}-cert`, { authMode: "cert" }), "tls"), ca: env.serverCert, exercise: true }),
  },
  {
    name: "fatal: wrong ProductSecret",
    expect: "failed:signature-invalid",
    request: (env, port) => ({ flash: createMemoryFlash(), options: common(env, factory({ ...PSK_PRODUCT, productSecret: WRONG_PRODUCT_SECRET }, `${port}-wrong`)), exercise: false }),
  },
  {
    name: "fatal: dynamic registration disabled",
    expect: "failed:dynreg-disabled",
    request: (env, port) => ({ flash: createMemoryFlash(), options: common(env, factory(OFF_PRODUCT, `${port}-off`)), exercise: false }),
  },
  {
    name: "fatal: device not created and auto-create off",
    expect: "failed:device-unknown",
    request: (env, port) => ({ flash: createMemoryFlash(), options: common(env, factory(STRICT_PRODUCT, `${port}-strict`)), exercise: false }),
  },
  {
    name: "fatal: unknown product",
    expect: "failed:product-unknown",
    request: (env, port) => ({ flash: createMemoryFlash(), options: common(env, factory({ productId: "LEAKNONE01", productSecret: PSK_PRODUCT.productSecret }, `${port}-none`)), exercise: false }),
  },
  {
    name: "fatal: the device was activated before and its flash was erased",
    expect: "failed:device-activated",
    request: (env, port) => ({ flash: createMemoryFlash(), options: common(env, factory(PSK_PRODUCT, `${port}-psk`)), exercise: false }),
  },
  {
    name: "fatal: a PSK product's device built as a certificate device",
    expect: "failed:encryption-type-mismatch",
    request: (env, port) => ({ flash: createMemoryFlash(), options: common(env, factory(PSK_PRODUCT, `${port}-mismatch`, { authMode: "cert" })), exercise: false }),
  },
  {
    name: "fatal: the stored PSK is not the platform's",
    expect: "failed:mqtt-refused",
    request: (env, port) => {
      const flash = createMemoryFlash();
      const info = factory(PSK_PRODUCT, `${port}-planted`);
      return { flash: plant(flash, { ...info, deviceSecret: PLANTED_PSK }), options: common(env, info), exercise: false };
    },
  },
  {
    name: "fatal: a certificate device on the plain TCP port, after registering",
    expect: "failed:mqtt-refused",
    request: (env, port) => ({ flash: createMemoryFlash(), options: common(env, factory(CERT_PRODUCT, `${port}-certplain`, { authMode: "cert" })), exercise: false }),
  },
  {
    name: "fatal: the registration payload does not decrypt",
    expect: "failed:payload-undecryptable",
    request: (env, port) => {
      env.wrongKeyFront.queue.push("wrong-key-payload");
      return { flash: createMemoryFlash(), options: { ...common(env, factory(PSK_PRODUCT, `${port}-undecryptable`)), registerUrl: `${env.wrongKeyFront.url}/device/register` }, exercise: false };
    },
  },
  {
    name: "fatal: ProductSecret too short",
    expect: "failed:invalid-device-info",
    request: (env, port) => ({ flash: createMemoryFlash(), options: common(env, factory({ ...PSK_PRODUCT, productSecret: SHORT_PRODUCT_SECRET }, `${port}-short`)), exercise: false }),
  },
  {
    name: "fatal: power cut at the first flash write of a registration",
    expect: "failed:storage",
    request: (env, port) => ({ flash: createMemoryFlash({ powerCutAtWrite: 1 }), options: common(env, factory(PSK_PRODUCT, `${port}-cut`)), exercise: false, powerCutAtWrite: 1 }),
  },
];

/** Writes a record into a flash as a previous boot would have (same storage key as the boot's Hal). */
function plant(flash: NodeFlash, info: DeviceInfo): NodeFlash {
  setDevInfo(createNodeHal({ flash, storageKey: STORAGE_KEY }), info, { mirror: true });
  return flash.reboot();
}

/** The storage key every flow's Hal uses (the test boards' eFuse). */
export const STORAGE_KEY = new Uint8Array(32).fill(5);

/** Sends one report, then a control message, and waits for the device's control_reply. */
export async function exercise(env: SecretsEnv, info: DeviceInfo, report: () => Promise<unknown>): Promise<void> {
  await report();
  const sent = await env.platform.thing.control(info.productId, info.deviceName, { power_switch: 0 });
  for (let i = 0; i < 500 && (await env.platform.registry.getControl(sent.clientToken))?.reply === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if ((await env.platform.registry.getControl(sent.clientToken))?.reply === undefined) throw new Error("the device never answered the control message");
}

/** A socket that records the MQTT passwords the device sends (read with mqtt-packet), for the needles. */
export function recordingPasswords(inner: SocketTransport, passwords: Set<string>): SocketTransport {
  return {
    async connect(endpoint, handlers, timeoutMs) {
      const socket = await inner.connect(endpoint, handlers, timeoutMs);
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      parser.on("packet", (packet: mqttPacket.Packet) => {
        if (packet.cmd === "connect" && packet.password && packet.password.length > 0) passwords.add(packet.password.toString());
      });
      parser.on("error", () => undefined);
      return {
        write(bytes) {
          parser.parse(Buffer.from(bytes));
          socket.write(bytes);
        },
        close: () => socket.close(),
      };
    },
  };
}

/** Every secret that took part, in every form it could leak in. */
export async function needles(env: SecretsEnv, extra: Iterable<string> = []): Promise<string[]> {
  const found = new Set<string>([
    PSK_PRODUCT.productSecret, STRICT_PRODUCT.productSecret, CERT_PRODUCT.productSecret, OFF_PRODUCT.productSecret,
    WRONG_PRODUCT_SECRET, SHORT_PRODUCT_SECRET, PLANTED_PSK, ...extra,
  ]);
  for (const product of [PSK_PRODUCT, STRICT_PRODUCT, CERT_PRODUCT, OFF_PRODUCT]) {
    for (const device of await env.platform.registry.listDevices(product.productId)) {
      if (device.psk) found.add(device.psk);
      for (const pem of [device.certPem, device.keyPem]) {
        if (pem) for (const line of pem.split("\n")) if (line.length >= 16 && !line.startsWith("-----")) found.add(line);
      }
    }
  }
  const forms = new Set<string>();
  for (const secret of found) {
    forms.add(secret);
    if (/^[A-Za-z0-9+/]+={0,2}$/.test(secret) && secret.length % 4 === 0 && secret.length >= 16) {
      const hex = Buffer.from(secret, "base64").toString("hex");
      forms.add(hex);
      forms.add(hex.toUpperCase());
    }
    // An MQTT password's hex HMAC alone, without its ";hmacsha256".
    const hmac = /^([0-9a-f]{40,64});hmacsha/.exec(secret);
    if (hmac) forms.add(hmac[1]);
  }
  return [...forms];
}

/** The needles found in `text`, each with a little context. */
export function leaks(text: string, secretForms: string[]): string[] {
  const found: string[] = [];
  for (const needle of secretForms) {
    const at = text.indexOf(needle);
    if (at >= 0) found.push(`${needle.slice(0, 12)}... in "${text.slice(Math.max(0, at - 60), at + needle.length + 20).replace(/\n/g, "\\n")}"`);
  }
  return found;
}

/** Hal for a flow on the Node side (the ESP32 trace port runs the core in this process). */
export function flowHal(request: BootRequest, logger: Hal["log"], passwords: Set<string>): Hal {
  const base = createNodeHal({ flash: request.flash, storageKey: STORAGE_KEY, logger, ca: request.ca });
  return { ...base, socket: recordingPasswords(base.socket, passwords) };
}
