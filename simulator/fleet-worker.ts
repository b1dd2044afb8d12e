/**
 * A fleet shard on a worker thread (started by simulator/fleet.ts, compiled to
 * dist/fleet-worker.js): boots its devices, reports progress at most every PROGRESS_MS and
 * once more at the end, sends its result, keeps its devices online until told to close (answering
 * in the meantime what its devices did about firmware updates), then disconnects them and says so.
 */
import { parentPort, workerData } from "node:worker_threads";
import { bootShard, type FromShardWorker, type ShardOptions, type ToShardWorker } from "./fleet";

const PROGRESS_MS = 100;

if (!parentPort) throw new Error("simulator/fleet-worker.ts runs as a worker thread started by runFleet");
const port = parentPort;
const send = (message: FromShardWorker) => port.postMessage(message);

const shard = workerData as ShardOptions;
let lastSent = 0;
const booted = await bootShard(shard, (done, online) => {
  const now = performance.now();
  if (now - lastSent >= PROGRESS_MS) {
    lastSent = now;
    send({ type: "progress", done, online });
  }
});
send({ type: "progress", done: shard.count, online: booted.result.online });
send({ type: "booted", result: booted.result });
port.on("message", (message: ToShardWorker) => {
  if (message.type === "ota") send({ type: "ota", result: booted.ota() });
  else if (message.type === "close") booted.close().then(() => send({ type: "closed" }));
});
