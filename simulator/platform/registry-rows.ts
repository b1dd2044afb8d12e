/**
 * The registry's rows as both stores return them (the same column names in SQLite and PostgreSQL;
 * flags are integers 0/1 in both) and their conversion to the registry's objects.
 */
import { DEFAULT_STUDIO_FIELDS, type ActionCall, type AuthType, type ControlMessage, type Device, type Product, type StudioFields } from "./registry";

export interface ProductRow {
  product_id: string; product_secret: string; dynamic_registration: number; auto_create: number;
  auth_type: string; region: string; created_at: number;
  // Cloud API management columns (issue 15)
  product_name: string | null; studio: string | null; register_limit: number; updated_at: number | null;
}

export interface DeviceRow {
  product_id: string; device_name: string; psk: string | null; cert_pem: string | null; key_pem: string | null;
  auto_created: number; created_at: number; registered_at: number | null; activated_at: number | null;
  // Cloud API management columns (issue 15)
  enabled: number; dynreg_at: number | null;
}

export interface ControlRow {
  client_token: string; product_id: string; device_name: string; params: string; sent_at: number;
  reply_code: number | null; reply_status: string | null; replied_at: number | null;
}

export interface ActionRow {
  client_token: string; product_id: string; device_name: string; action_id: string; params: string; sent_at: number;
  reply_code: number | null; reply_status: string | null; response: string | null; replied_at: number | null;
}

export function toStudioFields(text: string | null): StudioFields {
  // Frozen: products are handed out as shallow copies of the cached one.
  if (text === null) return Object.freeze({ ...DEFAULT_STUDIO_FIELDS });
  return Object.freeze({ ...DEFAULT_STUDIO_FIELDS, ...(JSON.parse(text) as Partial<StudioFields>) });
}

export function toAction(row: ActionRow): ActionCall {
  const call: ActionCall = {
    clientToken: row.client_token, productId: row.product_id, deviceName: row.device_name, actionId: row.action_id,
    params: JSON.parse(row.params) as Record<string, unknown>, sentAt: row.sent_at,
  };
  if (row.replied_at !== null) {
    call.reply = { code: row.reply_code ?? -1, status: row.reply_status ?? "", response: JSON.parse(row.response ?? "{}") as Record<string, unknown>, at: row.replied_at };
  }
  return call;
}

export function toProduct(row: ProductRow): Product {
  return {
    productId: row.product_id,
    productSecret: row.product_secret,
    dynamicRegistration: row.dynamic_registration === 1,
    autoCreate: row.auto_create === 1,
    authType: row.auth_type as AuthType,
    region: row.region,
    createdAt: row.created_at,
    productName: row.product_name ?? row.product_id,
    studio: toStudioFields(row.studio),
    registerLimit: row.register_limit,
    updatedAt: row.updated_at ?? row.created_at,
  };
}

export function toDevice(row: DeviceRow): Device {
  const device: Device = {
    productId: row.product_id,
    deviceName: row.device_name,
    // Credentials issued by CreateDevice come before registration: "registered" needs registered_at.
    state: row.activated_at !== null ? "activated" : row.registered_at !== null ? "registered" : "created",
    autoCreated: row.auto_created === 1,
    createdAt: row.created_at,
    enabled: row.enabled !== 0,
  };
  if (row.dynreg_at !== null) device.dynamicRegisteredAt = row.dynreg_at;
  if (row.psk !== null) device.psk = row.psk;
  if (row.cert_pem !== null) device.certPem = row.cert_pem;
  if (row.key_pem !== null) device.keyPem = row.key_pem;
  if (row.registered_at !== null) device.registeredAt = row.registered_at;
  if (row.activated_at !== null) device.activatedAt = row.activated_at;
  return device;
}

export function toControl(row: ControlRow): ControlMessage {
  const message: ControlMessage = {
    clientToken: row.client_token,
    productId: row.product_id,
    deviceName: row.device_name,
    params: JSON.parse(row.params) as Record<string, unknown>,
    sentAt: row.sent_at,
  };
  if (row.replied_at !== null) message.reply = { code: row.reply_code ?? -1, status: row.reply_status ?? "", at: row.replied_at };
  return message;
}
