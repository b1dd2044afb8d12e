/**
 * `explorer-xs ota upload|update`: firmware update as a backend drives it, through the Cloud API
 * only (docs/PROTOCOL.md §14): upload is GetCOSURL, a PUT of the file, UploadFirmware; update is
 * UpdateFirmware for one device (its reported version as the original) or BatchUpdateFirmware
 * for a product. Works against the mock or anything that speaks iotexplorer 2019-04-23.
 */
import type { Command } from "commander";
import { readFileSync, statSync } from "node:fs";
import { fileProblem, UsageError } from "../cli-errors";
import { uploadFirmware, UploadRefusedError } from "../firmware-upload";
import { MAX_FIRMWARE_BYTES } from "../platform/ota/object-store";
import { positiveInteger } from "./device";

const WAIT_POLL_MS = 500;

interface ApiFlags {
  platform: string;
  productId: string;
  secretId?: string;
  secretKey?: string;
  data?: string;
}

function apiOptions(command: Command): Command {
  return command
    .requiredOption("--product-id <id>", "the product")
    .option("--platform <url>", "the platform's Cloud API base URL", "http://127.0.0.1:8080")
    .option("--secret-id <id>", "Cloud API SecretId (or TENCENTCLOUD_SECRET_ID)")
    .option("--secret-key <key>", "Cloud API SecretKey (or TENCENTCLOUD_SECRET_KEY)")
    .option("--data <dir>", "read the key pair from a platform's data folder (cloud-api-credentials.json)");
}

async function target(flags: ApiFlags) {
  const { resolveKeyPair, callCloudApi, CloudApiCallError } = await import("../cloud-api-client");
  let url: URL;
  try {
    url = new URL(flags.platform);
  } catch {
    throw new UsageError(`--platform ${flags.platform.slice(0, 100)} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new UsageError("--platform must be an http:// or https:// URL");
  const pair = resolveKeyPair(flags);
  const call = async (action: string, params: Record<string, unknown>) => {
    try {
      return await callCloudApi({ url: url.href, ...pair }, action, params);
    } catch (error) {
      // Tencent's refusals are the user's input problem; say which action refused and why.
      if (error instanceof CloudApiCallError) throw new UsageError(`${action} refused: ${error.message}`);
      throw error;
    }
  };
  return call;
}

export function register(program: Command): void {
  const ota = program.command("ota").description("firmware update through the Cloud API: upload a version, update a device or a product");

  apiOptions(ota.command("upload"))
    .description("upload a firmware version: GetCOSURL, PUT the file, UploadFirmware")
    .requiredOption("--version <v>", "the firmware version (1-32 of A-Z a-z 0-9 . _ -)")
    .requiredOption("--file <path>", "the image")
    .option("--name <name>", "FirmwareName")
    .option("--description <text>", "FirmwareDescription")
    .action(async (options: ApiFlags & { version: string; file: string; name?: string; description?: string }) => {
      let bytes: Buffer;
      try {
        const size = statSync(options.file).size;
        if (size > MAX_FIRMWARE_BYTES) throw new UsageError(`--file ${options.file} has ${size} bytes; at most ${MAX_FIRMWARE_BYTES} are taken`);
        bytes = readFileSync(options.file);
      } catch (error) {
        if (error instanceof UsageError) throw error;
        throw new UsageError(`--file ${options.file}: ${fileProblem(error)}`);
      }
      if (bytes.length === 0) throw new UsageError(`--file ${options.file} is empty`);
      const call = await target(options);
      const extra = { ...(options.name ? { FirmwareName: options.name } : {}), ...(options.description ? { FirmwareDescription: options.description } : {}) };
      let md5: string;
      try {
        md5 = await uploadFirmware(call, options.productId, options.version, bytes, extra);
      } catch (error) {
        if (error instanceof UploadRefusedError) throw new UsageError(error.message);
        throw error;
      }
      process.stdout.write(`uploaded ${options.productId} ${options.version}: ${bytes.length} bytes, md5 ${md5}\n`);
    });

  apiOptions(ota.command("update"))
    .description("update one device (--device) or a product's devices (--devices, or all on --from)")
    .requiredOption("--version <v>", "the target version (uploaded before)")
    .option("--device <name>", "one device: UpdateFirmware, from the version it reported")
    .option("--devices <names>", "comma-separated devices: BatchUpdateFirmware")
    .option("--from <v>", "original version: with --device it must match; alone, every device on it")
    .option("--rate-limit <n>", "devices sent the update per minute (batch)", positiveInteger)
    .option("--timeout <seconds>", "the task's timeout, 120-900 (batch)", positiveInteger)
    .option("--wait", "with --device: wait until the update is done, failed or timed out (exit 3 unless done)")
    .action(async (options: ApiFlags & { version: string; device?: string; devices?: string; from?: string; rateLimit?: number; timeout?: number; wait?: boolean }) => {
      if (options.device !== undefined && options.devices !== undefined) throw new UsageError("give --device or --devices, not both");
      if (options.device === undefined && options.devices === undefined && options.from === undefined) {
        throw new UsageError("say which devices: --device NAME, --devices A,B or --from VERSION");
      }
      if (options.wait && options.device === undefined) throw new UsageError("--wait follows one --device");
      const call = await target(options);
      if (options.device !== undefined) {
        const described = await call("DescribeDevice", { ProductId: options.productId, DeviceName: options.device });
        const reported = String((described.Device as { Version?: string } | undefined)?.Version ?? "");
        await call("UpdateFirmware", {
          ProductID: options.productId, DeviceName: options.device, FirmwareVersion: options.version, FirmwareOriVersion: options.from ?? reported,
        });
        process.stdout.write(`update of ${options.productId}/${options.device} from ${options.from ?? reported} to ${options.version} started\n`);
        if (!options.wait) return;
        for (;;) {
          const status = await call("DescribeFirmwareUpdateStatus", { ProductId: options.productId, DeviceName: options.device });
          const code = Number(status.Status);
          if (code === 6 || code === 5 || code === 10) {
            const outcome = code === 6 ? "done" : code === 5 ? "failed" : "timed out";
            process.stdout.write(`${options.productId}/${options.device}: ${outcome} (status ${code}, ${String(status.Percent)} %)\n`);
            process.exitCode = code === 6 ? 0 : 3;
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
        }
      }
      const names = options.devices?.split(",").map((name) => name.trim()).filter((name) => name !== "");
      const answer = await call("BatchUpdateFirmware", {
        ProductID: options.productId, FirmwareVersion: options.version,
        ...(names ? { DeviceNames: names } : {}), ...(options.from ? { FirmwareOriVersion: options.from } : {}),
        ...(options.rateLimit ? { RateLimit: options.rateLimit } : {}), ...(options.timeout ? { TimeoutInterval: options.timeout } : {}),
      });
      process.stdout.write(`task ${String(answer.TaskId)} started: ${options.productId} to ${options.version}\n`);
    });
}
