/**
 * Load process for the platform benchmark: signs and posts `POST /device/register` requests,
 * each for a new device name (the full State 0 path: create, issue a PSK, record the nonce),
 * keeping `concurrency` requests in flight over keep-alive connections for `durationMs`.
 * Started by bench/platform.ts with child_process.fork; reports one message and exits.
 */
import { Agent, request } from "node:http";
import { signedRegisterRequest } from "./sign";

export interface RegisterLoadTask {
  httpUrl: string;
  productId: string;
  productSecret: string;
  namePrefix: string;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
}

export interface LoadReport {
  ok: number;
  failed: number;
  firstFailure?: string;
  elapsedMs: number;
}

export async function runRegisterLoad(task: RegisterLoadTask): Promise<LoadReport> {
  const url = new URL(task.httpUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: task.concurrency });
  const host = url.hostname;
  let counter = 0;
  let measuring = false;
  let ok = 0;
  let failed = 0;
  let firstFailure: string | undefined;

  function once(): Promise<void> {
    const deviceName = `${task.namePrefix}${(counter++).toString(36)}`;
    const { body, headers } = signedRegisterRequest(host, task.productId, task.productSecret, deviceName);
    return new Promise((resolve) => {
      const req = request({ host: url.hostname, port: url.port, path: "/device/register", method: "POST", agent, headers }, (res) => {
        let text = "";
        res.on("data", (chunk) => (text += chunk));
        res.on("end", () => {
          const success = res.statusCode === 200 && text.includes('"State":0');
          if (measuring) {
            if (success) ok++;
            else { failed++; firstFailure ??= text.slice(0, 200); }
          }
          resolve();
        });
      });
      req.on("error", (error) => {
        if (measuring) { failed++; firstFailure ??= error.message; }
        resolve();
      });
      req.end(body);
    });
  }

  let stopAt = Date.now() + task.warmupMs + task.durationMs;
  const workers = Array.from({ length: task.concurrency }, async () => {
    while (Date.now() < stopAt) await once();
  });
  await new Promise((resolve) => setTimeout(resolve, task.warmupMs));
  measuring = true;
  const start = performance.now();
  stopAt = Date.now() + task.durationMs;
  await new Promise((resolve) => setTimeout(resolve, task.durationMs));
  measuring = false;
  const elapsedMs = performance.now() - start;
  await Promise.all(workers);
  agent.destroy();
  return { ok, failed, firstFailure, elapsedMs };
}

if (process.send) {
  process.once("message", (task: RegisterLoadTask) => {
    runRegisterLoad(task).then((report) => process.send!(report, () => process.exit(0)), (error) => {
      process.send!({ ok: 0, failed: 1, firstFailure: String(error), elapsedMs: 0 }, () => process.exit(1));
    });
  });
}
