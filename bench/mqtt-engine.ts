/**
 * The core's MQTT engine (firmware/mqtt) against the Node MQTT transport it replaced
 * (hal/node/mqtt.ts on mqtt-packet, read from git history at BASELINE_COMMIT): the simulator's
 * fleet runs thousands of sessions in one process, so the engine must not cost more.
 *
 * 1. Codec, in process: building CONNECT, SUBSCRIBE, QoS 1 PUBLISH and PUBACK, and reading a
 *    broker's CONNACK, SUBACK, PUBACK and PUBLISH, with the core's codec vs mqtt-packet.
 * 2. Sessions over loopback, each client kind in its own process against the same raw broker
 *    (bench/mqtt/raw-broker.ts, its own process): CPU per complete session, and heap per idle
 *    connected session. Kinds alternate, ROUNDS times; medians with min..max.
 *
 * Standalone (not a section of bench/run.ts): node --import tsx bench/mqtt-engine.ts [--quick]
 * Prints one JSON line; note `uptime` beside the figures, they are CPU-time ratios on a shared box.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import mqttPacket from "mqtt-packet";
import { PacketReader } from "../firmware/mqtt/parse";
import { encodeConnect, encodePuback, encodePublish, encodeSubscribe } from "../firmware/mqtt/serialize";
import { runWorker, startServer } from "./lib/processes";
import { spread, type Spread } from "./lib/stats";
import type { ClientsReport, ClientsTask } from "./mqtt/session-clients";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..");
/** The last commit with hal/node/mqtt.ts, the transport the engine replaced. */
const BASELINE_COMMIT = "0ae92995c9b86bb2a1eb67b37a3678600446ca6c";
const QUICK = process.argv.includes("--quick");
const ROUNDS = QUICK ? 1 : 5;
const SESSIONS = QUICK ? 300 : 3000;
const IDLE_SESSIONS = QUICK ? 200 : 2000;
const CONCURRENCY = 100;
const CODEC_ITERATIONS = QUICK ? 20_000 : 200_000;

/** Writes the legacy transport from git history next to this script, its imports pointed at today's tree. */
function writeBaseline(): string {
  const source = execFileSync("git", ["show", `${BASELINE_COMMIT}:hal/node/mqtt.ts`], { cwd: ROOT, encoding: "utf8" });
  const dir = join(HERE, ".baseline");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "legacy-mqtt.ts");
  writeFileSync(file, source.replace('from "../types"', 'from "../../firmware/contracts"').replace('from "./http"', 'from "../../hal/node/http"'));
  return pathToFileURL(file).href;
}

// ---- 1. codec ---------------------------------------------------------------------------------

const TOPIC_UP = "$thing/up/property/ABCDEFGHIJ/dev001";
const TOPIC_DOWN = "$thing/down/property/ABCDEFGHIJ/dev001";
const PAYLOAD = new TextEncoder().encode(JSON.stringify({ method: "report", clientToken: "exs-1-12345", timestamp: 1_700_000_000, params: { power_switch: 1, temperature: 23.5 } }));
const PASSWORD = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef;hmacsha256";
const USERNAME = "ABCDEFGHIJdev001;21010406;abcde;4102444800";

function nsPerOp(iterations: number, body: (i: number) => void): number {
  const started = performance.now();
  for (let i = 0; i < iterations; i++) body(i);
  return ((performance.now() - started) * 1e6) / iterations;
}

