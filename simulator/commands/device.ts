/**
 * `explorer-xs device`: one simulated device with a persistent flash file.
 */
import { type Command, InvalidArgumentError } from "commander";
import { X509Certificate } from "node:crypto";
import { existsSync, rmSync } from "node:fs";
import { basename } from "node:path";
import { resolveEndpoints } from "../endpoints";
import { readInputFile, UsageError } from "../cli-errors";
import type { ExplorerError } from "../../firmware/errors";

export const EXIT = { ok: 0, failed: 3, powerCut: 4, syncIncomplete: 5, interrupted: 130 } as const;
/** How long an injected network drop lasts when --drop-network-for is not given. */
const DEFAULT_DROP_MS = 3000;

/**
 * Resolves with the name of the first SIGINT or SIGTERM; listening from the start replaces the
 * default exit, so Ctrl-C during boot stops the device (or `fleet`'s platform) cleanly first.
 */
export function firstSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
}

/** A file of PEM certificates to trust; anything else is refused before the device boots. */
function readCaFile(path: string, flag: string): string {
  const pem = readInputFile(path, flag);
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new UsageError(`${flag} ${path}: no PEM certificate in it (-----BEGIN CERTIFICATE-----)`);
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (error) {
      throw new UsageError(`${flag} ${path}: a certificate that does not parse (${(error as Error).message})`);
    }
  }
  return pem;
}

export function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError("expected a whole number of at least 1");
  return parsed;
}

function integer(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new InvalidArgumentError("expected a whole number");
  return parsed;
}

interface DeviceCommandOptions {
  flash: string;
  deviceInfo?: string;
  platform?: string;
  mqtt?: string;
  platformCa?: string;
  mqttCa?: string;
  once?: boolean;
  reset?: boolean;
  sign: string;
  powerCutAtWrite?: number;
  clockSkew?: number;
  dropNetworkAfter?: number;
  dropNetworkFor?: number;
  verbose?: boolean;
  template?: string;
  firmwareVersion?: string;
}

export function register(program: Command): void {
  program
    .command("device")
    .description("boot one simulated device from a flash file: register if it has no secret, then stay online")
    .requiredOption("--flash <file>", "the device's flash file (created when missing)")
    .option("--device-info <file>", "Tencent's device_info.json: the factory identity used while flash holds no record")
    .option("--platform <url>", "registration base URL; the device posts to /device/register under it", "http://127.0.0.1:8080")
    .option("--mqtt <url>", "broker URL, mqtt://host:1883 or mqtts://host:8883 (default: mqtt on the platform's host, port 1883)")
    .option("--platform-ca <file>", "PEM root(s) trusted for an https:// --platform (default: DigiCert Global Root CA for Tencent's gateway, else Node's bundled roots)")
    .option("--mqtt-ca <file>", "PEM root(s) trusted for an mqtts:// --mqtt (default: Tencent's IoT root for *.iotcloud.tencentdevices.com, else Node's bundled roots)")
    .option("--once", "exit 0 once online with the first report acknowledged and the first-online sync done (5 when the platform left some of its answers missing); non-zero with the reason otherwise")
    .option("--reset", "erase the flash file first (factory reset)")
    .option("--sign <algorithm>", "request signature algorithm: hmacsha256 or hmacsha1", "hmacsha256")
    .option("--power-cut-at-write <n>", "cut power at the n-th flash write (fault injection)", positiveInteger)
    .option("--clock-skew <seconds>", "start with the device clock off by this many seconds (fault injection)", integer)
    .option("--drop-network-after <ms>", "drop the network this many ms after boot (fault injection)", integer)
    .option("--drop-network-for <ms>", `how long the drop of --drop-network-after lasts (default: ${DEFAULT_DROP_MS})`, integer)
    .option("--template <file>", "the product's data template: report plausible values for every property (seeded by the device name) and answer actions with output that fits")
    .option("--verbose", "print the device's structured log lines to stderr (secrets masked)")
    .option("--firmware-version <v>", "firmware update on: two application slots in the flash file, the factory image being version V; an update restarts the device in place")
    .addHelpText(
      "after",
      `
Exit codes: 0 online (with --once) or stopped by a signal once online, 2 bad input (flags,
files), 3 failed in a named state, 4 halted by an injected power cut, 5 online but the
platform left first-online sync answers missing (with --once), 130 stopped by SIGINT/SIGTERM
before it came online.
Examples:
  explorer-xs device --flash dev1.flash --device-info device_info.json --once
  explorer-xs device --flash dev1.flash --platform https://ap-guangzhou.gateway.tencentdevices.com \\
      --mqtt mqtts://PRODUCTID.iotcloud.tencentdevices.com:8883`,
    )
    .action(async (options: DeviceCommandOptions) => {
      process.exitCode = await runDeviceCommand(options);
    });
}

