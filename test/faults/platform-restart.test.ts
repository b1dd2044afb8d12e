/**
 * The platform crashes (SIGKILL) in the middle of a fleet boot and comes back on the same ports
 * from its data folder: every device ends online, each holds the secret the registry kept, and
 * the registry still knows every device.
 */
import { strict as assert } from "node:assert";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { recordCase } from "./lib/results";
import { apiClient } from "../cloud-api-helpers";
import { bootBoard, checkInvariants, newBoard, productsConfig, storedSecret, PSK_PRODUCT, type BootRun } from "./lib/harness";

const BIN = fileURLToPath(new URL("../../simulator/bin/explorer-xs.js", import.meta.url)); // the compiled CLI
const READY = /platform ready http=(\S+) mqtt=(\S+) console=(\S+)/;

interface Child { process: ChildProcess; httpUrl: string; mqttUrl: string }

async function spawnPlatform(dataDir: string, configFile: string, httpPort = 0, mqttPort = 0): Promise<Child> {
  const child = spawn(process.execPath, [BIN, "platform", "--data", dataDir, "--config", configFile,
    "--host", "127.0.0.1", "--http-port", String(httpPort), "--mqtt-port", String(mqttPort)], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  let errors = "";
  child.stderr!.on("data", (chunk) => (errors = (errors + chunk).slice(-4000)));
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`platform not ready: ${errors}`)), 30_000);
    child.stdout!.on("data", (chunk) => {
      output = (output + chunk).slice(-8000);
      const found = READY.exec(output);
      if (found) { clearTimeout(timer); resolve(found); }
    });
    child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`platform exited ${code}: ${errors}`)); });
  });
  child.removeAllListeners("exit");
  child.stdout!.resume();
  return { process: child, httpUrl: match[1], mqttUrl: match[2] };
}

function kill(child: Child, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (child.process.exitCode !== null || child.process.signalCode !== null) return resolve();
    child.process.once("exit", () => resolve());
    child.process.kill(signal);
  });
}

describe("fault matrix: platform restart in the middle of a fleet boot", function () {
  this.timeout(180_000);
  let dir: string;
  const children: Child[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "exs-restart-"));
    writeFileSync(join(dir, "products.json"), JSON.stringify(productsConfig()));
  });
  after(async () => {
    for (const child of children) await kill(child, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  for (const killAfterOnline of [0, 5, 15]) {
    it(`SIGKILL once ${killAfterOnline} of 24 devices are online, restart on the same ports: all end online with persisted secrets`, async () => {
      const dataDir = join(dir, `data-${killAfterOnline}`);
      const first = await spawnPlatform(dataDir, join(dir, "products.json"));
      children.push(first);
      const httpPort = Number(new URL(first.httpUrl).port);
      const mqttPort = Number(new URL(first.mqttUrl).port);
      const boards = Array.from({ length: 24 }, (_, i) => newBoard("psk", `d${String(100 + i)}`));
      let online = 0;
      let restarted: Promise<Child> | undefined;
      const restart = async () => {
        await kill(first, "SIGKILL");
        const second = await spawnPlatform(dataDir, join(dir, "products.json"), httpPort, mqttPort);
        children.push(second);
        return second;
      };
      if (killAfterOnline === 0) restarted = restart();
      const runs: BootRun[] = await Promise.all(boards.map(async (board, i) => {
        await new Promise((resolve) => setTimeout(resolve, i * 25));
        const run = await bootBoard(board, {
          registerUrl: `${first.httpUrl}/device/register`,
          mqttUrl: first.mqttUrl,
          boot: { backoff: { baseMs: 50, capMs: 400, maxAttempts: 200 } },
          limitMs: 60_000,
        });
        if (run.outcome === "online" && ++online === killAfterOnline && !restarted) restarted = restart();
        return run;
      }));
      const second = await (restarted ?? restart());
      // The restarted platform is asked through its Cloud API, with the key pair it keeps in its data folder.
      const keys = JSON.parse(readFileSync(join(dataDir, "cloud-api-credentials.json"), "utf8")) as { SecretId: string; SecretKey: string };
      const api = apiClient({ url: second.httpUrl, secretId: keys.SecretId, secretKey: keys.SecretKey });
      const problems: string[] = [];
      for (const [i, run] of runs.entries()) {
        const { Device: detail } = await api.DescribeDevice({ ProductId: PSK_PRODUCT.productId, DeviceName: boards[i].deviceName });
        const issued = detail?.DevicePsk || undefined;
        const verdict = checkInvariants(run, { secrets: [PSK_PRODUCT.productSecret, ...(issued ? [issued] : [])] });
        if (storedSecret(run) !== issued) verdict.violations.push("the device's secret is not the one the registry kept");
        if (detail?.FirstOnlineTime === null || detail?.FirstOnlineTime === undefined) verdict.violations.push(`registry status ${String(detail?.Status)}: never activated`);
        const label = `kill after ${killAfterOnline} online, ${boards[i].deviceName}`;
        recordCase({ family: "platform restart", label, survived: verdict.violations.length === 0, dataLost: storedSecret(run) !== undefined && storedSecret(run) !== issued, detail: verdict.violations.join("; ") });
        if (verdict.violations.length) problems.push(`${label}: ${verdict.violations.join("; ")}`);
      }
      // The registry survives a clean restart too, and a warm fleet reconnects without registering.
      await kill(second, "SIGTERM");
      const third = await spawnPlatform(dataDir, join(dir, "products.json"), httpPort, mqttPort);
      children.push(third);
      const warm = await bootBoard(boards[0], { registerUrl: `${third.httpUrl}/device/register`, mqttUrl: third.mqttUrl });
      assert.equal(warm.outcome, "online");
      await kill(third, "SIGTERM");
      assert.deepEqual(problems, []);
      assert.ok(runs.some((run) => run.states.includes("backoff")), "the crash hit devices mid-boot (some had to back off)");
    });
  }
});
