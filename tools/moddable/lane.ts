/**
 * The Moddable lane: the production manifest built for Moddable's Linux simulator (`-p lin`,
 * whose platform section swaps only Wi-Fi, the hardware RNG and GPIO) inside a test image that
 * adds a test entry (test/moddable/image/lane-main.ts), Moddable's debug and instrumentation
 * modules, a test CA as trust anchor for both roles, and a Preference root relative to the
 * process's working folder, so every boot has its own store; a second build of it has fixed-size
 * XS heaps within the ESP32 image's static budget (esp32BudgetCreation). An app that includes the
 * library (examples/) is built the same way around its own main (buildAppLaneImage). Each boot runs `mcsim` headless
 * under Xvfb with Moddable's xsbug-log as the debugger that prints trace() output.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { freePort } from "../free-port";
import { buildImage, type BuiltImage } from "./image";
import { CACHE_DIR, REPO_ROOT, type Log, type ModdableSdk } from "./sdk";

export const LANE_DIR = path.join(CACHE_DIR, "build", "lane");
export const LANE_CA = "lane-test-ca.der";

export interface LaneTls {
  /** PEM: the server's leaf then the CA (Moddable checks names only along a chain of two or more). */
  certChainPem: string;
  keyPem: string;
  caPem: string;
}

