/**
 * `explorer-xs fleet`: boots N simulated devices, spread over worker threads, and summarises how
 * they came online. The fleet's modules load inside the action, so `--help` stays cheap.
 */
import { type Command, InvalidArgumentError } from "commander";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { spawn } from "node:child_process";
import { availableParallelism, constants as osConstants, tmpdir } from "node:os";
import { join } from "node:path";
import type { FleetSummary } from "../fleet";
import type { PlatformProcess } from "../platform-process";
import { resolveEndpoints } from "../endpoints";
import { UsageError } from "../cli-errors";
import { EXIT, firstSignal } from "./device";
import { FLEET_NODE_ARGS, FLEET_PLATFORM_NODE_ARGS } from "../fleet-node-args";
import { MAX_ROLLOUT_DEVICES, type RolloutProgress } from "../fleet-ota";

interface FleetCommandOptions {
  count: number;
  concurrency: number;
  prefix: string;
  platform?: string;
  mqtt?: string;
  productId?: string;
  productSecret?: string;
  autoCreate?: boolean;
  flashDir?: string;
  workers?: number;
  json?: boolean;
  progress: boolean;
  template?: string;
  ota?: string;
  otaSize: number;
  otaTimeout: number;
  firmwareVersion?: string;
  secretId?: string;
  secretKey?: string;
}

function wholeNumber(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new InvalidArgumentError("expected a whole number of at least 0");
  return parsed;
}

/**
 * The cores left after the platform: a local platform process keeps one core busy, so the fleet
 * takes the others (at least one); against a remote platform it takes every core.
 */
export function defaultWorkers(localPlatform: boolean, cores = availableParallelism()): number {
  return Math.max(1, localPlatform ? cores - 1 : cores);
}

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError("expected a whole number of at least 1");
  return parsed;
}

const LOCAL_PRODUCT = { productId: "FLEETPRD01", productSecret: "fleetProductSecretQ4zW8nR2" };
/** The fleet's factory image under --ota, unless --firmware-version says otherwise. */
const DEFAULT_FACTORY_VERSION = "1.0.0";
/** An ESP32 app slot of the default two-OTA table is 1,600 KiB (hal/node/app-slots.ts): a larger image is refused by every device. */
const MAX_OTA_BYTES = 1600 * 1024;
const FIRMWARE_VERSION = /^[A-Za-z0-9._-]{1,32}$/;

/** A size in bytes, or with K (KiB) or M (MiB): 300K, 1M, 4096. */
export function byteSize(value: string): number {
  const match = /^(\d{1,9})([KkMm]?)(i?B)?$/.exec(value.trim());
  const bytes = match ? Number(match[1]) * (match[2] === "" ? 1 : match[2].toUpperCase() === "K" ? 1024 : 1024 * 1024) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > MAX_OTA_BYTES) {
    throw new InvalidArgumentError(`expected a size of 1 byte to 1600K (an ESP32 app slot), e.g. 300K, 1M or 4096`);
  }
  return bytes;
}

function otaTimeout(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 120 || parsed > 900) throw new InvalidArgumentError("expected 120-900 seconds (BatchUpdateFirmware's TimeoutInterval)");
  return parsed;
}

