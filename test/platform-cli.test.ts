import { strict as assert } from "node:assert";
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import mqtt, { MqttClient } from "mqtt";
import { connect as tlsConnect } from "node:tls";
import { createServer, type AddressInfo } from "node:net";
import { PID, SECRET, mqttCredentials, registerPsk, tempDir, testConfig } from "./platform-helpers";

// The installed command, as a user runs it: the compiled CLI (dist/cli.js, rebuilt by the mocha setup when stale).
const BIN = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..", "simulator", "bin", "explorer-xs.js");
const READY = /^platform ready http=(http:\/\/127\.0\.0\.1:\d+) mqtt=(mqtt:\/\/127\.0\.0\.1:\d+) console=(http:\/\/127\.0\.0\.1:\d+\/console)$/m;

function startCli(args: string[], readyLine = READY): { child: ChildProcess; output: () => string; ready: Promise<RegExpExecArray> } {
  const child = spawn(process.execPath, [BIN, "platform", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  let errors = "";
  child.stderr!.on("data", (chunk) => (errors += chunk));
  const ready = new Promise<RegExpExecArray>((resolve, reject) => {
    child.stdout!.on("data", (chunk) => {
      output += chunk;
      const match = readyLine.exec(output);
      if (match) resolve(match);
    });
    child.once("exit", (code) => reject(new Error(`exited with ${code} before ready: ${errors}`)));
  });
  return { child, output: () => output, ready };
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once("exit", (code) => resolve(code))));
}

