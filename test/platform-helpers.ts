/**
 * Client-side helpers for the mock platform's tests: a device's request signing and MQTT
 * credentials (written from docs/PROTOCOL.md here, not imported from the platform), and raw HTTP
 * requests that can set any Host header.
 */
import { createHash, createHmac, createDecipheriv } from "node:crypto";
import { request } from "node:http";
import type { IncomingHttpHeaders } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MqttClient } from "mqtt";

export const PID = "ABCDEFGHIJ";
export const SECRET = "hzvf5LF9S0isvBhDSauWMaIk";
export const CERT_PID = "CERTPROD01";
export const CERT_SECRET = "Qm9ndXNDZXJ0U2VjcmV0MDE";

export function testConfig() {
  return {
    products: [
      { productId: PID, productSecret: SECRET, dynamicRegistration: true, autoCreate: false, authType: "psk" as const, devices: ["dev001", "dev002", "dev003", "dev004", "dev005"] },
      { productId: "AUTOCREATE", productSecret: "YXV0b0NyZWF0ZVNlY3JldA", dynamicRegistration: true, autoCreate: true, authType: "psk" as const, devices: [] },
      { productId: "DISABLED01", productSecret: "ZGlzYWJsZWRTZWNyZXQwMQ", dynamicRegistration: false, autoCreate: false, authType: "psk" as const, devices: ["dev001"] },
      { productId: CERT_PID, productSecret: CERT_SECRET, dynamicRegistration: true, autoCreate: false, authType: "cert" as const, devices: ["cam001"] },
    ],
  };
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

let nonceCounter = Math.floor(Math.random() * 1e9);
export function freshNonce(): string {
  return String(++nonceCounter);
}

export interface SignInput {
  secret: string;
  host: string;
  body: string;
  algorithm?: "hmacsha256" | "hmacsha1";
  timestamp?: number;
  nonce?: string;
  path?: string;
}

export function signedHeaders(input: SignInput): Record<string, string> {
  const algorithm = input.algorithm ?? "hmacsha256";
  const hash = algorithm === "hmacsha256" ? "sha256" : "sha1";
  const timestamp = String(input.timestamp ?? nowSeconds());
  const nonce = input.nonce ?? freshNonce();
  const stringToSign = ["POST", input.host, input.path ?? "/device/register", "", algorithm, timestamp, nonce,
    createHash(hash).update(input.body, "utf8").digest("hex")].join("\n");
  return {
    "Content-Type": "application/json; charset=utf-8",
    "X-TC-Algorithm": algorithm,
    "X-TC-Timestamp": timestamp,
    "X-TC-Nonce": nonce,
    "X-TC-Signature": createHmac(hash, input.secret).update(stringToSign, "utf8").digest("base64"),
  };
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: any;
}

/** POSTs with node:http so the Host header can be anything (fetch forbids setting it). */
export function post(baseUrl: string, path: string, body: string | Buffer, headers: Record<string, string>, method = "POST"): Promise<RawResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method, headers: { ...headers, "Content-Length": String(Buffer.byteLength(body)) }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

export interface RegisterOptions extends Partial<SignInput> {
  productId?: string;
  deviceName: string;
  hostHeader?: string;
}

/** Registers through `POST /device/register` the way a device does. */
export function registerDevice(baseUrl: string, options: RegisterOptions): Promise<RawResponse> {
  const body = JSON.stringify({ ProductId: options.productId ?? PID, DeviceName: options.deviceName });
  const hostHeader = options.hostHeader ?? new URL(baseUrl).host;
  const headers = signedHeaders({ secret: options.secret ?? SECRET, host: hostHeader.replace(/:\d+$/, ""), body, ...options });
  return post(baseUrl, "/device/register", body, { ...headers, Host: hostHeader });
}

/** docs/PROTOCOL.md §3 decryption: AES-128-CBC, key = first 16 bytes of the secret, IV "0"*16. */
export function decrypt(secret: string, payload: string): any {
  const decipher = createDecipheriv("aes-128-cbc", Buffer.from(secret).subarray(0, 16), Buffer.from("0".repeat(16))).setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(Buffer.from(payload, "base64")), decipher.final()]).toString("utf8");
  return JSON.parse(plain.replace(/\0+$/, ""));
}

export async function registerPsk(baseUrl: string, deviceName: string, productId = PID, secret = SECRET): Promise<string> {
  const answer = await registerDevice(baseUrl, { deviceName, productId, secret });
  if (!answer.json?.Response?.Payload) throw new Error(`registration failed: ${answer.text}`);
  return decrypt(secret, answer.json.Response.Payload).psk;
}

export function mqttCredentials(productId: string, deviceName: string, psk: string, options: { expiry?: number; algorithm?: "hmacsha256" | "hmacsha1"; connId?: string } = {}) {
  const clientId = productId + deviceName;
  const username = `${clientId};21010406;${options.connId ?? "a1B2c"};${options.expiry ?? nowSeconds() + 3600}`;
  const algorithm = options.algorithm ?? "hmacsha256";
  const password = createHmac(algorithm === "hmacsha256" ? "sha256" : "sha1", Buffer.from(psk, "base64")).update(username).digest("hex") + ";" + algorithm;
  return { clientId, username, password };
}

export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The next message `client` receives on `topic`. */
export function nextMessage(client: MqttClient, topic: string): Promise<Buffer> {
  return new Promise((resolve) => {
    const onMessage = (received: string, payload: Buffer) => {
      if (received !== topic) return;
      client.off("message", onMessage);
      resolve(payload);
    };
    client.on("message", onMessage);
  });
}