export function register(program: Command): void {
  program
    .command("fleet")
    .description("boot N simulated devices from factory-fresh flash and summarise time-to-online, failures, flash writes and memory")
    .requiredOption("--count <n>", "how many devices", positiveInteger)
    .option("--concurrency <n>", "devices booting at once", positiveInteger, 200)
    .option("--prefix <text>", "device names are <prefix>-<i>", "sim")
    .option("--platform <url>", "use this platform instead of starting a local one (needs --product-id and --product-secret)")
    .option("--mqtt <url>", "broker URL (with --platform; default: mqtt on the platform's host, port 1883)")
    .option("--product-id <id>", "product on the given platform")
    .option("--product-secret <secret>", "its ProductSecret")
    .option("--auto-create", "on the local platform, let unknown names register instead of pre-creating them")
    .option("--flash-dir <dir>", "keep the devices' flash files here, fsynced on every commit (default: each device's flash in memory, lost at exit)")
    .option("--workers <n>", "worker threads booting the devices (default: the cores left after the local platform, or every core with --platform; 0: all in the main thread)", wholeNumber)
    .option("--template <file>", "the product's data template: every device reports plausible values for every property, seeded by its name (the fleet's own platform gets the template too)")
    .option("--ota <version>", "once the fleet is online, upload a generated firmware of this version and roll it over the fleet with one BatchUpdateFirmware; then time-to-updated, failures by cause, bytes served")
    .option("--ota-size <size>", "the generated firmware's size (with --ota): bytes, or K/M, at most 1600K", byteSize, 300 * 1024)
    .option("--ota-timeout <seconds>", "the update task's TimeoutInterval, 120-900 (with --ota)", otaTimeout, 600)
    .option("--firmware-version <v>", `the devices' factory image version (with --ota; default ${DEFAULT_FACTORY_VERSION})`)
    .option("--secret-id <id>", "Cloud API SecretId for --ota with --platform (or TENCENTCLOUD_SECRET_ID)")
    .option("--secret-key <key>", "Cloud API SecretKey for --ota with --platform (or TENCENTCLOUD_SECRET_KEY)")
    .option("--json", "print the summary as JSON")
    .option("--no-progress", "no progress bar")
    .action(async (options: FleetCommandOptions) => {
      if (!FLEET_NODE_ARGS.every((flag) => process.execArgv.includes(flag))) {
        // V8's GC options are taken only at a process's start: run this same command again with them.
        process.exitCode = await runAgainWith(FLEET_NODE_ARGS);
        return;
      }
      const summary = await runFleetCommand(options);
      if ("stoppedBy" in summary) {
        process.stderr.write(`fleet stopped by ${summary.stoppedBy}: ${summary.booted} of ${options.count} devices booted, ${summary.online} online\n`);
        process.exit(EXIT.interrupted); // the worker threads and the devices' sockets end with the process
      }
      if (options.json) process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
      else printSummary(summary);
      process.exitCode = summary.failed === 0 && (summary.ota?.failed ?? 0) === 0 ? 0 : 3;
    });
}

/**
 * Runs this process's command line again in a child node with `nodeArgs` added, output to the same
 * terminal; resolves with its exit code. The child has a process group of its own, so a Ctrl-C
 * reaches it once, forwarded from here (SIGINT, SIGTERM and SIGHUP alike), and it stops as the
 * command does: platform stopped, temporary files removed, exit code 130.
 */
function runAgainWith(nodeArgs: readonly string[]): Promise<number> {
  const child = spawn(process.execPath, [...nodeArgs, ...process.execArgv, ...process.argv.slice(1)], { stdio: "inherit", detached: true });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, forward);
  return new Promise((resolve) => {
    child.once("error", (error) => {
      process.stderr.write(`explorer-xs fleet: could not start node again with ${nodeArgs.join(" ")}: ${error.message}\n`);
      resolve(1);
    });
    child.once("exit", (code, signal) => resolve(code ?? 128 + (signal ? osConstants.signals[signal] : 0)));
  });
}

/** How far a fleet got when a signal stopped it. */
interface FleetStopped {
  stoppedBy: string;
  booted: number;
  online: number;
}

/** Flags that belong to one mode only, checked before anything starts: a flag silently ignored misleads. */
function checkModeFlags(options: FleetCommandOptions): void {
  checkOtaFlags(options);
  if (options.platform) {
    if (options.autoCreate) throw new UsageError("--auto-create is for the fleet's own platform; on --platform, set the product's dynamic registration (ModifyProductDynamicRegister, RegisterType 2)");
    return;
  }
  const remoteOnly = [["--mqtt", options.mqtt], ["--product-id", options.productId], ["--product-secret", options.productSecret], ["--secret-id", options.secretId], ["--secret-key", options.secretKey]].filter(([, value]) => value !== undefined).map(([flag]) => flag);
  if (remoteOnly.length) throw new UsageError(`${remoteOnly.join(", ")} go with --platform URL; without it the fleet starts its own platform and product`);
}

/** --ota's companions mean nothing without it; its version must be one, and another than the factory image's. */
function checkOtaFlags(options: FleetCommandOptions): void {
  if (options.ota === undefined) {
    const otaOnly = [["--firmware-version", options.firmwareVersion], ["--secret-id", options.secretId], ["--secret-key", options.secretKey]]
      .filter(([, value]) => value !== undefined).map(([flag]) => flag);
    if (otaOnly.length) throw new UsageError(`${otaOnly.join(", ")} ${otaOnly.length === 1 ? "goes" : "go"} with --ota VERSION`);
    return;
  }
  for (const [flag, version] of [["--ota", options.ota], ["--firmware-version", options.firmwareVersion]] as const) {
    if (version !== undefined && !FIRMWARE_VERSION.test(version)) throw new UsageError(`${flag} ${version.slice(0, 40)} is not a firmware version: 1-32 characters of A-Z a-z 0-9 . _ -`);
  }
  const factory = options.firmwareVersion ?? DEFAULT_FACTORY_VERSION;
  if (options.ota === factory) throw new UsageError(`--ota ${options.ota} is the version the devices run already (--firmware-version, default ${DEFAULT_FACTORY_VERSION}): choose another`);
  if (options.count > MAX_ROLLOUT_DEVICES) throw new UsageError(`--ota rolls over at most ${MAX_ROLLOUT_DEVICES} devices (one BatchUpdateFirmware); --count is ${options.count}`);
}

