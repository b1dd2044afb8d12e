/**
 * The platform's persistent state as one interface, `Registry`, with two stores: SQLite (the
 * embedded default, sqlite-registry.ts) and PostgreSQL (a registry shared by platform nodes,
 * postgres-registry.ts). Products, devices, registration nonces, control messages, the data plane
 * (reported properties, pending control, report_info, action calls), data templates and OTA.
 * Every method returns a promise; each one is atomic on its own (one transaction), so callers
 * never hold a transaction across an await.
 */
import type { ReportedEntries } from "./data-bounds";
import type { FirmwareStore } from "./ota/firmware-registry";
import type { DeviceKeys } from "./device-keys";

export type AuthType = "psk" | "cert";
export type DeviceState = "created" | "registered" | "activated";

/** Field limits of Tencent's C SDK (docs/PROTOCOL.md §1). */
export const PLATFORM_LIMITS = {
  productId: 10,
  deviceName: 48,
  productSecretMin: 16,
  productSecretMax: 32,
  region: 64,
} as const;

export const PRODUCT_ID_PATTERN = /^[A-Za-z0-9]{1,10}$/;
export const DEVICE_NAME_PATTERN = /^[A-Za-z0-9_\-.:@]{1,48}$/;
export const PRODUCT_SECRET_PATTERN = /^[\x21-\x7e]{16,32}$/;

export interface Product extends ProductManagementFields {
  productId: string;
  productSecret: string;
  dynamicRegistration: boolean;
  autoCreate: boolean;
  authType: AuthType;
  region: string;
  createdAt: number;
}

// ---- Cloud API management fields (issue 15): what CreateStudioProduct records ----

/** A product's description for Tencent's Cloud API (ProductEntry); seeded products get defaults. */
export interface StudioFields {
  productDesc: string;
  categoryId: number;
  productType: number;     // 0 ordinary, 5 gateway
  netType: string;         // wifi, cellular, ...
  dataProtocol: number;    // 1 data template, 2 custom
  projectId: string;
  rate?: string;
  period?: string;
}

export interface ProductManagementFields {
  /** Unique among products; a seeded product's name is its ProductId. */
  productName: string;
  studio: StudioFields;
  /** Most devices dynamic registration may register; 0: no limit (the mock's convention). */
  registerLimit: number;
  updatedAt: number;
}

export const DEFAULT_STUDIO_FIELDS: Readonly<StudioFields> = {
  productDesc: "", categoryId: 1, productType: 0, netType: "wifi", dataProtocol: 1, projectId: "default",
};

export interface DeviceCredentials {
  psk?: string;          // Base64 PSK, psk products
  certPem?: string;      // PEM certificate, cert products
  keyPem?: string;       // PEM private key, cert products
}

export interface Device extends DeviceCredentials {
  productId: string;
  deviceName: string;
  state: DeviceState;
  autoCreated: boolean;
  createdAt: number;
  registeredAt?: number;
  activatedAt?: number;
  // ---- Cloud API management fields (issue 15) ----
  /** A disabled device is refused at registration and at CONNECT (UpdateDevicesEnableState). */
  enabled: boolean;
  /** Since when this device counts against its product's RegisterLimit (set only while a limit applies). */
  dynamicRegisteredAt?: number;
}

export interface ControlMessage {
  clientToken: string;
  productId: string;
  deviceName: string;
  params: Record<string, unknown>;
  sentAt: number;
  reply?: { code: number; status: string; at: number };
}

// ---- data plane types (issue 14: data template, docs/PROTOCOL.md §8) ----

/** A property's latest reported value, with when the platform received it (ms) and the device's own timestamp when it sent one. */
export interface ReportedProperty {
  value: unknown;
  updatedAt: number;
  deviceTimestamp?: number;
}

/** What the device said about itself in report_info (module, firmware, ...), as sent. */
export interface DeviceInfoReport {
  info: Record<string, unknown>;
  reportedAt: number;
}

export interface ActionCall {
  clientToken: string;
  productId: string;
  deviceName: string;
  actionId: string;
  params: Record<string, unknown>;
  sentAt: number;
  reply?: { code: number; status: string; response: Record<string, unknown>; at: number };
}

export class RegistryError extends Error {
  readonly code: "invalid" | "exists" | "not-found";
  constructor(code: "invalid" | "exists" | "not-found", message: string) {
    super(message);
    this.name = "RegistryError";
    this.code = code;
  }
}

export function validateProductId(productId: unknown): string {
  if (typeof productId !== "string" || !PRODUCT_ID_PATTERN.test(productId)) {
    throw new RegistryError("invalid", `productId must be 1-${PLATFORM_LIMITS.productId} letters or digits`);
  }
  return productId;
}