function codecRound(): { ours: { build: number; read: number }; mqttPacket: { build: number; read: number } } {
  const passwordBytes = new TextEncoder().encode(PASSWORD);
  const payloadBuffer = Buffer.from(PAYLOAD);
  const oursBuild = nsPerOp(CODEC_ITERATIONS, (i) => {
    encodeConnect({ clientId: "ABCDEFGHIJdev001", username: USERNAME, password: passwordBytes, keepAliveSeconds: 240 });
    encodeSubscribe((i % 65535) + 1, TOPIC_DOWN, 1);
    encodePublish(TOPIC_UP, PAYLOAD, 1, (i % 65535) + 1);
    encodePuback((i % 65535) + 1);
  });
  const theirsBuild = nsPerOp(CODEC_ITERATIONS, (i) => {
    mqttPacket.generate({ cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clean: true, clientId: "ABCDEFGHIJdev001", keepalive: 240, username: USERNAME, password: Buffer.from(PASSWORD, "utf8") });
    mqttPacket.generate({ cmd: "subscribe", messageId: (i % 65535) + 1, subscriptions: [{ topic: TOPIC_DOWN, qos: 1 }] });
    mqttPacket.generate({ cmd: "publish", messageId: (i % 65535) + 1, topic: TOPIC_UP, payload: payloadBuffer, qos: 1, dup: false, retain: false });
    mqttPacket.generate({ cmd: "puback", messageId: (i % 65535) + 1 });
  });
  // What a broker sends a device during a boot, as one stream per iteration.
  const stream = Buffer.concat([
    mqttPacket.generate({ cmd: "connack", returnCode: 0, sessionPresent: false }),
    mqttPacket.generate({ cmd: "suback", messageId: 1, granted: [1] }),
    mqttPacket.generate({ cmd: "puback", messageId: 2 }),
    mqttPacket.generate({ cmd: "publish", topic: TOPIC_DOWN, payload: payloadBuffer, qos: 1, messageId: 3, dup: false, retain: false }),
  ]);
  const streamBytes = new Uint8Array(stream);
  let seen = 0;
  const oursRead = nsPerOp(CODEC_ITERATIONS, () => {
    const reader = new PacketReader(64 * 1024);
    reader.feed(streamBytes);
    while (reader.next() !== undefined) seen++;
  });
  const theirsRead = nsPerOp(CODEC_ITERATIONS, () => {
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on("packet", () => seen++);
    parser.parse(stream);
  });
  if (seen !== CODEC_ITERATIONS * 8) throw new Error(`codec bench read ${seen} packets, expected ${CODEC_ITERATIONS * 8}`);
  return { ours: { build: oursBuild, read: oursRead }, mqttPacket: { build: theirsBuild, read: theirsRead } };
}

// ---- 2. sessions ------------------------------------------------------------------------------

interface KindFigures { cpuMicrosPerSession: Spread; heapBytesPerIdleSession: Spread; failures: number }

async function sessionRounds(legacyModule: string): Promise<Record<"engine" | "legacy", KindFigures>> {
  const broker = await startServer<{ mqttUrl: string }>(join(HERE, "mqtt", "raw-broker.ts"));
  const reports: Record<"engine" | "legacy", ClientsReport[]> = { engine: [], legacy: [] };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const order: Array<"engine" | "legacy"> = round % 2 === 0 ? ["engine", "legacy"] : ["legacy", "engine"];
      for (const kind of order) {
        const task: ClientsTask = { kind, legacyModule, url: broker.ready.mqttUrl, sessions: SESSIONS, concurrency: CONCURRENCY, idleSessions: IDLE_SESSIONS };
        reports[kind].push(await runWorker<ClientsTask, ClientsReport>(join(HERE, "mqtt", "session-clients.ts"), task, 180_000, ["--expose-gc"]));
      }
    }
  } finally {
    await broker.stop();
  }
  const figures = (list: ClientsReport[]): KindFigures => ({
    cpuMicrosPerSession: spread(list.map((r) => r.cpuMicrosPerSession), 1),
    heapBytesPerIdleSession: spread(list.map((r) => r.heapBytesPerIdleSession), 0),
    failures: list.reduce((sum, r) => sum + r.failures, 0),
  });
  return { engine: figures(reports.engine), legacy: figures(reports.legacy) };
}

const legacyModule = writeBaseline();
const codecRuns = Array.from({ length: ROUNDS }, codecRound);
const codec = {
  buildNsPerBootSet: { ours: spread(codecRuns.map((r) => r.ours.build), 0), mqttPacket: spread(codecRuns.map((r) => r.mqttPacket.build), 0) },
  readNsPerBootStream: { ours: spread(codecRuns.map((r) => r.ours.read), 0), mqttPacket: spread(codecRuns.map((r) => r.mqttPacket.read), 0) },
};
const sessions = await sessionRounds(legacyModule);
const ratio = (ours: number, theirs: number) => Math.round((ours / theirs) * 100) / 100;
console.log(JSON.stringify({
  when: new Date().toISOString(),
  loadavg: loadavg().map((value) => Math.round(value * 100) / 100),
  baseline: `hal/node/mqtt.ts at ${BASELINE_COMMIT.slice(0, 7)}`,
  rounds: ROUNDS,
  codec,
  sessions: { count: SESSIONS, concurrency: CONCURRENCY, idle: IDLE_SESSIONS, ...sessions },
  ratios: {
    codecBuild: ratio(codec.buildNsPerBootSet.ours.median, codec.buildNsPerBootSet.mqttPacket.median),
    codecRead: ratio(codec.readNsPerBootStream.ours.median, codec.readNsPerBootStream.mqttPacket.median),
    cpuPerSession: ratio(sessions.engine.cpuMicrosPerSession.median, sessions.legacy.cpuMicrosPerSession.median),
    heapPerIdleSession: ratio(sessions.engine.heapBytesPerIdleSession.median, sessions.legacy.heapBytesPerIdleSession.median),
  },
}));