async function runFleetCommand(options: FleetCommandOptions): Promise<FleetSummary | FleetStopped> {
  checkModeFlags(options);
  const template = options.template ? (await import("../template-file")).loadTemplateFile(options.template) : undefined;
  const signal = firstSignal();
  const workDir = mkdtempSync(join(tmpdir(), "explorer-xs-fleet-")); // the local platform's config
  if (options.flashDir) mkdirSync(options.flashDir, { recursive: true });
  let platform: PlatformProcess | undefined;
  try {
    // cli-progress is CommonJS: the built CLI's esbuild chunk for it exports only `default`
    // (its module.exports), so named imports came back undefined there while tsx filled them.
    const [{ deviceName, runFleet }, { startPlatformProcess }, { default: cliProgress }] = await Promise.all([import("../fleet"), import("../platform-process"), import("cli-progress")]);
    let product = LOCAL_PRODUCT;
    let endpoints;
    /** The Cloud API of the platform the fleet runs against (--ota drives the rollout through it). */
    let cloudApi: { url: string; secretId: string; secretKey: string } | undefined;
    if (options.platform) {
      if (!options.productId || !options.productSecret) throw new UsageError("--platform needs --product-id and --product-secret");
      product = { productId: options.productId!, productSecret: options.productSecret! };
      endpoints = resolveEndpoints(options.platform, options.mqtt, (message) => { throw new UsageError(message); });
      if (options.ota !== undefined) {
        const { resolveKeyPair } = await import("../cloud-api-client");
        cloudApi = { url: new URL(options.platform).origin, ...resolveKeyPair(options, process.env, false) };
      }
    } else {
      const devices = options.autoCreate ? [] : Array.from({ length: options.count }, (_, index) => deviceName(options.prefix, index));
      // A key pair for this run only, in the config file (mode 0600), never on a command line.
      const pair = options.ota !== undefined ? (await import("../platform/cloud-api/credentials")).generateKeyPair() : undefined;
      platform = await startPlatformProcess({
        log: false, // nothing reads its event log here, and writing it costs the platform CPU
        nodeArgs: [...FLEET_PLATFORM_NODE_ARGS],
        configFile: join(workDir, "products.json"),
        config: {
          ...(pair ? { cloudApi: pair } : {}),
          products: [{ ...product, dynamicRegistration: true, autoCreate: Boolean(options.autoCreate), authType: "psk", devices,
            ...(template ? { dataTemplate: JSON.parse(template.text) as object } : {}) }],
        },
      });
      endpoints = { registerUrl: `${platform.httpUrl}/device/register`, mqttUrl: platform.mqttUrl };
      if (pair) cloudApi = { url: platform.httpUrl, ...pair };
    }
    const showBar = options.progress && !options.json && process.stderr.isTTY;
    const bar = showBar ? new cliProgress.SingleBar({ format: "fleet [{bar}] {value}/{total} booted, {online} online, {eta}s left", stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined;
    bar?.start(options.count, 0, { online: 0 });
    const progress = { booted: 0, online: 0 };
    const whileOnline = options.ota !== undefined && cloudApi ? await otaRollout(options, product.productId, cloudApi, () => bar?.stop(), cliProgress) : undefined;
    const run = runFleet({
      count: options.count,
      concurrency: options.concurrency,
      prefix: options.prefix,
      ...product,
      ...endpoints,
      flashDir: options.flashDir,
      templateText: template?.text,
      workers: options.workers ?? defaultWorkers(platform !== undefined),
      platformPid: platform?.child.pid,
      ...(options.ota !== undefined ? { firmwareVersion: options.firmwareVersion ?? DEFAULT_FACTORY_VERSION, whileOnline } : {}),
      onProgress: (done, online) => {
        progress.booted = done;
        progress.online = online;
        bar?.update(done, { online });
      },
    });
    const summary = await Promise.race([run, signal]);
    bar?.stop();
    return typeof summary === "string" ? { stoppedBy: summary, ...progress } : summary;
  } finally {
    await platform?.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

/**
 * The rollout after the boot: the boot's bar ends, one bar for the update (plain lines when the
 * output is not a terminal), then the summary. Tencent's refusals are the user's input problem.
 */
async function otaRollout(options: FleetCommandOptions, productId: string, cloudApi: { url: string; secretId: string; secretKey: string },
  endBootBar: () => void, cliProgress: typeof import("cli-progress")) {
  const [{ rollout }, { callCloudApi, CloudApiCallError }] = await Promise.all([import("../fleet-ota"), import("../cloud-api-client")]);
  const tty = process.stderr.isTTY;
  let bar: InstanceType<typeof cliProgress.SingleBar> | undefined;
  let lastLine = "";
  const show = (progress: RolloutProgress) => {
    if (!options.progress || options.json) return;
    if (tty) {
      if (!bar) {
        endBootBar();
        bar = new cliProgress.SingleBar({ format: `ota ${options.ota} [{bar}] {value}/{total} ended, {updated} updated, {failed} failed`, stream: process.stderr }, cliProgress.Presets.shades_classic);
        bar.start(progress.total, 0, { updated: 0, failed: 0 });
      }
      bar.setTotal(progress.total);
      bar.update(progress.ended, { updated: progress.updated, failed: progress.failed });
      return;
    }
    const line = `ota ${options.ota}: ${progress.ended}/${progress.total} ended, ${progress.updated} updated, ${progress.failed} failed`;
    if (line !== lastLine) process.stderr.write(`${line}\n`);
    lastLine = line;
  };
  const run = rollout({
    call: async (action, params) => {
      try {
        return await callCloudApi(cloudApi, action, params);
      } catch (error) {
        if (error instanceof CloudApiCallError) throw new UsageError(`--ota: ${action} refused: ${error.message}`);
        throw error;
      }
    },
    productId, fromVersion: options.firmwareVersion ?? DEFAULT_FACTORY_VERSION, version: options.ota!, imageBytes: options.otaSize,
    timeoutSeconds: options.otaTimeout, onProgress: show,
  });
  return async (fleet: Parameters<typeof run>[0]) => {
    try {
      return await run(fleet);
    } finally {
      bar?.stop();
    }
  };
}

function printSummary(summary: FleetSummary): void {
  const lines = [
    `devices          ${summary.count}`,
    `online           ${summary.online}`,
    `failed           ${summary.failed}${summary.failed ? "  " + JSON.stringify(summary.failuresByCause) : ""}`,
    `retries          ${Object.keys(summary.retriesByCause).length ? JSON.stringify(summary.retriesByCause) : "none"}`,
    `time to online   ${summary.online === 0 ? "none came online" : `p50 ${summary.timeToOnlineMs.p50} ms, p95 ${summary.timeToOnlineMs.p95} ms, p99 ${summary.timeToOnlineMs.p99} ms, max ${summary.timeToOnlineMs.max} ms`}`,
    `flash writes     ${summary.flashWritesPerDevice.mean} per device (max ${summary.flashWritesPerDevice.max})`,
    `wall time        ${(summary.wallMs / 1000).toFixed(1)} s (${summary.devicesPerSecond} devices online/s)`,
    `workers          ${summary.workers ? `${summary.workers} threads` : "none (main thread)"}`,
    `peak RSS         ${summary.peakRssMb} MB fleet process${summary.platformPeakRssMb !== undefined ? ` + ${summary.platformPeakRssMb} MB platform process = ${summary.peakRssMb + summary.platformPeakRssMb} MB` : ""}`,
  ];
  const { ota } = summary;
  if (ota) {
    const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
    lines.push(
      `ota              ${ota.fromVersion} -> ${ota.version} (${Math.round(ota.imageBytes / 1024)} KiB, task ${ota.taskId}): ${ota.updated} of ${ota.devices} updated in ${(ota.rolloutMs / 1000).toFixed(1)} s`,
      `time to updated  ${ota.updated === 0 ? "none updated" : `p50 ${ota.timeToUpdatedMs.p50} ms, p95 ${ota.timeToUpdatedMs.p95} ms, p99 ${ota.timeToUpdatedMs.p99} ms, max ${ota.timeToUpdatedMs.max} ms`}`,
      `ota failures     ${ota.failed ? JSON.stringify(ota.failuresByCause) : "none"}`,
      `bytes served     ${mb(ota.bytesServed)} MB (${ota.devices} x ${ota.imageBytes} B images = ${mb(ota.devices * ota.imageBytes)} MB)`,
    );
  }
  // A device registers once in its life: a second fleet with the same names meets that rule.
  if (summary.failuresByCause["device-activated"]) {
    lines.push("hint             device-activated: these names registered before; use another --prefix, or delete the devices on the platform (DeleteDevices, or the console)");
  }
  process.stdout.write(lines.join("\n") + "\n");
}