async function runDeviceCommand(options: DeviceCommandOptions): Promise<number> {
  if (options.sign !== "hmacsha256" && options.sign !== "hmacsha1") throw new UsageError(`--sign must be hmacsha256 or hmacsha1, not ${options.sign}`);
  if (options.dropNetworkFor !== undefined && options.dropNetworkAfter === undefined) {
    throw new UsageError("--drop-network-for says how long the drop of --drop-network-after lasts: give --drop-network-after too");
  }
  const endpoints = resolveEndpoints(options.platform, options.mqtt, (message) => { throw new UsageError(message); });
  // The device's modules load here, not with the CLI: `--help` and the other commands stay cheap.
  const [{ parseTencentDeviceInfo }, { startSimDevice }, { Timeline }, { createNodeLogger }, { loadDevInfo }] = await Promise.all([
    import("../device-info-file"), import("../sim-device"), import("../timeline"), import("../../hal/node/logger"), import("../../firmware/record-store"),
  ]);
  if (options.reset) {
    rmSync(options.flash, { force: true });
  }
  const factoryInfo = options.deviceInfo ? parseTencentDeviceInfo(readInputFile(options.deviceInfo, "--device-info"), options.deviceInfo) : undefined;
  const template = options.template ? (await import("../template-file")).loadTemplateFile(options.template).template : undefined;
  if (!factoryInfo && !existsSync(options.flash)) {
    throw new UsageError(`${options.flash} does not exist and no --device-info was given: the device has no identity to boot with`);
  }
  const timeline = new Timeline();
  // Seeded by the device's name (or its flash file's), so a device reports the same values every run.
  const seed = factoryInfo?.deviceName ?? basename(options.flash);
  const values = template && await import("../template-values");
  const signal = firstSignal();
  // A restart into a new image (OTA) boots the device again in place, as a board resets.
  const restart = () => {
    const old = device;
    void old.close().then(() => {
      if (rebootsStopped) return;
      device = start();
      timeline.line("restart", `booting ${device.slots?.runningVersion() ?? ""}${device.slots?.onTrial() ? " on trial" : ""}`);
      device.task.online.then(() => timeline.line("online", `running ${device.slots?.runningVersion() ?? ""}`), () => undefined);
    });
  };
  let rebootsStopped = false;
  // Read once: a restart in place boots with what the device started with, and cannot fail on a file changed since.
  const registerCa = options.platformCa === undefined ? undefined : readCaFile(options.platformCa, "--platform-ca");
  const mqttCa = options.mqttCa === undefined ? undefined : readCaFile(options.mqttCa, "--mqtt-ca");
  const start = () => startSimDevice({
    flashFile: options.flash,
    firmwareVersion: options.firmwareVersion,
    onRestart: restart,
    registerUrl: endpoints.registerUrl,
    mqttUrl: endpoints.mqttUrl,
    factoryInfo,
    registerCa,
    mqttCa,
    powerCutAtWrite: options.powerCutAtWrite,
    clockSkewSeconds: options.clockSkew,
    dropNetworkAfterMs: options.dropNetworkAfter,
    dropNetworkForMs: options.dropNetworkFor ?? DEFAULT_DROP_MS,
    logger: options.verbose ? createNodeLogger({ sink: (line) => process.stderr.write(line + "\n") }) : { log: () => undefined },
    onEvent: (event) => timeline.onHalEvent(event),
    boot: {
      signAlgorithm: options.sign as "hmacsha256" | "hmacsha1",
      backoff: options.once ? { baseMs: 500, capMs: 8000, maxAttempts: 6 } : undefined,
      onControl: (params) => timeline.line("control", JSON.stringify(params)),
      ...(template && values ? { initialReport: values.plausibleReport(template, seed) } : {}),
      onAction: (actionId, params) => {
        const response = template && values ? values.plausibleActionOutput(template, actionId, seed) : {};
        timeline.line("action", `${actionId} ${JSON.stringify(params)}: answered with action_reply code 0${template ? ` ${JSON.stringify(response)}` : ""}`);
        return response;
      },
    },
  });
  let device = start();
  // The flash wins over --device-info, as on a board: say so when they name different devices.
  const stored = factoryInfo ? loadDevInfo(device.hal) : undefined;
  if (factoryInfo && stored?.status === "ok" && (stored.info.productId !== factoryInfo.productId || stored.info.deviceName !== factoryInfo.deviceName)) {
    process.stderr.write(`note: ${options.flash} already holds ${stored.info.productId}/${stored.info.deviceName} and boots as it; ` +
      `--device-info (${factoryInfo.productId}/${factoryInfo.deviceName}) is read only from a factory-fresh flash: add --reset to start over\n`);
  }
  device.task.onState((event) => {
    timeline.onState(event);
    if (event.state === "registered" || event.state === "online") timeline.line(event.state, event.detail ?? "");
  });
  let missing: string[] = [];
  try {
    const first = await Promise.race([device.task.online.then(() => undefined), signal]);
    if (first !== undefined) {
      await device.close(); // flash commits are atomic: whatever was written stays readable
      process.stderr.write(`device stopped by ${first} before it came online\n`);
      return EXIT.interrupted;
    }
    timeline.line("report acknowledged", "report_reply code 0: online");
    const synced = await Promise.race([device.task.synced, signal]);
    if (typeof synced === "string") {
      await device.close();
      return EXIT.ok;
    }
    timeline.onSynced(synced);
    missing = synced.missing;
  } catch (error) {
    const failure = error as ExplorerError;
    const powerCut = device.flash.stats().poweredOff;
    await device.close();
    if (powerCut) {
      process.stderr.write(`power cut at flash write ${options.powerCutAtWrite}: the device halted (as a board would)\n`);
      return EXIT.powerCut;
    }
    process.stderr.write(`device failed: ${failure.code}: ${failure.message}\n`);
    return EXIT.failed;
  }
  if (options.once) {
    await device.close();
    if (missing.length === 0) return EXIT.ok;
    process.stderr.write(`online, but the first-online sync is incomplete: no ${missing.join(", ")} from the platform\n`);
    return EXIT.syncIncomplete;
  }
  await signal;
  rebootsStopped = true;
  await device.close();
  return EXIT.ok;
}
