/**
 * Tencent's de facto device_info.json (docs/PROTOCOL.md §11), as read by its C and Python SDKs,
 * converted to and from the core's DeviceInfo.
 */
import { readFileSync } from "node:fs";
import { fileProblem } from "./cli-errors";
import { validateDeviceInfo, PSK_PLACEHOLDER, CERT_PLACEHOLDER, KEY_PLACEHOLDER, type DeviceInfo } from "../firmware/device-info";
import { DeviceInfoError } from "../firmware/errors";

export interface TencentDeviceInfoFile {
  auth_mode: "KEY" | "CERT";
  productId: string;
  productSecret?: string;
  deviceName: string;
  region?: string;
  key_deviceinfo?: { deviceSecret?: string };
  cert_deviceinfo?: { devCertFile?: string; devPrivateKeyFile?: string };
}

function field(record: Record<string, unknown>, name: string): string | undefined {
  const value = record[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new DeviceInfoError(name, `${name} must be a string in device_info.json`);
  return value;
}

/** Reads a certificate or key file the device_info.json names; one that cannot be read is a DeviceInfoError naming the field. */
function readNamedFile(fieldName: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new DeviceInfoError(fieldName, `cert_deviceinfo.${fieldName} names ${path}, which cannot be read (${fileProblem(error)})`);
  }
}

/** Parses the file's JSON text (`source`: the file's name, for messages); errors name the field at fault. */
export function parseTencentDeviceInfo(text: string, source = "device_info.json"): DeviceInfo {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DeviceInfoError("device_info.json", `${source} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new DeviceInfoError("device_info.json", `${source} must hold a JSON object`);
  }
  const record = parsed as Record<string, unknown>;
  const authMode = field(record, "auth_mode") ?? "KEY";
  if (authMode !== "KEY" && authMode !== "CERT") throw new DeviceInfoError("auth_mode", `auth_mode must be "KEY" or "CERT", not ${JSON.stringify(authMode)}`);
  const keyInfo = (record.key_deviceinfo ?? {}) as Record<string, unknown>;
  const certInfo = (record.cert_deviceinfo ?? {}) as Record<string, unknown>;
  const info: DeviceInfo = {
    productId: field(record, "productId") ?? "",
    deviceName: field(record, "deviceName") ?? "",
    productSecret: field(record, "productSecret") || undefined,
    authMode: authMode === "CERT" ? "cert" : "psk",
    region: field(record, "region") || undefined,
  };
  if (info.authMode === "psk") {
    const secret = field(keyInfo, "deviceSecret");
    if (secret && secret !== PSK_PLACEHOLDER) info.deviceSecret = secret;
  } else {
    // The SDKs name certificate files here; this project keeps PEM text, so a file name is read.
    const cert = field(certInfo, "devCertFile");
    const key = field(certInfo, "devPrivateKeyFile");
    if (cert && cert !== CERT_PLACEHOLDER) info.clientCert = readNamedFile("devCertFile", cert);
    if (key && key !== KEY_PLACEHOLDER) info.clientKey = readNamedFile("devPrivateKeyFile", key);
  }
  return validateDeviceInfo(info);
}

/** The file a device's flash would export: secrets in clear, since that is the file's purpose. */
export function toTencentDeviceInfo(info: DeviceInfo): TencentDeviceInfoFile & Record<string, unknown> {
  const file: TencentDeviceInfoFile & Record<string, unknown> = {
    auth_mode: info.authMode === "cert" ? "CERT" : "KEY",
    productId: info.productId,
    productSecret: info.productSecret ?? "YOUR_PRODUCT_SECRET",
    deviceName: info.deviceName,
    region: info.region ?? "china",
  };
  if (info.authMode === "psk") file.key_deviceinfo = { deviceSecret: info.deviceSecret ?? PSK_PLACEHOLDER };
  else {
    // PEM text cannot live in the SDKs' file-name fields: keep it beside them, in this project's own keys.
    file.cert_deviceinfo = { devCertFile: CERT_PLACEHOLDER, devPrivateKeyFile: KEY_PLACEHOLDER };
    file.explorer_xs_cert = { clientCert: info.clientCert ?? "", clientKey: info.clientKey ?? "" };
  }
  return file;
}
