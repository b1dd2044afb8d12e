/**
 * The device-info record: what the factory burns in and what dynamic registration completes.
 * Limits and the "empty secret" rule follow Tencent's C SDK (docs/PROTOCOL.md §1).
 */
import { DeviceInfoError } from "./errors";

export type AuthMode = "psk" | "cert";

export interface DeviceInfo {
  productId: string;
  deviceName: string;
  /** Present on one-type-one-secret devices; the first 16 bytes are the AES key. */
  productSecret?: string;
  authMode: AuthMode;
  /** Base64 PSK (psk mode). */
  deviceSecret?: string;
  /** PEM certificate and private key (cert mode). */
  clientCert?: string;
  clientKey?: string;
  region?: string;
}

export const LIMITS = {
  productId: 10,
  deviceName: 48,
  productSecret: 32,
  productSecretMin: 16,
  deviceSecret: 64,
  region: 64,
} as const;

/** The C SDK's placeholders: a secret equal to one of these has not been provisioned. */
export const PSK_PLACEHOLDER = "YOUR_IOT_PSK";
export const CERT_PLACEHOLDER = "YOUR_DEVICE_CERT_FILE_NAME";
export const KEY_PLACEHOLDER = "YOUR_DEVICE_PRIVATE_KEY_FILE_NAME";

function isEmptyValue(value: string | undefined, placeholder: string): boolean {
  return value === undefined || value === "" || value === placeholder;
}

/** True when the device has no secret of its own yet, so it must register dynamically. */
export function needsRegistration(info: DeviceInfo): boolean {
  if (info.authMode === "cert") {
    return isEmptyValue(info.clientCert, CERT_PLACEHOLDER) || isEmptyValue(info.clientKey, KEY_PLACEHOLDER);
  }
  return isEmptyValue(info.deviceSecret, PSK_PLACEHOLDER);
}

function checkText(field: string, value: unknown, max: number, required: boolean): void {
  if (value === undefined || value === "") {
    if (required) throw new DeviceInfoError(field, `${field} is required`);
    return;
  }
  if (typeof value !== "string") throw new DeviceInfoError(field, `${field} must be a string`);
  if (value.length > max) throw new DeviceInfoError(field, `${field} is ${value.length} characters; the limit is ${max}`);
}

/** Checks every field against its limit; the error names the field and the limit. */
export function validateDeviceInfo(info: DeviceInfo): DeviceInfo {
  if (info === null || typeof info !== "object") throw new DeviceInfoError("deviceInfo", "device info must be an object");
  checkText("productId", info.productId, LIMITS.productId, true);
  checkText("deviceName", info.deviceName, LIMITS.deviceName, true);
  if (!/^[A-Za-z0-9]+$/.test(info.productId)) {
    throw new DeviceInfoError("productId", "productId may hold only letters and digits");
  }
  if (!/^[A-Za-z0-9_\-.:@]+$/.test(info.deviceName)) {
    throw new DeviceInfoError("deviceName", "deviceName may hold only letters, digits and _-.:@");
  }
  if (info.authMode !== "psk" && info.authMode !== "cert") {
    throw new DeviceInfoError("authMode", `authMode must be "psk" or "cert", not ${JSON.stringify(info.authMode)}`);
  }
  checkText("productSecret", info.productSecret, LIMITS.productSecret, false);
  if (info.productSecret && info.productSecret.length < LIMITS.productSecretMin) {
    throw new DeviceInfoError(
      "productSecret",
      `productSecret is ${info.productSecret.length} characters; at least ${LIMITS.productSecretMin} are needed (the first 16 are the AES key)`,
    );
  }
  checkText("deviceSecret", info.deviceSecret, LIMITS.deviceSecret, false);
  checkText("region", info.region, LIMITS.region, false);
  if (info.clientCert !== undefined && typeof info.clientCert !== "string") throw new DeviceInfoError("clientCert", "clientCert must be a string");
  if (info.clientKey !== undefined && typeof info.clientKey !== "string") throw new DeviceInfoError("clientKey", "clientKey must be a string");
  if (needsRegistration(info) && !info.productSecret) {
    throw new DeviceInfoError(
      "productSecret",
      "the device has no secret and no productSecret: it can neither connect nor register dynamically",
    );
  }
  return info;
}