describe("platform: explorer-xs platform (CLI)", function () {
  this.timeout(30_000);
  let temp: ReturnType<typeof tempDir>;
  beforeEach(() => { temp = tempDir("explorer-xs-cli-"); });
  afterEach(() => temp.remove());

  it("prints one ready line, logs registrations and connections as JSON without secrets, and stops on SIGTERM", async () => {
    const config = join(temp.dir, "products.json");
    writeFileSync(config, JSON.stringify(testConfig()));
    const run = startCli(["--config", config, "--data", join(temp.dir, "data"), "--http-port", "0", "--mqtt-port", "0", "--host", "127.0.0.1"]);
    try {
      const [, httpUrl, mqttUrl, consoleUrl] = await run.ready;
      assert.equal(consoleUrl, `${httpUrl}/console`);
      const psk = await registerPsk(httpUrl, "dev001");
      const client = await mqtt.connectAsync(mqttUrl, { ...mqttCredentials(PID, "dev001", psk), reconnectPeriod: 0 });
      await client.endAsync();
      run.child.kill("SIGTERM");
      assert.equal(await exited(run.child), 0);
      const lines = run.output().trim().split("\n");
      assert.equal(lines.filter((line) => line.startsWith("platform ready")).length, 1);
      const events = lines.filter((line) => line.startsWith("{")).map((line) => JSON.parse(line));
      assert.ok(events.some((event) => event.event === "register" && event.outcome === "ok" && event.deviceName === "dev001"));
      assert.ok(events.some((event) => event.event === "connect" && event.outcome === "accepted" && event.clientId === `${PID}dev001`));
      assert.ok(!run.output().includes(psk) && !run.output().includes(SECRET), "no secret in the log");
      assert.match(lines[lines.length - 1], /^platform stopped \(SIGTERM\)$/);
    } finally {
      run.child.kill("SIGKILL");
    }
  });

  it("--no-log prints no event line (ready and stop lines stay), while registrations and connections still work", async () => {
    const config = join(temp.dir, "products.json");
    writeFileSync(config, JSON.stringify(testConfig()));
    const run = startCli(["--config", config, "--memory", "--no-log", "--http-port", "0", "--mqtt-port", "0"]);
    try {
      const [, httpUrl, mqttUrl] = await run.ready;
      const psk = await registerPsk(httpUrl, "dev002");
      const client = await mqtt.connectAsync(mqttUrl, { ...mqttCredentials(PID, "dev002", psk), reconnectPeriod: 0 });
      await client.endAsync();
      run.child.kill("SIGTERM");
      assert.equal(await exited(run.child), 0);
      const lines = run.output().trim().split("\n");
      assert.deepEqual(lines.filter((line) => line.startsWith("{")), [], "no JSON event line");
      assert.equal(lines.filter((line) => line.startsWith("platform ready ")).length, 1);
      assert.match(lines[lines.length - 1], /^platform stopped \(SIGTERM\)$/);
    } finally {
      run.child.kill("SIGKILL");
    }
  });

  it("stops on SIGINT, and refuses --data with --memory", async () => {
    const run = startCli(["--memory", "--http-port", "0", "--mqtt-port", "0"]);
    await run.ready;
    run.child.kill("SIGINT");
    assert.equal(await exited(run.child), 0);
    const both = startCli(["--memory", "--data", temp.dir, "--http-port", "0", "--mqtt-port", "0"]);
    await assert.rejects(both.ready);
    assert.notEqual(await exited(both.child), 0);
  });

  it("serves TLS-PSK on --mqtt-tls-port without a certificate, --mqtt-psk-port being its alias", async () => {
    const config = join(temp.dir, "products.json");
    writeFileSync(config, JSON.stringify(testConfig()));
    const run = startCli(["--config", config, "--memory", "--http-port", "0", "--mqtt-port", "0", "--mqtt-psk-port", "0"],
      /^platform ready http=(http:\/\/127\.0\.0\.1:\d+) .* mqtts=mqtts:\/\/127\.0\.0\.1:(\d+)$/m);
    try {
      const [line, httpUrl, port] = await run.ready;
      assert.doesNotMatch(line, /https=/, "no HTTPS without a key and certificate");
      const psk = await registerPsk(httpUrl, "dev001");
      const { username } = mqttCredentials(PID, "dev001", psk);
      const client = new MqttClient(() => tlsConnect({
        host: "127.0.0.1", port: Number(port), ciphers: "PSK-AES128-CBC-SHA", maxVersion: "TLSv1.2", checkServerIdentity: () => undefined,
        pskCallback: () => ({ identity: `${PID}dev001`, psk: Buffer.from(psk, "base64") }),
      }), { clientId: `${PID}dev001`, username, reconnectPeriod: 0, connectTimeout: 5000 } as never);
      await new Promise<void>((resolve, reject) => { client.once("connect", () => resolve()); client.once("error", reject); });
      await client.endAsync();
    } finally {
      run.child.kill("SIGKILL");
    }
    const both = startCli(["--memory", "--http-port", "0", "--mqtt-port", "0", "--mqtt-psk-port", "8884", "--mqtt-tls-port", "8885"]);
    await assert.rejects(both.ready, /alias of --mqtt-tls-port/);
  });

  it("exits 2 (bad input) with a clear message for a bad config or an unreadable TLS file", async () => {
    const config = join(temp.dir, "bad.json");
    writeFileSync(config, JSON.stringify({ products: [{ productId: "X", productSecret: "short" }] }));
    const run = startCli(["--config", config, "--memory", "--http-port", "0", "--mqtt-port", "0"]);
    await assert.rejects(run.ready, /productSecret/);
    assert.equal(await exited(run.child), 2);
    const tls = startCli(["--memory", "--http-port", "0", "--mqtt-port", "0", "--tls-key", join(temp.dir, "none.key"), "--tls-cert", join(temp.dir, "none.pem")]);
    await assert.rejects(tls.ready, /--tls-key .*none\.key: cannot read it \(no such file\)/);
    assert.equal(await exited(tls.child), 2);
  });

  it("a port in use names the address and the flag to change, without a stack trace", async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const taken = (holder.address() as AddressInfo).port;
    try {
      for (const flag of ["--http-port", "--mqtt-port"]) {
        const args = ["--memory", "--http-port", "0", "--mqtt-port", "0"];
        args[args.indexOf(flag) + 1] = String(taken);
        const run = startCli(args);
        const failure = await run.ready.then(() => assert.fail("started on a port in use"), (error: Error) => error.message);
        assert.match(failure, new RegExp(`127\\.0\\.0\\.1:${taken} is already in use .*choose another with ${flag} \\(0 picks a free port\\)`));
        assert.doesNotMatch(failure, /\n\s+at /);
        assert.equal(await exited(run.child), 1);
      }
    } finally {
      holder.close();
    }
  });
});
