/**
 * Hostile network fronts for the fault matrix, on loopback:
 * - an HTTP front before the registration API that answers the next requests with a scripted
 *   fault (reset mid-response, stall, 5xx, 429, truncated/oversized/non-JSON bodies, payloads
 *   under the wrong key, a wrong encryptionType, no psk) and forwards the rest;
 * - a TCP front before the MQTT broker that refuses, resets, stalls, answers CONNACK itself, or
 *   drops the link after the broker's k-th packet, and forwards the rest.
 */
import { createCipheriv, randomUUID } from "node:crypto";
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import { createServer as createNetServer, connect, type Server as NetServer, type Socket, type AddressInfo } from "node:net";
import * as mqttPacket from "mqtt-packet";

export type HttpFault =
  | "reset-before-answer" | "reset-mid-response" | "stall" | "503" | "500" | "429"
  | "truncated-body" | "oversized-body" | "non-json" | "html-portal" | "empty-body"
  | "wrong-key-payload" | "wrong-encryption-type" | "missing-psk" | "internal-error-code" | "legacy-error-shape"
  | "rate-limit-code" | "not-base64-payload" | "garbage-credentials";

export const HTTP_FAULTS: HttpFault[] = [
  "reset-before-answer", "reset-mid-response", "stall", "503", "500", "429", "truncated-body", "oversized-body",
  "non-json", "html-portal", "empty-body", "wrong-key-payload", "wrong-encryption-type", "missing-psk",
  "internal-error-code", "legacy-error-shape", "rate-limit-code", "not-base64-payload", "garbage-credentials",
];

export interface HttpFront {
  url: string;
  /** Faults for the next requests, in order; an empty queue forwards. */
  queue: HttpFault[];
  /** Requests seen, forwarded or not. */
  seen: number;
  close(): Promise<void>;
}

function aesPayload(keyText: string, plain: string): string {
  const key = Buffer.from(keyText, "utf8").subarray(0, 16);
  const data = Buffer.from(plain, "utf8");
  const padded = Buffer.alloc(Math.ceil((data.length + 1) / 16) * 16);
  data.copy(padded);
  const cipher = createCipheriv("aes-128-cbc", key, Buffer.from("0000000000000000"));
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(padded), cipher.final()]).toString("base64");
}

function replyJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), date: new Date().toUTCString() });
  res.end(text);
}

function success(payload: string, len: number): unknown {
  return { Response: { Len: len, Payload: payload, RequestId: randomUUID(), State: 0 } };
}

/** `productSecret` is the one the device holds, so payload faults decrypt under it (or under another key on purpose). */
export async function startHttpFront(targetHttpUrl: string, productSecret: string, authMode: "psk" | "cert"): Promise<HttpFront> {
  const PSK_PLAIN = '{"encryptionType":2,"psk":"lDZ6Uqt+I9E0wW7rvDUs7Q=="}';
  // Well-formed PEM armour around bytes that are no certificate and no key.
  const CERT_PLAIN = '{"encryptionType":1,"clientCert":"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----","clientKey":"-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----"}';
  const target = new URL(targetHttpUrl);
  const sockets = new Set<Socket>();
  const front: HttpFront = { url: "", queue: [], seen: 0, close: async () => undefined };
  const server: HttpServer = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    front.seen++;
    const fault = front.queue.shift();
    req.resume();
    if (!fault) return forward(req, res);
    const plain = (text: string) => ({ text, len: Buffer.byteLength(text) });
    switch (fault) {
      case "reset-before-answer": return void req.socket.destroy();
      case "reset-mid-response":
        res.writeHead(200, { "content-type": "application/json", "content-length": "400" });
        res.write('{"Response":{"Len":');
        return void setTimeout(() => req.socket.destroy(), 5);
      case "stall": return; // never answers; the socket is destroyed at close()
      case "503": case "500": return replyJson(res, Number(fault), { error: "unavailable" });
      case "429": return replyJson(res, 429, { error: "slow down" });
      case "truncated-body": {
        const text = JSON.stringify(success(aesPayload(productSecret, '{"encryptionType":2,"psk":"AAAAAAAAAAAAAAAAAAAAAA=="}'), 50));
        res.writeHead(200, { "content-type": "application/json" });
        return void res.end(text.slice(0, text.length / 2));
      }
      case "oversized-body": {
        res.writeHead(200, { "content-type": "application/json" });
        return void res.end(`{"Response":{"Pad":"${"x".repeat(256 * 1024)}"}}`);
      }
      case "non-json": res.writeHead(200, { "content-type": "application/json" }); return void res.end("\u0000\u00ff not json {{{");
      case "html-portal": res.writeHead(200, { "content-type": "text/html" }); return void res.end("<html><body>Please log in to the Wi-Fi</body></html>");
      case "empty-body": res.writeHead(200, { "content-type": "application/json", "content-length": "0" }); return void res.end();
      case "wrong-key-payload": {
        const p = plain('{"encryptionType":2,"psk":"lDZ6Uqt+I9E0wW7rvDUs7Q=="}');
        return replyJson(res, 200, success(aesPayload("ThisIsNotTheProductSecret", p.text), p.len));
      }
      case "wrong-encryption-type": {
        const p = plain(authMode === "psk" ? CERT_PLAIN : PSK_PLAIN);
        return replyJson(res, 200, success(aesPayload(productSecret, p.text), p.len));
      }
      case "garbage-credentials": {
        const p = plain(authMode === "psk" ? '{"encryptionType":2,"psk":"%%%not base64%%%"}' : CERT_PLAIN);
        return replyJson(res, 200, success(aesPayload(productSecret, p.text), p.len));
      }
      case "missing-psk": {
        const p = plain('{"encryptionType":2}');
        return replyJson(res, 200, success(aesPayload(productSecret, p.text), p.len));
      }
      case "internal-error-code": return replyJson(res, 200, { Response: { Error: { Code: "InternalError", Message: "try later" }, RequestId: randomUUID() } });
      case "rate-limit-code": return replyJson(res, 200, { Response: { Error: { Code: "RequestLimitExceeded", Message: "slow" }, RequestId: randomUUID() } });
      case "legacy-error-shape": return replyJson(res, 200, { code: 1010, message: "Check signature failed", requestId: randomUUID() });
      case "not-base64-payload": return replyJson(res, 200, success("***not base64***", 10));
    }
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  function forward(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on("error", () => req.socket.destroy());
      upstream.end(Buffer.concat(chunks));
    });
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  front.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  front.close = () => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy();
    server.close(() => resolve());
  });
  return front;
}

