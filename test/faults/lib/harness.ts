/**
 * Shared fault-test harness: a mock platform on loopback with a PSK product, a certificate
 * product and a canary product; a device runner over the Node HAL with an emulated flash that
 * outlives power cuts; and the invariants every case must keep.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPlatform, type PlatformOptions, type RunningPlatform } from "../../../simulator/platform/index";
import type { Device } from "../../../simulator/platform/registry";
import { createNodeHal } from "../../../hal/node/index";
import { createMemoryFlash, type NodeFlash } from "../../../hal/node/flash";
import { createNodeClock, type NodeClock } from "../../../hal/node/clock";
import { createMemoryLogger, type MemoryLogger } from "../../../hal/node/logger";
import type { Hal, HttpClient, SocketTransport } from "../../../firmware/contracts";
import { bootDevice, type BootOptions, type BootState } from "../../../firmware/boot";
import { inspectFlash, loadDevInfo } from "../../../firmware/record-store";
import type { DeviceInfo } from "../../../firmware/device-info";

export const PSK_PRODUCT = { productId: "FAULTPSK01", productSecret: "faultPskProductSecret7Hq2Lm" };
export const CERT_PRODUCT = { productId: "FAULTCRT01", productSecret: "faultCertProductSecretN3x8V" };
export const CANARY_PRODUCT = { productId: "CANARY0001", productSecret: "canaryProductSecretQ4w8Zt2" };
export const FAST_BACKOFF = { baseMs: 5, capMs: 40, maxAttempts: 6 };

export interface FaultPlatform {
  platform: RunningPlatform;
  /** PEM of the platform's TLS certificate (cert-mode MQTT over TLS), when started with tls. */
  serverCert?: string;
  dir: string;
  close(): Promise<void>;
}

/** Device names pre-created on the PSK and cert products (d000..d199); canaries are auto-created. */
export const DEVICE_NAMES = Array.from({ length: 200 }, (_, i) => `d${String(i).padStart(3, "0")}`);

