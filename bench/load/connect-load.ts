/**
 * Load process for the platform benchmark: authenticated MQTT connects. Each of `concurrency`
 * slots owns its own devices (so no two live connections share a client id), and loops: open
 * TCP, send CONNECT with docs/PROTOCOL.md §5 credentials, wait for CONNACK 0, DISCONNECT, close.
 * MQTT packets are made and read with mqtt-packet. Started by bench/platform.ts with fork.
 */
import { createHmac } from "node:crypto";
import { connect } from "node:net";
import mqttPacket from "mqtt-packet";
import type { LoadReport } from "./register-load";

export interface ConnectLoadTask {
  mqttUrl: string;
  productId: string;
  devices: Array<{ deviceName: string; psk: string }>;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
}

function connectPacket(productId: string, deviceName: string, psk: string): Buffer {
  const clientId = productId + deviceName;
  const username = `${clientId};21010406;${Math.random().toString(36).slice(2, 7).padEnd(5, "0")};${Math.floor(Date.now() / 1000) + 3600}`;
  const password = createHmac("sha256", Buffer.from(psk, "base64")).update(username).digest("hex") + ";hmacsha256";
  return mqttPacket.generate({ cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clean: true, keepalive: 60, clientId, username, password: Buffer.from(password) });
}

const DISCONNECT = mqttPacket.generate({ cmd: "disconnect" });

export async function runConnectLoad(task: ConnectLoadTask): Promise<LoadReport> {
  const url = new URL(task.mqttUrl);
  let measuring = false;
  let ok = 0;
  let failed = 0;
  let firstFailure: string | undefined;

  function once(device: { deviceName: string; psk: string }): Promise<void> {
    return new Promise((resolve) => {
      const parser = mqttPacket.parser();
      const socket = connect(Number(url.port), url.hostname);
      socket.setNoDelay(true);
      let settled = false;
      const finish = (success: boolean, reason?: string) => {
        if (settled) return;
        settled = true;
        if (measuring) {
          if (success) ok++;
          else { failed++; firstFailure ??= reason; }
        }
        if (success) socket.end(DISCONNECT);
        else socket.destroy();
      };
      // The next CONNECT with this client id waits for this socket's close, so they never overlap.
      socket.once("close", () => resolve());
      parser.on("packet", (packet) => {
        if (packet.cmd === "connack") finish(packet.returnCode === 0, `CONNACK ${packet.returnCode}`);
      });
      socket.on("data", (chunk) => parser.parse(chunk));
      socket.on("error", (error) => finish(false, error.message));
      socket.on("close", () => finish(false, "closed before CONNACK"));
      socket.once("connect", () => socket.write(connectPacket(task.productId, device.deviceName, device.psk)));
    });
  }

  let stopAt = Date.now() + task.warmupMs + task.durationMs;
  const perSlot = Math.floor(task.devices.length / task.concurrency);
  const workers = Array.from({ length: task.concurrency }, async (_, slot) => {
    const own = task.devices.slice(slot * perSlot, (slot + 1) * perSlot);
    for (let i = 0; Date.now() < stopAt; i++) await once(own[i % own.length]);
  });
  await new Promise((resolve) => setTimeout(resolve, task.warmupMs));
  measuring = true;
  const start = performance.now();
  stopAt = Date.now() + task.durationMs;
  await new Promise((resolve) => setTimeout(resolve, task.durationMs));
  measuring = false;
  const elapsedMs = performance.now() - start;
  await Promise.all(workers);
  return { ok, failed, firstFailure, elapsedMs };
}

if (process.send) {
  process.once("message", (task: ConnectLoadTask) => {
    runConnectLoad(task).then((report) => process.send!(report, () => process.exit(0)), (error) => {
      process.send!({ ok: 0, failed: 1, firstFailure: String(error), elapsedMs: 0 }, () => process.exit(1));
    });
  });
}
