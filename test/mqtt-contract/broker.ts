/**
 * The broker side of the MQTT contract: a raw TCP server on loopback that plays one scenario's
 * broker script per connection, reading the device's bytes with mqtt-packet (the independent
 * oracle: every byte the engine writes must parse there) and writing mqtt-packet's packets or
 * raw bytes. What went wrong on its side is collected as violations, for the test to assert on.
 */
import { once } from "node:events";
import net from "node:net";
import mqttPacket from "mqtt-packet";
import type { BrokerStep, PacketName, Scenario } from "./scenarios";

/** A wait for the device that never ends is a violation, not a hang: a safety net only. */
const WAIT_LIMIT_MS = 15_000;
const SPLIT_GAP_MS = 3;

export interface BrokerReport {
  /** Packets the device sent, as mqtt-packet read them (Buffers as UTF-8 text). */
  received: Array<Record<string, unknown>>;
  violations: string[];
}

/** mqtt-packet's packet with Buffers turned into text, for matching and reports. */
function plain(packet: mqttPacket.Packet): Record<string, unknown> {
  return JSON.parse(JSON.stringify(packet, (_key, value: unknown) => {
    if (value && typeof value === "object" && (value as { type?: string }).type === "Buffer" && Array.isArray((value as { data?: unknown }).data)) {
      return Buffer.from((value as { data: number[] }).data).toString("utf8");
    }
    return value;
  })) as Record<string, unknown>;
}

/** Each field of `expected` equals the packet's (recursively for objects and arrays). */
function mismatches(expected: unknown, actual: unknown, path: string): string[] {
  if (expected !== null && typeof expected === "object") {
    if (actual === null || typeof actual !== "object") return [`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
    if (Array.isArray(expected) && (!Array.isArray(actual) || actual.length !== expected.length)) return [`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
    return Object.entries(expected).flatMap(([key, value]) => mismatches(value, (actual as Record<string, unknown>)[key], `${path}.${key}`));
  }
  return expected === actual ? [] : [`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
}

/** One connection playing one script. */
class ScriptPlayer {
  readonly report: BrokerReport = { received: [], violations: [] };
  private readonly inbox: Array<Record<string, unknown>> = [];
  private wake: (() => void) | undefined;
  private answerPings = true;
  private scriptDone = false;
  private closed = false;
  private readonly saved = new Map<string, number>();
  readonly done: Promise<void>;

  constructor(private readonly socket: net.Socket, private readonly steps: BrokerStep[]) {
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on("packet", (packet: mqttPacket.Packet) => this.onPacket(packet));
    parser.on("error", (error: Error) => this.violation(`the device sent bytes mqtt-packet cannot parse: ${error.message}`));
    socket.on("data", (chunk: Buffer) => parser.parse(chunk));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      this.closed = true;
      this.poke();
    });
    this.done = this.play();
  }

  private violation(message: string): void {
    this.report.violations.push(message);
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private onPacket(packet: mqttPacket.Packet): void {
    const seen = plain(packet);
    this.report.received.push(seen);
    if (packet.cmd === "pingreq" && this.answerPings) this.write(mqttPacket.generate({ cmd: "pingresp" }));
    if (this.scriptDone) {
      if (packet.cmd !== "pingreq" && packet.cmd !== "disconnect") this.violation(`after the script, an unexpected ${packet.cmd.toUpperCase()}: ${JSON.stringify(seen)}`);
      return;
    }
    this.inbox.push(seen);
    this.poke();
  }

  private write(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** The next packet of kind `name`, skipping PINGREQs unless they are what is expected. */
  private async next(name: PacketName): Promise<Record<string, unknown> | undefined> {
    const deadline = Date.now() + WAIT_LIMIT_MS;
    for (;;) {
      while (this.inbox.length > 0) {
        const packet = this.inbox.shift()!;
        if (packet.cmd === "pingreq" && name !== "pingreq") continue;
        return packet;
      }
      if (this.closed) {
        this.violation(`the device closed the connection while the broker expected ${name.toUpperCase()}`);
        return undefined;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        this.violation(`no ${name.toUpperCase()} from the device within ${WAIT_LIMIT_MS} ms`);
        return undefined;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  private generate(fields: Record<string, unknown>): Buffer {
    const resolved: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(fields)) {
      if (typeof value === "string" && value.startsWith("$") && this.saved.has(value.slice(1))) resolved[key] = this.saved.get(value.slice(1));
      else if (key === "payload" && typeof value === "string") resolved[key] = Buffer.from(value, "utf8");
      else resolved[key] = value;
    }
    return mqttPacket.generate(resolved as unknown as mqttPacket.Packet);
  }

  private async play(): Promise<void> {
    for (const step of this.steps) {
      if ("expect" in step) {
        const packet = await this.next(step.expect);
        if (packet === undefined) return;
        if (packet.cmd !== step.expect) {
          this.violation(`expected ${step.expect.toUpperCase()}, the device sent ${String(packet.cmd).toUpperCase()}: ${JSON.stringify(packet)}`);
          return;
        }
        if (step.match) for (const problem of mismatches(step.match, packet, step.expect)) this.violation(problem);
        if (step.save) this.saved.set(step.save, packet.messageId as number);
      } else if ("send" in step) {
        this.write(this.generate(step.send));
      } else if ("sendTogether" in step) {
        this.write(Buffer.concat(step.sendTogether.map((packet) => this.generate(packet))));
      } else if ("sendRaw" in step) {
        if (!step.split) this.write(Buffer.from(step.sendRaw));
        else {
          for (const byte of step.sendRaw) {
            this.write(Buffer.of(byte));
            await new Promise((resolve) => setTimeout(resolve, SPLIT_GAP_MS));
          }
        }
      } else if ("close" in step) {
        this.socket.destroy();
      } else if ("silent" in step) {
        this.answerPings = false;
      }
    }
    this.scriptDone = true;
    // Whatever arrived after the last expected packet is judged as it comes (see onPacket).
    for (const packet of this.inbox.splice(0)) {
      if (packet.cmd !== "pingreq" && packet.cmd !== "disconnect") this.violation(`after the script, an unexpected ${String(packet.cmd).toUpperCase()}`);
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export interface ScriptedBroker {
  /** mqtt://127.0.0.1:<port> */
  url: string;
  /** Plays `scenario` on the next connection. */
  arm(scenario: Scenario): void;
  /** Waits for the armed script to finish (bounded), ends its connection, and reports. */
  finish(): Promise<BrokerReport>;
  close(): Promise<void>;
}

export async function startScriptedBroker(): Promise<ScriptedBroker> {
  let armed: Scenario | undefined;
  let player: ScriptPlayer | undefined;
  const extra: string[] = [];
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    if (armed === undefined || player !== undefined) {
      extra.push(`an unexpected connection (${armed ? "a second one" : "no scenario armed"})`);
      socket.destroy();
      return;
    }
    player = new ScriptPlayer(socket, armed.broker);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    arm(scenario) {
      armed = scenario;
      player = undefined;
      extra.length = 0;
    },
    async finish() {
      const current = player;
      let report: BrokerReport = { received: [], violations: [] };
      if (current) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([current.done, new Promise((resolve) => (timer = setTimeout(resolve, WAIT_LIMIT_MS)))]);
        clearTimeout(timer);
        current.destroy();
        report = current.report;
      } else if (armed && armed.broker.length > 0) {
        extra.push("the device never connected");
      }
      armed = undefined;
      player = undefined;
      return { received: report.received, violations: [...report.violations, ...extra] };
    },
    async close() {
      player?.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
