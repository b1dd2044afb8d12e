/**
 * The MQTT engine bench's client side, one kind per process (forked by bench/mqtt-engine.ts):
 * "engine" is the core's engine (firmware/mqtt) over the Node socket; "legacy" is the Node MQTT
 * transport the engine replaced (hal/node/mqtt.ts on mqtt-packet, taken from git history).
 * Reports the CPU per complete session (connect, subscribe, QoS 1 publish and its PUBACK, one
 * inbound QoS 1 message acknowledged, close) and the memory per idle connected session.
 */
import { performance } from "node:perf_hooks";
import { connectMqtt } from "../../firmware/mqtt/client";
import type { MqttHandlers, MqttSession } from "../../firmware/mqtt/session";
import { createNodeClock } from "../../hal/node/clock";
import { createNodeSocketTransport } from "../../hal/node/socket";

export interface ClientsTask {
  kind: "engine" | "legacy";
  /** The legacy transport module (a file written from git history by the parent). */
  legacyModule?: string;
  url: string;
  sessions: number;
  concurrency: number;
  idleSessions: number;
}

export interface ClientsReport {
  kind: string;
  sessions: number;
  cpuMicrosPerSession: number;
  wallMs: number;
  idleSessions: number;
  heapBytesPerIdleSession: number;
  failures: number;
}

type Open = (clientId: string, handlers: MqttHandlers) => Promise<MqttSession>;

const PAYLOAD = new TextEncoder().encode(JSON.stringify({ method: "report", clientToken: "exs-1-12345", timestamp: 1_700_000_000, params: { power_switch: 1, temperature: 23.5, humidity: 41 } }));

async function opener(task: ClientsTask): Promise<Open> {
  const base = { url: task.url, username: "bench;21010406;abcde;4102444800", password: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef;hmacsha256", keepAliveSeconds: 60, connectTimeoutMs: 10_000 };
  if (task.kind === "engine") {
    const hal = { socket: createNodeSocketTransport(), clock: createNodeClock() };
    return (clientId, handlers) => connectMqtt(hal, { ...base, clientId }, handlers);
  }
  const legacy = (await import(task.legacyModule!)) as { createNodeMqttTransport(): { connect(options: object, handlers: MqttHandlers): Promise<MqttSession> } };
  const transport = legacy.createNodeMqttTransport();
  return (clientId, handlers) => transport.connect({ ...base, clientId }, handlers);
}

async function oneSession(open: Open, index: number): Promise<void> {
  let arrived!: () => void;
  const message = new Promise<void>((resolve) => (arrived = resolve));
  const session = await open(`bench${index}`, { onMessage: () => arrived(), onClose: () => undefined });
  await session.subscribe(`bench/down/${index}`, 1);
  await session.publish(`bench/up/${index}`, PAYLOAD, 1);
  await message;
  await session.close();
}

function heapNow(): number {
  (globalThis as { gc?: () => void }).gc?.();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external + usage.arrayBuffers;
}

async function run(task: ClientsTask): Promise<ClientsReport> {
  const open = await opener(task);
  let failures = 0;
  // Warm-up: the JIT and the socket paths, not measured.
  for (let i = 0; i < 50; i++) await oneSession(open, i).catch(() => failures++);

  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(Array.from({ length: task.concurrency }, async () => {
    while (next < task.sessions) await oneSession(open, next++).catch(() => failures++);
  }));
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);

  const before = heapNow();
  const idle: MqttSession[] = [];
  for (let i = 0; i < task.idleSessions; i += 100) {
    const batch = await Promise.all(Array.from({ length: Math.min(100, task.idleSessions - i) }, async (_, k) => {
      const session = await open(`idle${i + k}`, { onMessage: () => undefined, onClose: () => undefined });
      await session.subscribe(`bench/down/idle${i + k}`, 1);
      return session;
    }));
    idle.push(...batch);
  }
  const after = heapNow();
  await Promise.all(idle.map((session) => session.close()));

  return {
    kind: task.kind,
    sessions: task.sessions,
    cpuMicrosPerSession: (used.user + used.system) / task.sessions,
    wallMs,
    idleSessions: idle.length,
    heapBytesPerIdleSession: (after - before) / Math.max(1, idle.length),
    failures,
  };
}

process.once("message", (task: ClientsTask) => {
  run(task).then(
    (report) => {
      process.send?.(report);
      setTimeout(() => process.exit(0), 200);
    },
    (error: Error) => {
      console.error(error);
      process.exit(1);
    },
  );
});
