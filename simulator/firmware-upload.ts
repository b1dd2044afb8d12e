/**
 * A firmware upload as a backend does it through the Cloud API (docs/PROTOCOL.md §14): GetCOSURL
 * for a signed upload URL, a PUT of the bytes to it, then UploadFirmware with their MD5 and size.
 * `explorer-xs ota upload` and `fleet --ota` both go through here.
 */
import { createHash } from "node:crypto";

/** One Cloud API action: its Response fields, or a thrown error naming Tencent's code. */
export type CloudApiCall = (action: string, params: Record<string, unknown>) => Promise<Record<string, unknown>>;

/** How long the PUT of an image may take. */
const PUT_TIMEOUT_MS = 120_000;

/** The object store did not take the bytes (the URL answered other than 200). */
export class UploadRefusedError extends Error {
  constructor(readonly status: number) {
    super(`the upload URL answered HTTP ${status}`);
    this.name = "UploadRefusedError";
  }
}

/** Uploads `image` as `version` and returns its MD5 (hex); `extra` adds UploadFirmware fields (FirmwareName, FirmwareDescription). */
export async function uploadFirmware(call: CloudApiCall, productId: string, version: string, image: Uint8Array, extra: Record<string, string> = {}): Promise<string> {
  const md5 = createHash("md5").update(image).digest("hex");
  const { Url } = await call("GetCOSURL", { ProductID: productId, FirmwareVersion: version, FileSize: image.length });
  const put = await fetch(String(Url), { method: "PUT", body: image, signal: AbortSignal.timeout(PUT_TIMEOUT_MS) });
  if (put.status !== 200) throw new UploadRefusedError(put.status);
  await call("UploadFirmware", { ProductID: productId, FirmwareVersion: version, Md5sum: md5, FileSize: image.length, ...extra });
  return md5;
}
