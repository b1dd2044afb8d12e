/**
 * A signed `POST /device/register` request as a device sends it (docs/PROTOCOL.md §2, hmacsha256),
 * made with node:crypto alone: the benchmarks' load generators sign independently of the
 * firmware code they measure.
 */
import { createHash, createHmac } from "node:crypto";

export function signedRegisterRequest(host: string, productId: string, productSecret: string, deviceName: string): { body: string; headers: Record<string, string | number> } {
  const body = JSON.stringify({ ProductId: productId, DeviceName: deviceName });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = String(Math.floor(Math.random() * 2 ** 31));
  const stringToSign = ["POST", host, "/device/register", "", "hmacsha256", timestamp, nonce, createHash("sha256").update(body).digest("hex")].join("\n");
  const signature = createHmac("sha256", productSecret).update(stringToSign).digest("base64");
  return {
    body,
    headers: {
      "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(body),
      "X-TC-Algorithm": "hmacsha256", "X-TC-Timestamp": timestamp, "X-TC-Nonce": nonce, "X-TC-Signature": signature,
    },
  };
}
