/**
 * The Moddable lane: the production manifest built for Moddable's Linux simulator (`-p lin`,
 * whose platform section swaps only Wi-Fi, the hardware RNG and GPIO) inside a test image that
 * adds a test entry (test/moddable/image/lane-main.ts), Moddable's debug and instrumentation
 * modules, a test CA as trust anchor for both roles, and a Preference root relative to the
 * process's working folder, so every boot has its own store. An app that includes the library
 * (examples/) is built the same way around its own main (buildAppLaneImage). Each boot runs `mcsim` headless
 * under Xvfb with Moddable's xsbug-log as the debugger that prints trace() output.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import path from "node:path";
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

/** The test image's manifest: the production manifest plus what only the lane needs. */
export function writeLaneManifest(dir = LANE_DIR): string {
  laneTls(dir);
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
    creation: { main: "lane-main" },
    modules: {
      "lane-main": path.join(REPO_ROOT, "test", "moddable", "image", "lane-main"),
      // The MQTT contract's device side, under names whose relative imports reach hal/ and firmware/.
      "test/mqtt-contract/device": path.join(REPO_ROOT, "test", "mqtt-contract", "device"),
      "test/mqtt-contract/scenarios": path.join(REPO_ROOT, "test", "mqtt-contract", "scenarios"),
    },
    data: { "lane-test-ca": path.join(dir, "tls", "lane-test-ca") },
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

export function buildLaneImage(sdk: ModdableSdk, log: Log): Promise<BuiltImage> {
  mkdirSync(LANE_DIR, { recursive: true });
  return buildImage({ sdk, platform: "lin", manifest: writeLaneManifest(), outDir: path.join(LANE_DIR, "out"), debug: true, log });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
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
  /** The boot's own folder: its Preference store (modpreferences.json) and HOME. */
  dir: string;
  /** Written as the Preference store before the boot when given (namespace -> key -> value). */
  preferences?: Record<string, Record<string, unknown>>;
  /** The boot ends at the first trace line matching this (default: online, failed, halted). */
  until?: RegExp;
  timeoutMs?: number;
}

export interface LaneBoot {
  /** trace() output, one line each, as xsbug-log printed it (prompts and thread tags removed). */
  lines: string[];
  /** The raw output, as it came (`<dir>/trace.log`), for a person reading a failure. */
  traceFile: string;
  /** What ended the boot: the matching line, or "timeout". */
  end: string;
  /** The Preference store after the boot (undefined if none was written). */
  preferences(): Record<string, Record<string, unknown>> | undefined;
}

export const LANE_END = /^lane\.(online|failed|halt)\b/;

function cleanLine(line: string): string {
  // eslint-disable-next-line no-control-regex
  return line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "").replace(/^(\(xsdb\) )+/, "").replace(/^\[Thread \d+\] /, "").trimEnd();
}

/** One boot of the lane image in mcsim; the process group is killed when it ends. */
export async function bootLane(options: LaneBootOptions): Promise<LaneBoot> {
  const home = path.join(options.dir, "home");
  mkdirSync(path.join(home, ".config", "tech.moddable.mcsim"), { recursive: true });
  const store = path.join(options.dir, "modpreferences.json");
  if (options.preferences) writeFileSync(store, JSON.stringify(options.preferences));
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
  const end = await new Promise<string>((resolve) => {
    let pending = "";
    const timer = setTimeout(() => resolve("timeout"), options.timeoutMs ?? 60_000);
    const onData = (chunk: Buffer) => {
      appendFileSync(traceFile, chunk);
      pending += chunk.toString("utf8");
      const parts = pending.split("\n");
      pending = parts.pop() ?? "";
      for (const part of parts) {
        const line = cleanLine(part);
        if (line === "") continue;
        lines.push(line);
        // An XS abort ends the program but not mcsim: stop waiting at once.
        if (until.test(line) || /XS abort/.test(line)) {
          clearTimeout(timer);
          resolve(line);
        }
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve("exit");
    });
  });
  try {
    process.kill(-child.pid!, "SIGKILL");
  } catch {
    // already gone
  }
  return {
    lines,
    traceFile,
    end,
    preferences: () => (existsSync(store) ? JSON.parse(readFileSync(store, "utf8")) : undefined),
  };
}
