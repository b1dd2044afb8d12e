#!/usr/bin/env node
/**
 * The in-repo ceiling for a cold device as a whole process (bench/startup.ts): a bare Node
 * program doing one registration HTTP POST and one MQTT CONNECT with MQTT.js, nothing else.
 * Signing, AES decryption and the credentials are a few lines of node:crypto, as a person
 * would write them by hand; no flash, no boot task, no report. Plain JavaScript, so nothing
 * is transpiled at start.
 *
 *   node bench/ceiling/bare-device.mjs HTTP_URL MQTT_URL PRODUCT_ID PRODUCT_SECRET DEVICE_NAME
 *
 * Exits 0 once CONNACK 0 arrived, 1 on any failure (the reason on stderr).
 */
import { createDecipheriv, createHash, createHmac, randomInt } from "node:crypto";
import { request } from "node:http";
import mqtt from "mqtt";

const [httpUrl, mqttUrl, productId, productSecret, deviceName] = process.argv.slice(2);
if (!deviceName) {
  process.stderr.write("usage: bare-device.mjs HTTP_URL MQTT_URL PRODUCT_ID PRODUCT_SECRET DEVICE_NAME\n");
  process.exit(2);
}

function register() {
  const url = new URL("/device/register", httpUrl);
  const body = JSON.stringify({ ProductId: productId, DeviceName: deviceName });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = String(randomInt(2 ** 31 - 1));
  const toSign = ["POST", url.hostname, "/device/register", "", "hmacsha256", timestamp, nonce, createHash("sha256").update(body).digest("hex")].join("\n");
  const signature = createHmac("sha256", productSecret).update(toSign).digest("base64");
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: "POST",
      headers: {
        "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(body),
        "X-TC-Algorithm": "hmacsha256", "X-TC-Timestamp": timestamp, "X-TC-Nonce": nonce, "X-TC-Signature": signature,
      },
    }, (res) => {
      const chunks = [];
      res.on("data", (chunk) => chunks.push(chunk));
      res.on("end", () => {
        try {
          const reply = JSON.parse(Buffer.concat(chunks).toString("utf8")).Response;
          const decipher = createDecipheriv("aes-128-cbc", Buffer.from(productSecret).subarray(0, 16), Buffer.from("0000000000000000"));
          decipher.setAutoPadding(false);
          const plain = Buffer.concat([decipher.update(Buffer.from(reply.Payload, "base64")), decipher.final()]).subarray(0, reply.Len);
          resolve(JSON.parse(plain.toString("utf8")).psk);
        } catch (error) {
          reject(new Error(`registration answer unusable (HTTP ${res.statusCode}): ${error.message}`));
        }
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

function connect(psk) {
  const clientId = productId + deviceName;
  const username = `${clientId};21010406;${Math.random().toString(36).slice(2, 7).padEnd(5, "0")};${Math.floor(Date.now() / 1000) + 3600}`;
  const password = createHmac("sha256", Buffer.from(psk, "base64")).update(username).digest("hex") + ";hmacsha256";
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(mqttUrl, { clientId, username, password, protocolVersion: 4, clean: true, keepalive: 60, reconnectPeriod: 0, connectTimeout: 10_000 });
    client.once("connect", () => client.end(false, {}, resolve));
    client.once("error", reject);
  });
}

try {
  await connect(await register());
} catch (error) {
  process.stderr.write(`bare device failed: ${error.message}\n`);
  process.exitCode = 1;
}