export function validateDeviceName(deviceName: unknown): string {
  if (typeof deviceName !== "string" || !DEVICE_NAME_PATTERN.test(deviceName)) {
    throw new RegistryError("invalid", `deviceName must be 1-${PLATFORM_LIMITS.deviceName} characters of [A-Za-z0-9_-.:@]`);
  }
  return deviceName;
}

export interface NewProduct {
  productId: string;
  productSecret: string;
  dynamicRegistration?: boolean;
  autoCreate?: boolean;
  authType?: AuthType;
  region?: string;
  // Cloud API management fields (issue 15)
  productName?: string;
  studio?: StudioFields;
  registerLimit?: number;
}

/** A product's data template as stored: its JSON text, checked by thing-model/ before it gets here. */
export interface StoredTemplate {
  text: string;
  createdAt: number;
  updatedAt: number;
}

/** A NewProduct checked and completed with its defaults: what both stores insert. */
export interface CheckedProduct {
  productId: string; productSecret: string; dynamicRegistration: boolean; autoCreate: boolean;
  authType: AuthType; region: string; productName: string; studio?: StudioFields; registerLimit: number;
}

/** Checks a NewProduct's fields (not whether its id or name is taken: the store does that). */
export function checkNewProduct(input: NewProduct): CheckedProduct {
  const productId = validateProductId(input.productId);
  if (typeof input.productSecret !== "string" || !PRODUCT_SECRET_PATTERN.test(input.productSecret)) {
    throw new RegistryError("invalid", `productSecret must be ${PLATFORM_LIMITS.productSecretMin}-${PLATFORM_LIMITS.productSecretMax} printable ASCII characters`);
  }
  const authType = input.authType ?? "psk";
  if (authType !== "psk" && authType !== "cert") throw new RegistryError("invalid", `authType must be "psk" or "cert"`);
  const region = input.region ?? "ap-guangzhou";
  if (typeof region !== "string" || region.length === 0 || region.length > PLATFORM_LIMITS.region) {
    throw new RegistryError("invalid", `region must be 1-${PLATFORM_LIMITS.region} characters`);
  }
  for (const flag of ["dynamicRegistration", "autoCreate"] as const) {
    if (input[flag] !== undefined && typeof input[flag] !== "boolean") throw new RegistryError("invalid", `${flag} must be a boolean`);
  }
  const registerLimit = input.registerLimit ?? 0;
  if (!Number.isSafeInteger(registerLimit) || registerLimit < 0) throw new RegistryError("invalid", "registerLimit must be a whole number of at least 0");
  return {
    productId, productSecret: input.productSecret, dynamicRegistration: input.dynamicRegistration !== false, autoCreate: input.autoCreate === true,
    authType, region, productName: input.productName ?? productId, studio: input.studio, registerLimit,
  };
}

/** The bound a report must stay within (data-bounds.ts): a reason when the device's values exceed it. */
export type ReportBound = (usage: { properties: number; bytes: number }) => string | undefined;

/**
 * What the platform keeps, whichever store keeps it. Errors are RegistryError with the same kinds
 * and messages in both stores.
 */
export interface Registry {
  /**
   * Every device's client id and PSK, in memory and read synchronously: Node's TLS pskCallback
   * cannot wait for a database. Loaded when the store opens; every write through this registry
   * updates it (device-keys.ts says how other nodes' writes will reach it).
   */
  readonly deviceKeys: DeviceKeys;
  /** OTA: objects, firmware versions, tasks, device updates, reported versions (issue 22). */
  readonly firmware: FirmwareStore;
  close(): Promise<void>;

  // ---- products ----
  createProduct(input: NewProduct, now?: number): Promise<Product>;
  getProduct(productId: string): Promise<Product | undefined>;
  listProducts(): Promise<Product[]>;
  deleteProduct(productId: string): Promise<boolean>;

  // ---- devices ----
  createDevice(productId: string, deviceName: string, options?: { autoCreated?: boolean; now?: number }): Promise<Device>;
  getDevice(productId: string, deviceName: string): Promise<Device | undefined>;
  /** MQTT client ids are ProductId+DeviceName (docs/PROTOCOL.md §5). */
  getDeviceByClientId(clientId: string): Promise<Device | undefined>;
  listDevices(productId: string): Promise<Device[]>;
  deleteDevice(productId: string, deviceName: string): Promise<boolean>;
  /** Stores the first credentials issued; false when the device already had some. */
  setCredentials(productId: string, deviceName: string, credentials: DeviceCredentials, now?: number): Promise<boolean>;
  /** Marks a registered device activated; true only for the first activation. */
  markActivated(productId: string, deviceName: string, now?: number): Promise<boolean>;

  // ---- registration nonces ----
  /** Records a nonce until `expiresAtSeconds`; false when it was seen and has not expired. */
  rememberNonce(key: string, expiresAtSeconds: number, nowSeconds: number): Promise<boolean>;
  pruneNonces(nowSeconds: number): Promise<number>;

