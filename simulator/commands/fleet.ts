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
      process.exitCode = summary.failed === 0 ? 0 : 3;
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
  if (options.platform) {
    if (options.autoCreate) throw new UsageError("--auto-create is for the fleet's own platform; on --platform, set the product's dynamic registration (ModifyProductDynamicRegister, RegisterType 2)");
    return;
  }
  const remoteOnly = [["--mqtt", options.mqtt], ["--product-id", options.productId], ["--product-secret", options.productSecret]].filter(([, value]) => value !== undefined).map(([flag]) => flag);
  if (remoteOnly.length) throw new UsageError(`${remoteOnly.join(", ")} go with --platform URL; without it the fleet starts its own platform and product`);
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
    if (options.platform) {
      if (!options.productId || !options.productSecret) throw new UsageError("--platform needs --product-id and --product-secret");
      product = { productId: options.productId!, productSecret: options.productSecret! };
      endpoints = resolveEndpoints(options.platform, options.mqtt, (message) => { throw new UsageError(message); });
    } else {
      const devices = options.autoCreate ? [] : Array.from({ length: options.count }, (_, index) => deviceName(options.prefix, index));
      platform = await startPlatformProcess({
        log: false, // nothing reads its event log here, and writing it costs the platform CPU
        nodeArgs: [...FLEET_PLATFORM_NODE_ARGS],
        configFile: join(workDir, "products.json"),
        config: { products: [{ ...product, dynamicRegistration: true, autoCreate: Boolean(options.autoCreate), authType: "psk", devices,
          ...(template ? { dataTemplate: JSON.parse(template.text) as object } : {}) }] },
      });
      endpoints = { registerUrl: `${platform.httpUrl}/device/register`, mqttUrl: platform.mqttUrl };
    }
    const showBar = options.progress && !options.json && process.stderr.isTTY;
    const bar = showBar ? new cliProgress.SingleBar({ format: "fleet [{bar}] {value}/{total} booted, {online} online, {eta}s left", stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined;
    bar?.start(options.count, 0, { online: 0 });
    const progress = { booted: 0, online: 0 };
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
  // A device registers once in its life: a second fleet with the same names meets that rule.
  if (summary.failuresByCause["device-activated"]) {
    lines.push("hint             device-activated: these names registered before; use another --prefix, or delete the devices on the platform (DeleteDevices, or the console)");
  }
  process.stdout.write(lines.join("\n") + "\n");
}