export async function startFaultPlatform(options: { tls?: boolean; platform?: Partial<PlatformOptions> } = {}): Promise<FaultPlatform> {
  const dir = mkdtempSync(join(tmpdir(), "exs-faults-"));
  let tls: PlatformOptions["tls"];
  let serverCert: string | undefined;
  if (options.tls) {
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", join(dir, "server.key"), "-out", join(dir, "server.pem"), "-days", "2",
      "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
    serverCert = readFileSync(join(dir, "server.pem"), "utf8");
    tls = { key: readFileSync(join(dir, "server.key")), cert: serverCert };
  }
  const platform = await startPlatform({
    memory: true,
    log: () => undefined,
    tls,
    config: productsConfig(),
    ...options.platform,
  });
  return {
    platform, serverCert, dir,
    async close() {
      await platform.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function productsConfig() {
  return {
    products: [
      { ...PSK_PRODUCT, dynamicRegistration: true, autoCreate: false, authType: "psk" as const, devices: DEVICE_NAMES },
      { ...CERT_PRODUCT, dynamicRegistration: true, autoCreate: false, authType: "cert" as const, devices: DEVICE_NAMES },
      { ...CANARY_PRODUCT, dynamicRegistration: true, autoCreate: true, authType: "psk" as const, devices: [] },
    ],
  };
}

export type Mode = "psk" | "cert";

export function factoryInfo(mode: Mode | "canary", deviceName: string): DeviceInfo {
  const product = mode === "psk" ? PSK_PRODUCT : mode === "cert" ? CERT_PRODUCT : CANARY_PRODUCT;
  return { ...product, deviceName, authMode: mode === "cert" ? "cert" : "psk" };
}

/** A board: its flash (surviving power cuts through reboot()) and its storage key. */
export interface Board {
  mode: Mode | "canary";
  deviceName: string;
  flash: NodeFlash;
  storageKey: Uint8Array;
}

export function newBoard(mode: Mode | "canary", deviceName: string): Board {
  return { mode, deviceName, flash: createMemoryFlash(), storageKey: new Uint8Array(randomBytes(32)) };
}

export type Outcome = "online" | `failed:${string}` | "stuck";

export interface BootRun {
  outcome: Outcome;
  states: BootState[];
  logger: MemoryLogger;
  /** The HAL over a fresh view of what flash committed (usable after a power cut). */
  committed: Pick<Hal, "flash" | "crypto" | "storageKey">;
  hal: Hal;
}

export interface BootSpec {
  registerUrl: string;
  mqttUrl: string;
  /** The flash this boot runs on (e.g. board.flash.reboot({ powerCutAtWrite: 3 })). */
  flash?: NodeFlash;
  ca?: string;
  clock?: NodeClock;
  http?: HttpClient;
  socket?: SocketTransport;
  boot?: Partial<BootOptions>;
  /** How long the boot may take to come online or fail before it counts as stuck. */
  limitMs?: number;
}

/** Boots the board once, waits for online or a fatal state, then stops the task. */
export async function bootBoard(board: Board, spec: BootSpec): Promise<BootRun> {
  const flash = spec.flash ?? board.flash.reboot();
  const logger = createMemoryLogger({ redact: false }); // checkInvariants looks for secrets in what the core logged
  const clock = spec.clock ?? createNodeClock();
  const hal = createNodeHal({ flash, storageKey: board.storageKey, logger, clock, ca: spec.ca, http: spec.http, socket: spec.socket });
  const task = bootDevice(hal, {
    registerUrl: spec.registerUrl,
    mqttUrl: spec.mqttUrl,
    factoryInfo: factoryInfo(board.mode, board.deviceName),
    backoff: FAST_BACKOFF,
    replyTimeoutMs: 3000,
    connectTimeoutMs: 3000,
    ...spec.boot,
  });
  const states: BootState[] = [];
  task.onState((event) => states.push(event.state));
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race<Outcome>([
    task.online.then(() => "online" as const, () => task.state as Outcome),
    new Promise<Outcome>((resolve) => (timer = setTimeout(() => resolve("stuck"), spec.limitMs ?? 20_000))),
  ]);
  clearTimeout(timer);
  await task.stop();
  clock.cancelAll();
  board.flash = flash;
  return { outcome, states, logger, hal, committed: { flash: flash.reboot(), crypto: hal.crypto, storageKey: hal.storageKey } };
}

/** The secret a record holds (PSK, or certificate and key), or undefined. */
export function secretOf(info: DeviceInfo | undefined): string | undefined {
  if (!info) return undefined;
  if (info.authMode === "cert") return info.clientCert && info.clientKey ? `${info.clientCert}\n${info.clientKey}` : undefined;
  return info.deviceSecret && info.deviceSecret !== "YOUR_IOT_PSK" ? info.deviceSecret : undefined;
}

export function storedSecret(run: BootRun): string | undefined {
  const load = loadDevInfo(run.committed);
  return load.status === "ok" ? secretOf(load.info) : undefined;
}

export interface InvariantContext {
  /** The secret the board held when it was last online (activated), if ever. */
  activatedSecret?: string;
  /** Secrets that must never appear in a log line. */
  secrets: string[];
  /** Outcomes this case accepts besides online (e.g. failed:storage right after a power cut). */
  allowFatal?: boolean;
  /** The flash may legitimately hold no readable record (e.g. the medium itself was destroyed). */
  allowUnreadable?: boolean;
}

export interface Verdict {
  violations: string[];
  dataLost: boolean;
}

/** Checks the invariants every case must keep; returns what broke. */
export function checkInvariants(run: BootRun, context: InvariantContext): Verdict {
  const violations: string[] = [];
  let dataLost = false;
  if (run.outcome === "stuck") violations.push("neither online nor a named fatal state in time");
  else if (run.outcome !== "online") {
    if (!/^failed:[a-z-]+$/.test(run.outcome)) violations.push(`unnamed end state ${run.outcome}`);
    if (run.outcome === "failed:internal") violations.push("ended in failed:internal (an unexpected exception)");
    if (!context.allowFatal) violations.push(`ended in ${run.outcome}`);
  }
  const report = inspectFlash(run.committed);
  if (report.status === "unreadable" && !context.allowUnreadable) violations.push(`flash unreadable: ${report.reason}`);
  if (context.activatedSecret !== undefined) {
    const held = storedSecret(run);
    if (held !== context.activatedSecret) {
      dataLost = true;
      violations.push(held === undefined ? "the activated secret was lost" : "the activated secret was overwritten");
    }
  }
  const secrets = context.secrets.flatMap((secret) => secretNeedles(secret));
  for (const line of run.logger.lines) {
    for (const needle of secrets) if (line.includes(needle)) violations.push(`a log line holds a secret: ${line.slice(0, 80)}`);
  }
  return { violations, dataLost };
}

/** What to look for in logs: the secret itself, or for PEM the body lines (long and unique). */
function secretNeedles(secret: string): string[] {
  if (!secret.includes("-----BEGIN")) return secret.length >= 8 ? [secret] : [];
  return secret.split("\n").filter((line) => line.length >= 40 && !line.startsWith("-----"));
}

let canaryCount = 0;

/** A fresh canary device registers and comes online: the platform still serves others. */
export async function canaryOnline(platform: { httpUrl: string; mqttUrl: string }): Promise<string | undefined> {
  const board = newBoard("canary", `canary${process.pid}x${++canaryCount}`);
  const run = await bootBoard(board, { registerUrl: `${platform.httpUrl}/device/register`, mqttUrl: platform.mqttUrl, limitMs: 15_000 });
  return run.outcome === "online" ? undefined : `canary ended ${run.outcome}`;
}

/** The registry's record of a device, read in-process (the platform runs in this process). */
export async function platformDevice(platform: RunningPlatform, productId: string, deviceName: string): Promise<Device | undefined> {
  return await platform.registry.getDevice(productId, deviceName);
}

/** The secret the platform keeps for a device: its PSK, or its certificate and key. */
export function platformSecret(device: Pick<Device, "psk" | "certPem" | "keyPem"> | undefined): string | undefined {
  if (typeof device?.psk === "string") return device.psk;
  if (typeof device?.certPem === "string" && typeof device.keyPem === "string") return `${device.certPem}\n${device.keyPem}`;
  return undefined;
}
