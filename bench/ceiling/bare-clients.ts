/**
 * The fleet's ceiling, client side: `count` bare MQTT.js clients connecting to the bare broker
 * (no registration, no credentials, no subscribe, no report), at most `concurrency` connecting
 * at once, all held open until the last one is connected, exactly as the fleet holds its
 * devices. Reports connects per second and the process's RSS growth per connected client.
 * Forked by bench/fleet.ts; one task, one report, then exits.
 */
import mqtt, { type MqttClient } from "mqtt";

export interface BareClientsTask {
  mqttUrl: string;
  count: number;
  concurrency: number;
  /** Per-client bound: a client not connected within this counts as failed. */
  connectTimeoutMs: number;
}

export interface BareClientsReport {
  connected: number;
  failed: number;
  firstFailure?: string;
  wallMs: number;
  connectsPerSecond: number;
  rssBeforeBytes: number;
  rssAllConnectedBytes: number;
  bytesPerClient: number;
  /** CPU time (user + system) this process spent connecting. */
  cpuSeconds: number;
}

function connectOne(task: BareClientsTask, index: number, clients: MqttClient[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    const client = mqtt.connect(task.mqttUrl, {
      clientId: `bare-${index}`,
      protocolVersion: 4,
      keepalive: 60,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: task.connectTimeoutMs,
    });
    clients.push(client);
    client.once("connect", () => resolve(undefined));
    client.once("error", (error) => resolve(error.message));
    client.once("close", () => resolve("closed before CONNACK"));
  });
}

export async function runBareClients(task: BareClientsTask): Promise<BareClientsReport> {
  const clients: MqttClient[] = [];
  let connected = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  let next = 0;
  const rssBeforeBytes = process.memoryUsage().rss;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const worker = async () => {
    while (next < task.count) {
      const failure = await connectOne(task, next++, clients);
      if (failure === undefined) connected++;
      else { failed++; firstFailure ??= failure; }
    }
  };
  await Promise.all(Array.from({ length: Math.min(task.concurrency, task.count) }, worker));
  const wallMs = performance.now() - started;
  const rssAllConnectedBytes = process.memoryUsage().rss;
  const cpu = process.cpuUsage(cpuBefore);
  await Promise.all(clients.map((client) => new Promise<void>((resolve) => client.end(true, {}, () => resolve()))));
  return {
    connected, failed, firstFailure,
    wallMs: Math.round(wallMs),
    connectsPerSecond: (connected / wallMs) * 1000,
    rssBeforeBytes, rssAllConnectedBytes,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    bytesPerClient: Math.max(0, rssAllConnectedBytes - rssBeforeBytes) / Math.max(1, connected),
  };
}

if (process.send) {
  process.once("message", (task: BareClientsTask) => {
    runBareClients(task).then(
      (report) => process.send!(report, () => process.exit(0)),
      (error) => process.send!({ connected: 0, failed: task.count, firstFailure: String(error) }, () => process.exit(1)),
    );
  });
}