export type MqttFault =
  | "refuse" | "reset-after-connect-bytes" | "stall" | "connack-3" | "connack-5" | "connack-garbage"
  | "drop-after-connack" | "drop-after-suback" | "drop-after-reply"
  | "cut-after-server-chunk-1" | "cut-after-server-chunk-2" | "cut-after-server-chunk-3" | "cut-after-server-chunk-4";

/** Faults that never look inside the stream, so they work through TLS too (cert products). */
export const STREAM_FAULTS: MqttFault[] = [
  "refuse", "reset-after-connect-bytes", "stall",
  "cut-after-server-chunk-1", "cut-after-server-chunk-2", "cut-after-server-chunk-3", "cut-after-server-chunk-4",
];

export const MQTT_FAULTS: MqttFault[] = [
  "refuse", "reset-after-connect-bytes", "stall", "connack-3", "connack-5", "connack-garbage",
  "drop-after-connack", "drop-after-suback", "drop-after-reply",
  "cut-after-server-chunk-1", "cut-after-server-chunk-2", "cut-after-server-chunk-3", "cut-after-server-chunk-4",
];

export interface MqttFront {
  url: string;
  queue: MqttFault[];
  connections: number;
  close(): Promise<void>;
}

/** A TCP front before the broker (plain TCP or TLS alike: it never looks inside a TLS stream, except to count for drops on plain TCP). */
export async function startMqttFront(targetMqttUrl: string): Promise<MqttFront> {
  const target = new URL(targetMqttUrl);
  const sockets = new Set<Socket>();
  const front: MqttFront = { url: "", queue: [], connections: 0, close: async () => undefined };
  const server: NetServer = createNetServer((client) => {
    front.connections++;
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => undefined);
    const fault = front.queue.shift();
    if (fault === "refuse") return void client.destroy();
    if (fault === "stall") return;
    if (fault === "reset-after-connect-bytes") return void client.once("data", () => client.resetAndDestroy());
    if (fault === "connack-3" || fault === "connack-5") {
      return void client.once("data", () => {
        client.end(mqttPacket.generate({ cmd: "connack", returnCode: fault === "connack-3" ? 3 : 5, sessionPresent: false } as mqttPacket.IConnackPacket));
      });
    }
    if (fault === "connack-garbage") return void client.once("data", () => client.end(Buffer.from([0x20, 0x7f, 0xff, 0xff, 0x01, 0x02])));
    const upstream = connect({ host: target.hostname, port: Number(target.port) });
    sockets.add(upstream);
    upstream.on("close", () => { sockets.delete(upstream); client.destroy(); });
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    client.pipe(upstream);
    const chunkCut = fault?.startsWith("cut-after-server-chunk-") ? Number(fault.slice(-1)) : 0;
    if (chunkCut > 0) {
      // Cut after the broker's k-th chunk reached the device: inside a TLS handshake or later.
      let chunks = 0;
      upstream.on("data", (chunk: Buffer) => {
        if (chunks >= chunkCut) return;
        client.write(chunk);
        if (++chunks === chunkCut) setTimeout(() => { client.destroy(); upstream.destroy(); }, 5);
      });
      return;
    }
    const dropAfter = fault === "drop-after-connack" ? 1 : fault === "drop-after-suback" ? 2 : fault === "drop-after-reply" ? 3 : 0;
    if (dropAfter === 0) return void upstream.pipe(client);
    // Count the broker's packets; after the k-th is delivered, cut both sides.
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    let packets = 0;
    upstream.on("data", (chunk: Buffer) => {
      if (packets >= dropAfter) return;
      client.write(chunk);
      parser.parse(chunk);
    });
    parser.on("packet", () => {
      if (++packets === dropAfter) setTimeout(() => { client.destroy(); upstream.destroy(); }, 5);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  front.url = `${target.protocol}//127.0.0.1:${(server.address() as AddressInfo).port}`;
  front.close = () => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy();
    server.close(() => resolve());
  });
  return front;
}

/** A loopback port with nothing listening (connections are refused). */
export async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