function openssl(args: string[]): void {
  const result = spawnSync("openssl", args, { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
}

/** A test CA and a loopback server certificate it signed, made once per lane folder. */
export function laneTls(dir = LANE_DIR): LaneTls {
  const tlsDir = path.join(dir, "tls");
  const file = (name: string) => path.join(tlsDir, name);
  if (!existsSync(file("ready"))) {
    mkdirSync(tlsDir, { recursive: true });
    openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", file("ca.key"), "-out", file("ca.pem"), "-days", "3650",
      "-subj", "/O=explorer-xs/CN=explorer-xs lane test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    openssl(["x509", "-in", file("ca.pem"), "-outform", "der", "-out", file(LANE_CA)]);
    openssl(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", file("server.key"), "-out", file("server.csr"), "-subj", "/CN=127.0.0.1"]);
    writeFileSync(file("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n");
    openssl(["x509", "-req", "-in", file("server.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial", "-days", "3650",
      "-extfile", file("server.ext"), "-out", file("server.pem")]);
    writeFileSync(file("ready"), "");
  }
  const caPem = readFileSync(file("ca.pem"), "utf8");
  return { certChainPem: readFileSync(file("server.pem"), "utf8") + caPem, keyPem: readFileSync(file("server.key"), "utf8"), caPem };
}

/** An XS slot on lin (64-bit pointers) and on the ESP32 (32-bit). */
export const LIN_SLOT_BYTES = 32;
export const ESP32_SLOT_BYTES = 16;
/** The slot heap's share of the ESP32 budget in the lane image, the rest after the stack being chunks: the middle of the range a certificate device fits, the narrower one (docs/ESP32.md "Within the static block"). */
export const LANE_HEAP_SLOTS = 2304;

/** The XS creation the lane image runs with, as mcconfig hands it to xsl (`CREATION = -c ...`). */
export interface XsCreation {
  chunk: { initial: number; incremental: number };
  heap: { initial: number; incremental: number };
  stack: number;
  static: number;
}

/**
 * The ESP32 image's memory budget, enforced on lin. Lin cannot honour `creation.static`: only
 * Moddable's MCU host (xs/platforms/mc/xsHosts.c, modCloneMachine) carves the machine out of one
 * static block, and mcsim does not link it; lin takes the default allocators (lin_xs.h
 * mxUseDefaultChunkAllocation/SlotAllocation -> xsPlatforms.c, one malloc per heap growth) and
 * xsMemory.c never reads staticSize. So the lane image gets fixed-size heaps instead: incremental
 * 0 makes xsMemory.c abort with "not enough memory" where it would grow, after a full collection.
 * The stack and LANE_HEAP_SLOTS slots at the ESP32's 16 bytes, plus the chunk heap, add up to the
 * production manifest's static: conservative, since lin's chunks are never smaller than the ESP32's
 * (64-bit pointers in chunk headers and in array items) and the ESP32 shares its block between
 * slots and chunks as needed, where this split is fixed. docs/ESP32.md "RAM and flash budget".
 */
export function esp32BudgetCreation(heapSlots = LANE_HEAP_SLOTS): XsCreation {
  const production = JSON.parse(readFileSync(path.join(REPO_ROOT, "manifest.json"), "utf8")) as { creation?: { static?: number; stack?: number } };
  const staticBytes = production.creation?.static;
  const stack = production.creation?.stack;
  if (!staticBytes || !stack) throw new Error("manifest.json names no creation.static and creation.stack: the lane has no ESP32 budget to enforce");
  const chunkBytes = staticBytes - (stack + heapSlots) * ESP32_SLOT_BYTES;
  if (chunkBytes <= 0) throw new Error(`${heapSlots} slots and a ${stack}-slot stack leave no chunk heap in ${staticBytes} bytes`);
  return { chunk: { initial: chunkBytes, incremental: 0 }, heap: { initial: heapSlots, incremental: 0 }, stack, static: staticBytes };
}

/** The creation a built image was linked with, read from its makefile's `CREATION = -c ...`. */
export function imageCreation(image: BuiltImage): XsCreation {
  const match = /^CREATION = -c (.*)$/m.exec(readFileSync(path.join(image.tmpDir, "makefile"), "utf8"));
  if (!match) throw new Error(`no CREATION line in ${image.tmpDir}/makefile`);
  // mcconfig.js order: chunk initial, incremental, heap initial, incremental, stack, keys..., parser..., static, main, nativeStack
  const fields = match[1].split(",").map((field) => field.trim());
  const number = (index: number) => Number(fields[index]);
  return { chunk: { initial: number(0), incremental: number(1) }, heap: { initial: number(2), incremental: number(3) }, stack: number(4), static: number(11) };
}

/** The test image's manifest: the production manifest plus what only the lane needs. */
export function writeLaneManifest(dir = LANE_DIR, creation?: XsCreation): string {
  mkdirSync(dir, { recursive: true });
  laneTls();
  const manifest = {
    include: [
      path.join(REPO_ROOT, "manifest.json"),
      "$(MODULES)/base/debug/manifest.json",
      "$(MODULES)/base/instrumentation/manifest.json",
    ],
    config: {
      file: { root: "./" },
      registerCa: LANE_CA,
      mqttCa: LANE_CA,
    },
    creation: { ...creation, main: "lane-main" },
    modules: {
      "lane-main": path.join(REPO_ROOT, "test", "moddable", "image", "lane-main"),
      // The MQTT contract's device side, under names whose relative imports reach hal/ and firmware/.
      "test/mqtt-contract/device": path.join(REPO_ROOT, "test", "mqtt-contract", "device"),
      "test/mqtt-contract/scenarios": path.join(REPO_ROOT, "test", "mqtt-contract", "scenarios"),
    },
    data: { "lane-test-ca": path.join(LANE_DIR, "tls", "lane-test-ca") },
  };
  const file = path.join(dir, "lane-manifest.json");
  const text = JSON.stringify(manifest, null, "\t") + "\n";
  if (!existsSync(file) || readFileSync(file, "utf8") !== text) writeFileSync(file, text);
  return file;
}

/**
 * A test image of an app that includes the library (examples/<name>/manifest.json): the app's
 * own main unchanged, with what the lane adds to every image (debug, instrumentation, the test
 * CA for both roles, a Preference root per boot). The app's trace lines are the lane's oracle.
 */
export function writeAppLaneManifest(app: string, dir: string): string {
  laneTls(LANE_DIR);
  const manifest = {
    include: [
      path.resolve(app),
      "$(MODULES)/base/debug/manifest.json",
      "$(MODULES)/base/instrumentation/manifest.json",
    ],
    config: {
      file: { root: "./" },
      registerCa: LANE_CA,
      mqttCa: LANE_CA,
    },
    data: { "lane-test-ca": path.join(LANE_DIR, "tls", "lane-test-ca") },
  };
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "lane-manifest.json");
  const text = JSON.stringify(manifest, null, "\t") + "\n";
  if (!existsSync(file) || readFileSync(file, "utf8") !== text) writeFileSync(file, text);
  return file;
}

/** The lin image of an app manifest, in .cache/moddable/build/lane-<app folder>/. */
export function buildAppLaneImage(sdk: ModdableSdk, app: string, log: Log): Promise<BuiltImage> {
  const dir = path.join(CACHE_DIR, "build", `lane-${path.basename(path.dirname(path.resolve(app)))}`);
  return buildImage({ sdk, platform: "lin", manifest: writeAppLaneManifest(app, dir), outDir: path.join(dir, "out"), debug: true, log });
}

/**
 * The lane image: the production manifest's own creation (heaps that grow as lin's malloc
 * allows), or with `esp32Budget` fixed-size heaps within the ESP32 image's static block
 * (esp32BudgetCreation), built into a folder of its own.
 */
export function buildLaneImage(sdk: ModdableSdk, log: Log, options: { esp32Budget?: boolean } = {}): Promise<BuiltImage> {
  const dir = options.esp32Budget ? path.join(LANE_DIR, "esp32-budget") : LANE_DIR;
  const manifest = writeLaneManifest(dir, options.esp32Budget ? esp32BudgetCreation() : undefined);
  return buildImage({ sdk, platform: "lin", manifest, outDir: path.join(dir, "out"), debug: true, log });
}

/** One X server for all boots (mcsim is a GTK program even when nobody looks at it). */
export class HeadlessDisplay {
  private constructor(private readonly process: ChildProcess, readonly display: string) {}

  static start(): Promise<HeadlessDisplay> {
    return new Promise((resolve, reject) => {
      const child = spawn("Xvfb", ["-displayfd", "1", "-nolisten", "tcp", "-screen", "0", "640x480x24"], { stdio: ["ignore", "pipe", "ignore"] });
      let text = "";
      child.once("error", reject);
      child.stdout!.on("data", (chunk: Buffer) => {
        text += chunk.toString();
        const match = /^(\d+)\n/.exec(text);
        if (match) resolve(new HeadlessDisplay(child, `:${match[1]}`));
      });
      child.once("exit", (code) => reject(new Error(`Xvfb exited (${code}) before naming its display`)));
    });
  }

  stop(): void {
    this.process.kill("SIGTERM");
  }
}

export interface LaneBootOptions {
  sdk: ModdableSdk;
  image: BuiltImage;
  display: HeadlessDisplay;
  /** The boot's own folder: its Preference store (nvs/, hal/lin/preference-nvs.js) and HOME. */
  dir: string;
  /** Written as the Preference store before the boot when given (namespace -> key -> value). */
  preferences?: Record<string, Record<string, unknown>>;
  /** The boot ends at the first trace line matching this (default: online, failed, halted). */
  until?: RegExp;
  /** The boot also ends (end "stopped") when this settles: the test has seen what it waited for. */
  stopWhen?: Promise<unknown>;
  timeoutMs?: number;
}

export interface LaneBoot {
  /** trace() output, one line each, as xsbug-log printed it (prompts and thread tags removed). */
  lines: string[];
  /** The raw output, as it came (`<dir>/trace.log`), for a person reading a failure. */
  traceFile: string;
  /** What ended the boot: the matching line, "timeout", "stopped" (stopWhen) or "exit" (the program ended). */
  end: string;
  /** The Preference store after the boot (undefined if none was written). */
  preferences(): Record<string, Record<string, unknown>> | undefined;
}

export const LANE_END = /^lane\.(online|failed|halt)\b/;

/** After an end seen on stderr: how long stdout must stay quiet, and the longest wait for it. */
const STDOUT_QUIET_MS = 300;
const STDOUT_DRAIN_MAX_MS = 3_000;

/** The figures of the image's `lane.heap phase=<phase> name=<n> ...` line (test/moddable/image/lane-main.ts). */
export function laneHeap(lines: string[], phase: string): Record<string, number> {
  const line = lines.find((entry) => entry.startsWith(`lane.heap phase=${phase} `));
  if (!line) throw new Error(`no ${phase} heap line in:\n${lines.slice(-20).join("\n")}`);
  return Object.fromEntries([...line.matchAll(/(\w+)=(\d+)/g)].map((match) => [match[1], Number(match[2])]));
}

function cleanLine(line: string): string {
  // eslint-disable-next-line no-control-regex
  return line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "").replace(/^(\(xsdb\) )+/, "").replace(/^\[Thread \d+\] /, "").trimEnd();
}

/**
 * Seeds hal/lin/preference-nvs.js's store: one file per key, a type byte and the value. Only
 * what a seed holds (strings, integers, booleans); Moddable's lin layout for an ArrayBuffer
 * ({ buffer: "1,2,3" }) becomes its bytes.
 */
function writeNvsPreferences(folder: string, preferences: Record<string, Record<string, unknown>>): void {
  mkdirSync(folder, { recursive: true });
  for (const [domain, values] of Object.entries(preferences)) {
    for (const [key, value] of Object.entries(values)) {
      let record: Buffer;
      if (typeof value === "string") record = Buffer.concat([Buffer.from("s"), Buffer.from(value, "utf8")]);
      else if (typeof value === "boolean") record = Buffer.from([0x62, value ? 1 : 0]);
      else if (typeof value === "number" && Number.isInteger(value)) {
        record = Buffer.alloc(5);
        record[0] = 0x69;
        record.writeInt32LE(value, 1);
      } else if (value && typeof value === "object" && typeof (value as { buffer?: unknown }).buffer === "string") {
        const text = (value as { buffer: string }).buffer;
        record = Buffer.concat([Buffer.from("a"), Buffer.from(text === "" ? [] : text.split(",").map(Number))]);
      } else throw new Error(`lane preferences: ${domain}.${key} holds a value NVS cannot (${typeof value})`);
      writeFileSync(path.join(folder, `${domain}.${key}`), record);
    }
  }
}

/** What hal/lin/preference-nvs.js holds, by domain and key (an ArrayBuffer value as a Buffer); undefined before any write. */
export function readNvsPreferences(folder: string): Record<string, Record<string, unknown>> | undefined {
  if (!existsSync(folder)) return undefined;
  const store: Record<string, Record<string, unknown>> = {};
  for (const name of readdirSync(folder)) {
    const dot = name.indexOf(".");
    if (dot <= 0 || name.endsWith("~")) continue;
    const record = readFileSync(path.join(folder, name));
    const value = record.subarray(1);
    const tag = String.fromCharCode(record[0]);
    const decoded = tag === "s" ? value.toString("utf8") : tag === "i" ? value.readInt32LE(0) : tag === "b" ? value[0] !== 0 : Buffer.from(value);
    (store[name.slice(0, dot)] ??= {})[name.slice(dot + 1)] = decoded;
  }
  return store;
}

/** One boot of the lane image in mcsim; the process group is killed when it ends. */
export async function bootLane(options: LaneBootOptions): Promise<LaneBoot> {
  const home = path.join(options.dir, "home");
  mkdirSync(path.join(home, ".config", "tech.moddable.mcsim"), { recursive: true });
  const store = path.join(options.dir, "nvs");
  if (options.preferences) writeNvsPreferences(store, options.preferences);
  const port = await freePort();
  const until = options.until ?? LANE_END;
  const child = spawn(process.execPath, [
    path.join(options.sdk.root, "tools", "xsbug-log", "xsbug-log.js"),
    path.join(options.sdk.bin, "mcsim"),
    options.image.artifact,
  ], {
    cwd: options.dir,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      PATH: process.env.PATH,
      HOME: home,
      DISPLAY: options.display.display,
      MODDABLE: options.sdk.root,
      XSBUG_LOG_PORT: String(port),
      XSBUG_PORT: String(port),
      XSBUG_HOST: "127.0.0.1",
      // xsbug-log's one dependency (saxophone) comes from this repository.
      NODE_PATH: path.join(REPO_ROOT, "node_modules"),
    },
  });
  const lines: string[] = [];
  const traceFile = path.join(options.dir, "trace.log");
  writeFileSync(traceFile, "");
  // Trace lines reach xsbug-log over its socket and come out on its stdout; mcsim's own messages
  // (an XS abort, the OTA stand-in's restart) come straight out on stderr and can overtake trace
  // lines written before them. An end seen on stderr waits for stdout to fall quiet.
  let endedOnStderr = false;
  let lastStdoutMs = Date.now();
  const end = await new Promise<string>((resolve) => {
    // Each stream's unfinished last line: a chunk of one must not end a line of the other.
    const pending = { stdout: "", stderr: "" };
    const timer = setTimeout(() => resolve("timeout"), options.timeoutMs ?? 60_000);
    const stop = () => {
      clearTimeout(timer);
      resolve("stopped");
    };
    options.stopWhen?.then(stop, stop);
    const onData = (chunk: Buffer, fromStderr: boolean) => {
      appendFileSync(traceFile, chunk);
      if (!fromStderr) lastStdoutMs = Date.now();
      const stream = fromStderr ? "stderr" : "stdout";
      const parts = (pending[stream] + chunk.toString("utf8")).split("\n");
      pending[stream] = parts.pop() ?? "";
      for (const part of parts) {
        const line = cleanLine(part);
        if (line === "") continue;
        lines.push(line);
        // An XS abort ends the program but not mcsim: stop waiting at once.
        if (until.test(line) || /XS abort/.test(line)) {
          clearTimeout(timer);
          if (fromStderr) {
            endedOnStderr = true;
            lastStdoutMs = Date.now(); // at least one quiet spell from here
          }
          resolve(line);
        }
      }
    };
    child.stdout!.on("data", (chunk: Buffer) => onData(chunk, false));
    child.stderr!.on("data", (chunk: Buffer) => onData(chunk, true));
    child.once("exit", () => {
      clearTimeout(timer);
      resolve("exit");
    });
  });
  if (endedOnStderr) {
    const drainUntil = Date.now() + STDOUT_DRAIN_MAX_MS;
    while (Date.now() - lastStdoutMs < STDOUT_QUIET_MS && Date.now() < drainUntil) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  try {
    process.kill(-child.pid!, "SIGKILL");
  } catch {
    // already gone
  }
  return {
    lines,
    traceFile,
    end,
    preferences: () => readNvsPreferences(store),
  };
}