  // ---- control messages ----
  recordControl(message: Omit<ControlMessage, "reply">): Promise<void>;
  /** Records a device's control_reply; false when no unanswered control has that token. */
  recordControlReply(productId: string, deviceName: string, clientToken: string, code: number, status: string, now?: number): Promise<boolean>;
  getControl(clientToken: string): Promise<ControlMessage | undefined>;
  listControls(productId: string, deviceName: string): Promise<ControlMessage[]>;

  // ---- Cloud API management (issue 15) ----
  getProductByName(productName: string): Promise<Product | undefined>;
  /** Devices of a product, optionally only those whose name contains `nameContains`. */
  countDevices(productId: string, nameContains?: string): Promise<number>;
  /** One page of a product's devices in name order. */
  pageDevices(productId: string, offset: number, limit: number, nameContains?: string): Promise<Device[]>;
  /** RegisterType 0 (off), 1 (pre-created devices only) or 2 (auto-create), and RegisterLimit. */
  setDynamicRegistration(productId: string, registerType: 0 | 1 | 2, registerLimit: number, now?: number): Promise<Product>;
  /** A device created with credentials issued at once (CreateDevice); it stays "created" until it registers or logs in. */
  createDeviceWithCredentials(productId: string, deviceName: string, credentials: DeviceCredentials, now?: number): Promise<Device>;
  /** Marks registered a device whose credentials were issued before registration; false if it was already. */
  markRegistered(productId: string, deviceName: string, now?: number): Promise<boolean>;
  /**
   * Counts a device against its product's RegisterLimit the first time dynamic registration
   * answers it; false when the limit is reached (or the device is gone). Exact under concurrent
   * registrations, from every node sharing the store. Without a limit (0) nothing is written.
   */
  claimDynamicRegistration(device: Pick<Device, "productId" | "deviceName" | "dynamicRegisteredAt">, registerLimit: number, now?: number): Promise<boolean>;
  /** Devices of a product answered by dynamic registration, counted up to `atMost`. */
  dynamicRegistrationCount(productId: string, atMost?: number): Promise<number>;
  /** Enables or disables devices, all or none: throws not-found naming the first unknown one. */
  setDevicesEnabled(devices: ReadonlyArray<{ productId: string; deviceName: string }>, enabled: boolean): Promise<void>;
  /** Deletes devices, all or none: throws not-found naming the first unknown one. */
  deleteDevices(devices: ReadonlyArray<{ productId: string; deviceName: string }>): Promise<void>;

  // ---- data plane (issue 14: docs/PROTOCOL.md §8) ----
  /**
   * Merges a report's properties (each value as JSON text: data-bounds.ts) into the latest values
   * in one transaction, and keeps them only if `bound` finds the device's values within its limits
   * (checked after the merge, so replaced values count once); otherwise nothing changes and the
   * reason is returned.
   */
  recordReportWithin(productId: string, deviceName: string, entries: ReportedEntries, now: number, deviceTimestamp: number | undefined, bound: ReportBound): Promise<string | undefined>;
  latestReported(productId: string, deviceName: string): Promise<Record<string, ReportedProperty>>;
  /** Control sent and neither acknowledged nor cleared, merged: what get_status returns as data.control. */
  pendingControl(productId: string, deviceName: string): Promise<Record<string, unknown> | undefined>;
  /** Adds a control's params to the pending control (later values win). */
  addPendingControl(productId: string, deviceName: string, params: Record<string, unknown>, now: number): Promise<void>;
  /**
   * Drops from the pending control the params an acknowledged control carried, unless a later
   * control changed them since; `undefined` drops it all (clear_control).
   */
  settlePendingControl(productId: string, deviceName: string, acknowledged: Record<string, unknown> | undefined, now: number): Promise<void>;
  recordDeviceInfo(productId: string, deviceName: string, info: Record<string, unknown>, now: number): Promise<void>;
  deviceInfo(productId: string, deviceName: string): Promise<DeviceInfoReport | undefined>;
  recordAction(call: Omit<ActionCall, "reply">): Promise<void>;
  /** Records a device's action_reply; false when no unanswered action call has that token. */
  recordActionReply(productId: string, deviceName: string, clientToken: string, reply: { code: number; status: string; response: Record<string, unknown> }, now: number): Promise<boolean>;
  getAction(clientToken: string): Promise<ActionCall | undefined>;
  listActions(productId: string, deviceName: string): Promise<ActionCall[]>;

  // ---- data templates (issue 24: docs/PROTOCOL.md §13) ----
  /** Stores a product's data template text (already validated by the caller). */
  setDataTemplate(productId: string, text: string, now?: number): Promise<StoredTemplate>;
  /** The product's data template, if it has one. */
  dataTemplate(productId: string): Promise<StoredTemplate | undefined>;
}
