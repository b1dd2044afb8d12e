/**
 * The fleet's ceiling, client side: `count` bare clients each doing the exchanges a fleet device
 * does, with none of its work between them: an HTTP POST of a registration-sized body to the
 * constant-body server (answer read, not decrypted), then an MQTT.js CONNECT, a SUBSCRIBE to its
 * own topic and a PUBLISH to it, done when the broker delivers that publish back (the reply).
 * At most `concurrency` at once, all held open until the last one is done, exactly as the fleet
 * holds its devices, and spread over `workers` worker threads the way the fleet spreads its
 * shards (0: all in the main thread). Reports clients per second and the process's RSS growth
 * per client. With `exchanges: "device"` each client makes every exchange of a device's first
 * online instead (four SUBSCRIBEs, the report, then report_info, get_status and the time request,
 * each answered in turn): the floor under a fleet device's whole CPU cost.
 *
 * Plain JavaScript so the worker threads need no transpiler. Forked by bench/fleet.ts (IPC: one
 * task, one report, then exit); each worker thread runs this same file.
 */
import { request } from "node:http";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";

const BODY = JSON.stringify({ ProductId: "BAREPRD001", DeviceName: "bare-device-000000" });

function post(url) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", headers: { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(BODY) } }, (res) => {
      let text = "";
      res.on("data", (chunk) => (text += chunk));
      res.on("end", () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end(BODY);
  });
}

function online(task, index, clients) {
  return new Promise((resolve) => {
    const topic = `bare/${index}/property`;
    const client = mqtt.connect(task.mqttUrl, { clientId: `bare-${index}`, protocolVersion: 4, keepalive: 60, clean: true, reconnectPeriod: 0, connectTimeout: task.connectTimeoutMs });
    clients.push(client);
    // exchanges "device": every exchange of a device's first online (boot.ts, template-session.ts):
    // four SUBSCRIBEs, the report and its reply, then report_info, get_status and the time
    // request, each sent when the previous one was answered.
    const followUps = task.exchanges === "device" ? ["report_info", "get_status", "time"] : [];
    client.once("connect", () => {
      client.subscribe(topic, { qos: 1 });
      if (followUps.length > 0) for (const extra of ["event", "action", "time"]) client.subscribe(`bare/${index}/${extra}`, { qos: extra === "time" ? 0 : 1 });
      client.publish(topic, JSON.stringify({ method: "report", clientToken: `t-${index}`, params: { index } }), { qos: 0 });
    });
    client.on("message", () => {
      const next = followUps.shift();
      if (next === undefined) return resolve(undefined);
      client.publish(next === "time" ? `bare/${index}/time` : topic, JSON.stringify({ method: next, clientToken: `t-${index}-${next}` }), { qos: 0 });
    });
    client.once("error", (error) => resolve(error.message));
    client.once("close", () => resolve("closed before the reply"));
  });
}

/** One shard in this thread: indices first..first+count-1. */
async function runShard(task, onDone) {
  const clients = [];
  let next = task.first;
  const end = task.first + task.count;
  let ok = 0;
  const failures = [];
  const slot = async () => {
    while (next < end) {
      const index = next++;
      let failure;
      try {
        await post(`${task.httpUrl}/device/register`);
        failure = await online(task, index, clients);
      } catch (error) {
        failure = error.message;
      }
      if (failure === undefined) ok++;
      else failures.push(failure);
      onDone?.();
    }
  };
  await Promise.all(Array.from({ length: Math.min(task.concurrency, task.count) }, slot));
  return { ok, failures, close: () => Promise.all(clients.map((client) => new Promise((resolve) => client.end(true, {}, resolve)))) };
}

/** Same split as simulator/fleet.ts splitShards. */
function split(count, concurrency, shards) {
  const used = Math.max(1, Math.min(shards, count));
  const out = [];
  let first = 0;
  for (let shard = 0; shard < used; shard++) {
    const size = Math.floor(count / used) + (shard < count % used ? 1 : 0);
    out.push({ first, count: size, concurrency: Math.max(1, Math.floor(concurrency / used) + (shard < concurrency % used ? 1 : 0)) });
    first += size;
  }
  return out;
}

export async function runBareDevices(task) {
  const rssBeforeBytes = process.memoryUsage().rss;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let ok = 0;
  let failures = [];
  let closeAll;
  if (!task.workers) {
    const shard = await runShard({ ...task, first: 0 });
    ({ ok, failures } = shard);
    closeAll = shard.close;
  } else {
    const workers = split(task.count, task.concurrency, task.workers).map((shard) => new Worker(fileURLToPath(import.meta.url), { workerData: { ...task, ...shard } }));
    const results = await Promise.all(workers.map((worker) => new Promise((resolve) => {
      worker.once("message", resolve);
      worker.once("error", (error) => resolve({ ok: 0, failures: [`worker crashed: ${error.message}`] }));
    })));
    for (const result of results) { ok += result.ok; failures = failures.concat(result.failures); }
    closeAll = async () => { for (const worker of workers) worker.postMessage("close"); await Promise.all(workers.map((worker) => new Promise((resolve) => worker.once("exit", resolve)))); };
  }
  const wallMs = performance.now() - started;
  const rssAllOnlineBytes = process.memoryUsage().rss;
  const cpu = process.cpuUsage(cpuBefore);
  const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  await closeAll();
  return {
    connected: ok, failed: failures.length, firstFailure: failures[0],
    wallMs: Math.round(wallMs),
    connectsPerSecond: (ok / wallMs) * 1000,
    rssBeforeBytes, rssAllConnectedBytes: rssAllOnlineBytes, peakRssMb,
    bytesPerClient: Math.max(0, rssAllOnlineBytes - rssBeforeBytes) / Math.max(1, ok),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

if (!isMainThread) {
  const shard = await runShard(workerData);
  parentPort.postMessage({ ok: shard.ok, failures: shard.failures });
  parentPort.once("message", () => shard.close().then(() => process.exit(0)));
} else if (process.send) {
  process.once("message", (task) => {
    runBareDevices(task).then(
      (report) => process.send(report, () => process.exit(0)),
      (error) => process.send({ connected: 0, failed: task.count, firstFailure: String(error) }, () => process.exit(1)),
    );
  });
}
