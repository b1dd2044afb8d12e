/**
 * The registry in one SQLite database (better-sqlite3, WAL) under a data folder, or in memory:
 * the embedded default store. The statements run synchronously inside (each method atomic with
 * respect to the event loop); SqliteRegistry hands their results out as promises (registry.ts).
 */
import Database from "better-sqlite3";
import { chmodSync, closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import type { ReportedEntries } from "./data-bounds";
import { DeviceKeys } from "./device-keys";
import { SqliteFirmware, type FirmwareStore } from "./ota/firmware-registry";
import {
  checkNewProduct, RegistryError, validateDeviceName,
  type ActionCall, type ControlMessage, type Device, type DeviceCredentials, type DeviceInfoReport, type NewProduct, type Product,
  type Registry, type ReportBound, type ReportedProperty, type StoredTemplate,
} from "./registry";
import { toAction, toControl, toDevice, toProduct, type ActionRow, type ControlRow, type DeviceRow, type ProductRow } from "./registry-rows";

export interface SqliteRegistryOptions {
  dataDir?: string;   // persistent database at <dataDir>/platform.sqlite
  memory?: boolean;   // in-memory database (the default when no dataDir is given)
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS products (
  product_id TEXT PRIMARY KEY,
  product_secret TEXT NOT NULL,
  dynamic_registration INTEGER NOT NULL,
  auto_create INTEGER NOT NULL,
  auth_type TEXT NOT NULL CHECK (auth_type IN ('psk','cert')),
  region TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS devices (
  product_id TEXT NOT NULL REFERENCES products(product_id) ON DELETE CASCADE,
  device_name TEXT NOT NULL,
  client_id TEXT NOT NULL UNIQUE,
  psk TEXT, cert_pem TEXT, key_pem TEXT,
  auto_created INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  registered_at INTEGER,
  activated_at INTEGER,
  PRIMARY KEY (product_id, device_name)
);
CREATE TABLE IF NOT EXISTS nonces (
  nonce_key TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS control_messages (
  client_token TEXT PRIMARY KEY,
  product_id TEXT NOT NULL,
  device_name TEXT NOT NULL,
  params TEXT NOT NULL,
  sent_at INTEGER NOT NULL,
  reply_code INTEGER, reply_status TEXT, replied_at INTEGER,
  FOREIGN KEY (product_id, device_name) REFERENCES devices(product_id, device_name) ON DELETE CASCADE
);
`;

// ---- Cloud API management columns (issue 15) ----
// Added with ALTER TABLE so that data folders made before them open unchanged.
const MANAGEMENT_COLUMNS: ReadonlyArray<[table: string, column: string, definition: string]> = [
  ["products", "product_name", "TEXT"],
  ["products", "studio", "TEXT"],                       // JSON of StudioFields
  ["products", "register_limit", "INTEGER NOT NULL DEFAULT 0"],
  ["products", "updated_at", "INTEGER"],
  ["devices", "enabled", "INTEGER NOT NULL DEFAULT 1"],
  ["devices", "dynreg_at", "INTEGER"],
];
const MANAGEMENT_INDEXES = `
CREATE UNIQUE INDEX IF NOT EXISTS products_by_name ON products(product_name) WHERE product_name IS NOT NULL;
CREATE INDEX IF NOT EXISTS devices_dynamically_registered ON devices(product_id) WHERE dynreg_at IS NOT NULL;
`;

function addManagementColumns(db: Database.Database): void {
  for (const [table, column, definition] of MANAGEMENT_COLUMNS) {
    const columns = db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>;
    if (!columns.some((existing) => existing.name === column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
  }
  db.exec(MANAGEMENT_INDEXES);
}

// ---- data plane schema (issue 14), kept apart from the tables above ----
const DATA_PLANE_SCHEMA = `
CREATE TABLE IF NOT EXISTS reported_properties (
  product_id TEXT NOT NULL,
  device_name TEXT NOT NULL,
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  device_timestamp INTEGER,
  PRIMARY KEY (product_id, device_name, name),
  FOREIGN KEY (product_id, device_name) REFERENCES devices(product_id, device_name) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS pending_controls (
  product_id TEXT NOT NULL,
  device_name TEXT NOT NULL,
  params TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (product_id, device_name),
  FOREIGN KEY (product_id, device_name) REFERENCES devices(product_id, device_name) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS device_info_reports (
  product_id TEXT NOT NULL,
  device_name TEXT NOT NULL,
  info TEXT NOT NULL,
  reported_at INTEGER NOT NULL,
  PRIMARY KEY (product_id, device_name),
  FOREIGN KEY (product_id, device_name) REFERENCES devices(product_id, device_name) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS action_calls (
  client_token TEXT PRIMARY KEY,
  product_id TEXT NOT NULL,
  device_name TEXT NOT NULL,
  action_id TEXT NOT NULL,
  params TEXT NOT NULL,
  sent_at INTEGER NOT NULL,
  reply_code INTEGER, reply_status TEXT, response TEXT, replied_at INTEGER,
  FOREIGN KEY (product_id, device_name) REFERENCES devices(product_id, device_name) ON DELETE CASCADE
);
`;

// ---- data templates (issue 24), a table of their own so that older data folders open unchanged ----
const TEMPLATE_SCHEMA = `
CREATE TABLE IF NOT EXISTS product_templates (
  product_id TEXT PRIMARY KEY REFERENCES products(product_id) ON DELETE CASCADE,
  template TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
`;

// ---- Cloud API management statements (issue 15) ----
function prepareManagementStatements(db: Database.Database) {
  return {
    getProductByName: db.prepare(`SELECT product_id FROM products WHERE product_name = ?`),
    countDevices: db.prepare(`SELECT COUNT(*) AS n FROM devices WHERE product_id = ?`),
    countDevicesNamed: db.prepare(`SELECT COUNT(*) AS n FROM devices WHERE product_id = ? AND instr(device_name, ?) > 0`),
    pageDevices: db.prepare(`SELECT * FROM devices WHERE product_id = ? ORDER BY device_name LIMIT ? OFFSET ?`),
    pageDevicesNamed: db.prepare(`SELECT * FROM devices WHERE product_id = ? AND instr(device_name, ?) > 0 ORDER BY device_name LIMIT ? OFFSET ?`),
    setDynamicRegistration: db.prepare(`UPDATE products SET dynamic_registration = ?, auto_create = ?, register_limit = ?, updated_at = ? WHERE product_id = ?`),
    presetCredentials: db.prepare(`UPDATE devices SET psk = ?, cert_pem = ?, key_pem = ? WHERE product_id = ? AND device_name = ?`),
    markRegistered: db.prepare(`UPDATE devices SET registered_at = ? WHERE product_id = ? AND device_name = ? AND registered_at IS NULL AND (psk IS NOT NULL OR cert_pem IS NOT NULL)`),
    // A limit set on a product counts the devices registered before it.
    countRegisteredSoFar: db.prepare(`UPDATE devices SET dynreg_at = registered_at WHERE product_id = ? AND dynreg_at IS NULL AND registered_at IS NOT NULL`),
    claimWithin: db.prepare(`UPDATE devices SET dynreg_at = @now WHERE product_id = @productId AND device_name = @deviceName AND dynreg_at IS NULL
      AND (SELECT COUNT(*) FROM (SELECT 1 FROM devices WHERE product_id = @productId AND dynreg_at IS NOT NULL LIMIT @limit)) < @limit`),
    countDynamicallyRegistered: db.prepare(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM devices WHERE product_id = ? AND dynreg_at IS NOT NULL LIMIT ?)`),
    setEnabled: db.prepare(`UPDATE devices SET enabled = ? WHERE product_id = ? AND device_name = ?`),
  };
}

/**
 * Creates the database file mode 0600 before SQLite opens it (and tightens one made looser):
 * it holds every ProductSecret, PSK and private key. SQLite gives its -wal and -shm files the
 * database file's mode (os_unix.c, findCreateFileMode), so they are 0600 too.
 */
function createPrivate(file: string): void {
  closeSync(openSync(file, "a", 0o600));
  chmodSync(file, 0o600);
}

/** Thrown inside a transaction to roll it back when a bound is exceeded. */
class BoundExceeded extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** The store itself: synchronous, so each method is atomic with respect to the event loop. */
class SqliteStore {
  private readonly db: Database.Database;
  private readonly statements;
  private readonly management: ReturnType<typeof prepareManagementStatements>;
  /**
   * Products as last read, by id: every registration and every device write looks its product
   * up, and products change only through this class (one platform process owns its data
   * folder), so each writer below drops the entry it changes.
   */
  private readonly productCache = new Map<string, Product>();
  /** Statements of the data plane block (issue 14). */
  private readonly dataPlane;
  /** OTA: objects, firmware versions, tasks, device updates, reported versions (issue 22). */
  readonly firmware: SqliteFirmware;
  /** Client ids and PSKs for the broker's synchronous TLS-PSK lookup (device-keys.ts). */
  readonly deviceKeys = new DeviceKeys();
  /** Statements and cache of the data templates (issue 24): the data plane looks one up per message. */
  private readonly templates;
  private readonly templateCache = new Map<string, StoredTemplate | null>();
  /** Made once (better-sqlite3 builds a new wrapper for every db.transaction() call); BoundExceeded rolls it back. */
  private readonly recordReportBounded: (productId: string, deviceName: string, entries: ReportedEntries, now: number, deviceTimestamp: number | undefined,
    bound: (usage: { properties: number; bytes: number }) => string | undefined) => string | undefined;

  constructor(options: SqliteRegistryOptions = {}) {
    let file = ":memory:";
    if (options.dataDir !== undefined && !options.memory) {
      mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
      file = join(options.dataDir, "platform.sqlite");
      createPrivate(file);
    }
    this.db = new Database(file);
    if (file !== ":memory:") {
      this.db.pragma("journal_mode = WAL");
      // WAL + NORMAL survives a process crash; only an OS crash may lose the last commits.
      this.db.pragma("synchronous = NORMAL");
    }
    this.db.pragma("foreign_keys = ON");
    this.db.exec(SCHEMA);
    addManagementColumns(this.db);
    const db = this.db;
    this.statements = {
      insertProduct: db.prepare(`INSERT INTO products (product_id, product_secret, dynamic_registration, auto_create, auth_type, region, created_at, product_name, studio, register_limit, updated_at)
        VALUES (@product_id, @product_secret, @dynamic_registration, @auto_create, @auth_type, @region, @created_at, @product_name, @studio, @register_limit, @created_at)`),
      getProduct: db.prepare(`SELECT * FROM products WHERE product_id = ?`),
      listProducts: db.prepare(`SELECT * FROM products ORDER BY product_id`),
      deleteProduct: db.prepare(`DELETE FROM products WHERE product_id = ?`),
      insertDevice: db.prepare(`INSERT INTO devices (product_id, device_name, client_id, auto_created, created_at) VALUES (?, ?, ?, ?, ?)`),
      getDevice: db.prepare(`SELECT * FROM devices WHERE product_id = ? AND device_name = ?`),
      getDeviceByClientId: db.prepare(`SELECT * FROM devices WHERE client_id = ?`),
      listDevices: db.prepare(`SELECT * FROM devices WHERE product_id = ? ORDER BY device_name`),
      deleteDevice: db.prepare(`DELETE FROM devices WHERE product_id = ? AND device_name = ?`),
      setCredentials: db.prepare(`UPDATE devices SET psk = ?, cert_pem = ?, key_pem = ?, registered_at = ? WHERE product_id = ? AND device_name = ? AND psk IS NULL AND cert_pem IS NULL`),
      activate: db.prepare(`UPDATE devices SET activated_at = ? WHERE product_id = ? AND device_name = ? AND activated_at IS NULL AND (psk IS NOT NULL OR cert_pem IS NOT NULL)`),
      // Accepted only when unseen or when the earlier use has expired (docs/PROTOCOL.md §2 replay window).
      rememberNonce: db.prepare(`INSERT INTO nonces (nonce_key, expires_at) VALUES (?, ?) ON CONFLICT (nonce_key) DO UPDATE SET expires_at = excluded.expires_at WHERE nonces.expires_at <= ?`),
      pruneNonces: db.prepare(`DELETE FROM nonces WHERE expires_at <= ?`),
      insertControl: db.prepare(`INSERT INTO control_messages (client_token, product_id, device_name, params, sent_at) VALUES (?, ?, ?, ?, ?)`),
      replyControl: db.prepare(`UPDATE control_messages SET reply_code = ?, reply_status = ?, replied_at = ? WHERE client_token = ? AND product_id = ? AND device_name = ? AND replied_at IS NULL`),
      listControls: db.prepare(`SELECT * FROM control_messages WHERE product_id = ? AND device_name = ? ORDER BY sent_at, rowid`),
      getControl: db.prepare(`SELECT * FROM control_messages WHERE client_token = ?`),
    };
    this.management = prepareManagementStatements(db);
    db.exec(DATA_PLANE_SCHEMA);
    this.dataPlane = {
      upsertReported: db.prepare(`INSERT INTO reported_properties VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (product_id, device_name, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, device_timestamp = excluded.device_timestamp`),
      // Bytes, not characters: CAST AS BLOB measures the UTF-8 text.
      reportedUsage: db.prepare(`SELECT COUNT(*) AS properties, COALESCE(SUM(length(CAST(name AS BLOB)) + length(CAST(value AS BLOB))), 0) AS bytes
        FROM reported_properties WHERE product_id = ? AND device_name = ?`),
      listReported: db.prepare(`SELECT name, value, updated_at, device_timestamp FROM reported_properties WHERE product_id = ? AND device_name = ? ORDER BY name`),
      getPending: db.prepare(`SELECT params FROM pending_controls WHERE product_id = ? AND device_name = ?`),
      setPending: db.prepare(`INSERT INTO pending_controls VALUES (?, ?, ?, ?) ON CONFLICT (product_id, device_name) DO UPDATE SET params = excluded.params, updated_at = excluded.updated_at`),
      deletePending: db.prepare(`DELETE FROM pending_controls WHERE product_id = ? AND device_name = ?`),
      setInfo: db.prepare(`INSERT INTO device_info_reports VALUES (?, ?, ?, ?) ON CONFLICT (product_id, device_name) DO UPDATE SET info = excluded.info, reported_at = excluded.reported_at`),
      getInfo: db.prepare(`SELECT info, reported_at FROM device_info_reports WHERE product_id = ? AND device_name = ?`),
      insertAction: db.prepare(`INSERT INTO action_calls (client_token, product_id, device_name, action_id, params, sent_at) VALUES (?, ?, ?, ?, ?, ?)`),
      replyAction: db.prepare(`UPDATE action_calls SET reply_code = ?, reply_status = ?, response = ?, replied_at = ? WHERE client_token = ? AND product_id = ? AND device_name = ? AND replied_at IS NULL`),
      getAction: db.prepare(`SELECT * FROM action_calls WHERE client_token = ?`),
      listActions: db.prepare(`SELECT * FROM action_calls WHERE product_id = ? AND device_name = ? ORDER BY sent_at, rowid`),
    };
    this.firmware = new SqliteFirmware(db);
    db.exec(TEMPLATE_SCHEMA);
    this.templates = {
      get: db.prepare(`SELECT template, created_at, updated_at FROM product_templates WHERE product_id = ?`),
      set: db.prepare(`INSERT INTO product_templates VALUES (?, ?, ?, ?)
        ON CONFLICT (product_id) DO UPDATE SET template = excluded.template, updated_at = excluded.updated_at`),
    };
    const rollBack = db.transaction((productId: string, deviceName: string, entries: ReportedEntries, now: number, deviceTimestamp: number | undefined,
      bound: (usage: { properties: number; bytes: number }) => string | undefined) => {
      for (const [name, json] of entries) this.dataPlane.upsertReported.run(productId, deviceName, name, json, now, deviceTimestamp ?? null);
      const reason = bound(this.dataPlane.reportedUsage.get(productId, deviceName) as { properties: number; bytes: number });
      if (reason !== undefined) throw new BoundExceeded(reason);
    });
    this.recordReportBounded = (...args) => {
      try {
        rollBack(...args);
        return undefined;
      } catch (error) {
        if (error instanceof BoundExceeded) return error.reason;
        throw error;
      }
    };
    this.deviceKeys.load((db.prepare(`SELECT product_id, device_name, psk FROM devices`).all() as Array<{ product_id: string; device_name: string; psk: string | null }>)
      .map((row) => ({ productId: row.product_id, deviceName: row.device_name, psk: row.psk ?? undefined })));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  // ---- products ----

  createProduct(input: NewProduct, now = Date.now()): Product {
    const checked = checkNewProduct(input);
    const { productId, productName } = checked;
    if (this.getProduct(productId)) throw new RegistryError("exists", `product ${productId} already exists`);
    if (this.getProductByName(productName)) throw new RegistryError("exists", `product name ${productName} is already taken`);
    this.statements.insertProduct.run({
      product_id: productId,
      product_secret: checked.productSecret,
      dynamic_registration: checked.dynamicRegistration ? 1 : 0,
      auto_create: checked.autoCreate ? 1 : 0,
      auth_type: checked.authType,
      region: checked.region,
      created_at: now,
      product_name: productName,
      studio: checked.studio === undefined ? null : JSON.stringify(checked.studio),
      register_limit: checked.registerLimit,
    });
    return this.getProduct(productId)!;
  }

  getProduct(productId: string): Product | undefined {
    const cached = this.productCache.get(productId);
    if (cached) return { ...cached }; // a copy: callers cannot edit the cache
    const row = this.statements.getProduct.get(productId) as ProductRow | undefined;
    const product = row && toProduct(row);
    if (product) this.productCache.set(productId, { ...product }); // absent ids are not cached: any string may be asked
    return product;
  }

  listProducts(): Product[] {
    return (this.statements.listProducts.all() as ProductRow[]).map(toProduct);
  }

  deleteProduct(productId: string): boolean {
    this.productCache.delete(productId);
    this.templateCache.delete(productId);
    this.deviceKeys.removeProduct(productId);
    return this.statements.deleteProduct.run(productId).changes === 1;
  }

  // ---- devices ----

  createDevice(productId: string, deviceName: string, options: { autoCreated?: boolean; now?: number } = {}): Device {
    validateDeviceName(deviceName);
    if (!this.getProduct(productId)) throw new RegistryError("not-found", `product ${productId} does not exist`);
    try {
      this.statements.insertDevice.run(productId, deviceName, productId + deviceName, options.autoCreated ? 1 : 0, options.now ?? Date.now());
    } catch (error) {
      // The keys refuse duplicates; which one fired is looked up only on this rare path.
      if (!String((error as { code?: string }).code).startsWith("SQLITE_CONSTRAINT")) throw error;
      if (this.getDevice(productId, deviceName)) throw new RegistryError("exists", `device ${productId}/${deviceName} already exists`);
      // Another product's pid+name concatenation can collide with this one's client id.
      throw new RegistryError("exists", `client id ${productId}${deviceName} is already taken by another device`);
    }
    this.deviceKeys.put({ productId, deviceName });
    return this.getDevice(productId, deviceName)!;
  }

  getDevice(productId: string, deviceName: string): Device | undefined {
    const row = this.statements.getDevice.get(productId, deviceName) as DeviceRow | undefined;
    return row && toDevice(row);
  }

  /** MQTT client ids are ProductId+DeviceName (docs/PROTOCOL.md §5). */
  getDeviceByClientId(clientId: string): Device | undefined {
    const row = this.statements.getDeviceByClientId.get(clientId) as DeviceRow | undefined;
    return row && toDevice(row);
  }

  listDevices(productId: string): Device[] {
    return (this.statements.listDevices.all(productId) as DeviceRow[]).map(toDevice);
  }

  deleteDevice(productId: string, deviceName: string): boolean {
    const deleted = this.statements.deleteDevice.run(productId, deviceName).changes === 1;
    // Inside deleteDevices' transaction too: a rollback there puts the keys back (below).
    if (deleted) this.deviceKeys.remove(productId, deviceName);
    return deleted;
  }

  /** Stores the first credentials issued; returns false when the device already had some. */
  setCredentials(productId: string, deviceName: string, credentials: DeviceCredentials, now = Date.now()): boolean {
    const result = this.statements.setCredentials.run(
      credentials.psk ?? null, credentials.certPem ?? null, credentials.keyPem ?? null, now, productId, deviceName);
    if (result.changes === 1) this.deviceKeys.put({ productId, deviceName, psk: credentials.psk });
    return result.changes === 1;
  }

  /** Marks a registered device activated; true only for the first activation. */
  markActivated(productId: string, deviceName: string, now = Date.now()): boolean {
    return this.statements.activate.run(now, productId, deviceName).changes === 1;
  }

  // ---- registration nonces ----

  /** Records a nonce until `expiresAtSeconds`; false when it was seen and has not expired. */
  rememberNonce(key: string, expiresAtSeconds: number, nowSeconds: number): boolean {
    return this.statements.rememberNonce.run(key, expiresAtSeconds, nowSeconds).changes === 1;
  }

  pruneNonces(nowSeconds: number): number {
    return this.statements.pruneNonces.run(nowSeconds).changes;
  }

  // ---- control messages ----

  recordControl(message: Omit<ControlMessage, "reply">): void {
    this.statements.insertControl.run(message.clientToken, message.productId, message.deviceName, JSON.stringify(message.params), message.sentAt);
  }

  /** Records a device's control_reply; false when no unanswered control has that token. */
  recordControlReply(productId: string, deviceName: string, clientToken: string, code: number, status: string, now = Date.now()): boolean {
    return this.statements.replyControl.run(code, status, now, clientToken, productId, deviceName).changes === 1;
  }

  getControl(clientToken: string): ControlMessage | undefined {
    const row = this.statements.getControl.get(clientToken) as ControlRow | undefined;
    return row && toControl(row);
  }

  listControls(productId: string, deviceName: string): ControlMessage[] {
    return (this.statements.listControls.all(productId, deviceName) as ControlRow[]).map(toControl);
  }

  // ---- Cloud API management (issue 15) ----

  getProductByName(productName: string): Product | undefined {
    const row = this.management.getProductByName.get(productName) as { product_id: string } | undefined;
    return row && this.getProduct(row.product_id);
  }

  /** Devices of a product, optionally only those whose name contains `nameContains`. */
  countDevices(productId: string, nameContains?: string): number {
    const row = (nameContains ? this.management.countDevicesNamed.get(productId, nameContains) : this.management.countDevices.get(productId)) as { n: number };
    return row.n;
  }

  /** One page of a product's devices in name order. */
  pageDevices(productId: string, offset: number, limit: number, nameContains?: string): Device[] {
    const rows = nameContains
      ? this.management.pageDevicesNamed.all(productId, nameContains, limit, offset)
      : this.management.pageDevices.all(productId, limit, offset);
    return (rows as DeviceRow[]).map(toDevice);
  }

  /** RegisterType 0 (off), 1 (pre-created devices only) or 2 (auto-create), and RegisterLimit. */
  setDynamicRegistration(productId: string, registerType: 0 | 1 | 2, registerLimit: number, now = Date.now()): Product {
    if (!this.getProduct(productId)) throw new RegistryError("not-found", `product ${productId} does not exist`);
    if (!Number.isSafeInteger(registerLimit) || registerLimit < 0) throw new RegistryError("invalid", "registerLimit must be a whole number of at least 0");
    this.productCache.delete(productId);
    this.db.transaction(() => {
      this.management.setDynamicRegistration.run(registerType === 0 ? 0 : 1, registerType === 2 ? 1 : 0, registerLimit, now, productId);
      if (registerLimit > 0) this.management.countRegisteredSoFar.run(productId);
    })();
    return this.getProduct(productId)!;
  }

  /** A device created with credentials issued at once (CreateDevice); it stays "created" until it registers or logs in. */
  createDeviceWithCredentials(productId: string, deviceName: string, credentials: DeviceCredentials, now = Date.now()): Device {
    const device = this.db.transaction(() => {
      this.createDevice(productId, deviceName, { now });
      this.management.presetCredentials.run(credentials.psk ?? null, credentials.certPem ?? null, credentials.keyPem ?? null, productId, deviceName);
      return this.getDevice(productId, deviceName)!;
    })();
    this.deviceKeys.put({ productId, deviceName, psk: credentials.psk });
    return device;
  }

  /** Marks registered a device whose credentials were issued before registration; false if it was already. */
  markRegistered(productId: string, deviceName: string, now = Date.now()): boolean {
    return this.management.markRegistered.run(now, productId, deviceName).changes === 1;
  }

  /**
   * Counts a device against its product's RegisterLimit the first time dynamic registration
   * answers it; false when the limit is reached (or the device is gone). One statement, so
   * concurrent registrations cannot both take the last place. Without a limit (0) nothing is
   * written: registrations cost no extra write, and a limit set later counts them then.
   */
  claimDynamicRegistration(device: Pick<Device, "productId" | "deviceName" | "dynamicRegisteredAt">, registerLimit: number, now = Date.now()): boolean {
    if (device.dynamicRegisteredAt !== undefined || registerLimit <= 0) return true;
    const { productId, deviceName } = device;
    return this.management.claimWithin.run({ now, productId, deviceName, limit: registerLimit }).changes === 1;
  }

  /** Devices of a product answered by dynamic registration, counted up to `atMost`. */
  dynamicRegistrationCount(productId: string, atMost = Number.MAX_SAFE_INTEGER): number {
    return (this.management.countDynamicallyRegistered.get(productId, atMost) as { n: number }).n;
  }

  /** Enables or disables devices, all or none: throws not-found naming the first unknown one. */
  setDevicesEnabled(devices: ReadonlyArray<{ productId: string; deviceName: string }>, enabled: boolean): void {
    this.db.transaction(() => {
      for (const { productId, deviceName } of devices) {
        if (this.management.setEnabled.run(enabled ? 1 : 0, productId, deviceName).changes !== 1) {
          throw new RegistryError("not-found", `device ${productId}/${deviceName} does not exist`);
        }
      }
    })();
  }

  /** Deletes devices, all or none: throws not-found naming the first unknown one. */
  deleteDevices(devices: ReadonlyArray<{ productId: string; deviceName: string }>): void {
    const before = devices.map(({ productId, deviceName }) => this.deviceKeys.get(productId + deviceName));
    try {
      this.db.transaction(() => {
        for (const { productId, deviceName } of devices) {
          if (!this.deleteDevice(productId, deviceName)) throw new RegistryError("not-found", `device ${productId}/${deviceName} does not exist`);
        }
      })();
    } catch (error) {
      for (const key of before) if (key) this.deviceKeys.put(key); // rolled back: the devices are still there
      throw error;
    }
  }

  // ---- data plane (issue 14: docs/PROTOCOL.md §8) ----

  /**
   * Merges a report's properties (each value as JSON text: data-bounds.ts) into the latest values
   * in one transaction, and keeps them only if `bound` finds the device's values within its limits
   * (checked after the merge, so replaced values count once); otherwise nothing changes and the
   * reason is returned.
   */
  recordReportWithin(productId: string, deviceName: string, entries: ReportedEntries, now: number, deviceTimestamp: number | undefined, bound: ReportBound): string | undefined {
    return this.recordReportBounded(productId, deviceName, entries, now, deviceTimestamp, bound);
  }

  latestReported(productId: string, deviceName: string): Record<string, ReportedProperty> {
    const rows = this.dataPlane.listReported.all(productId, deviceName) as Array<{ name: string; value: string; updated_at: number; device_timestamp: number | null }>;
    // fromEntries defines each name as an own property: an assignment would take "__proto__" as the prototype.
    return Object.fromEntries(rows.map((row) => [row.name, {
      value: JSON.parse(row.value), updatedAt: row.updated_at, ...(row.device_timestamp !== null ? { deviceTimestamp: row.device_timestamp } : {}),
    } satisfies ReportedProperty]));
  }

  /** Control sent and neither acknowledged nor cleared, merged: what get_status returns as data.control. */
  pendingControl(productId: string, deviceName: string): Record<string, unknown> | undefined {
    const row = this.dataPlane.getPending.get(productId, deviceName) as { params: string } | undefined;
    return row && (JSON.parse(row.params) as Record<string, unknown>);
  }

  /** Adds a control's params to the pending control (later values win). */
  addPendingControl(productId: string, deviceName: string, params: Record<string, unknown>, now: number): void {
    this.db.transaction(() => {
      const merged = { ...this.pendingControl(productId, deviceName), ...params };
      this.dataPlane.setPending.run(productId, deviceName, JSON.stringify(merged), now);
    })();
  }

  /**
   * Drops from the pending control the params an acknowledged control carried, unless a later
   * control changed them since; `undefined` drops it all (clear_control).
   */
  settlePendingControl(productId: string, deviceName: string, acknowledged: Record<string, unknown> | undefined, now: number): void {
    this.db.transaction(() => {
      const pending = this.pendingControl(productId, deviceName);
      if (!pending) return;
      if (acknowledged === undefined) {
        this.dataPlane.deletePending.run(productId, deviceName);
        return;
      }
      for (const [name, value] of Object.entries(acknowledged)) {
        if (name in pending && JSON.stringify(pending[name]) === JSON.stringify(value)) delete pending[name];
      }
      if (Object.keys(pending).length === 0) this.dataPlane.deletePending.run(productId, deviceName);
      else this.dataPlane.setPending.run(productId, deviceName, JSON.stringify(pending), now);
    })();
  }

  recordDeviceInfo(productId: string, deviceName: string, info: Record<string, unknown>, now: number): void {
    this.dataPlane.setInfo.run(productId, deviceName, JSON.stringify(info), now);
  }

  deviceInfo(productId: string, deviceName: string): DeviceInfoReport | undefined {
    const row = this.dataPlane.getInfo.get(productId, deviceName) as { info: string; reported_at: number } | undefined;
    return row && { info: JSON.parse(row.info) as Record<string, unknown>, reportedAt: row.reported_at };
  }

  recordAction(call: Omit<ActionCall, "reply">): void {
    this.dataPlane.insertAction.run(call.clientToken, call.productId, call.deviceName, call.actionId, JSON.stringify(call.params), call.sentAt);
  }

  /** Records a device's action_reply; false when no unanswered action call has that token. */
  recordActionReply(productId: string, deviceName: string, clientToken: string, reply: { code: number; status: string; response: Record<string, unknown> }, now: number): boolean {
    return this.dataPlane.replyAction.run(reply.code, reply.status, JSON.stringify(reply.response), now, clientToken, productId, deviceName).changes === 1;
  }

  getAction(clientToken: string): ActionCall | undefined {
    const row = this.dataPlane.getAction.get(clientToken) as ActionRow | undefined;
    return row && toAction(row);
  }

  listActions(productId: string, deviceName: string): ActionCall[] {
    return (this.dataPlane.listActions.all(productId, deviceName) as ActionRow[]).map(toAction);
  }

  // ---- data templates (issue 24: docs/PROTOCOL.md §13) ----

  /** Stores a product's data template text (already validated by the caller). */
  setDataTemplate(productId: string, text: string, now = Date.now()): StoredTemplate {
    if (!this.getProduct(productId)) throw new RegistryError("not-found", `product ${productId} does not exist`);
    this.templateCache.delete(productId);
    this.templates.set.run(productId, text, now, now);
    return this.dataTemplate(productId)!;
  }

  /** The product's data template, if it has one; cached, since every data-plane message asks. */
  dataTemplate(productId: string): StoredTemplate | undefined {
    const cached = this.templateCache.get(productId);
    if (cached !== undefined) return cached ?? undefined;
    const row = this.templates.get.get(productId) as { template: string; created_at: number; updated_at: number } | undefined;
    const stored = row ? Object.freeze({ text: row.template, createdAt: row.created_at, updatedAt: row.updated_at }) : null;
    // Absent products are not cached (any id may be asked); an existing product without a template is.
    if (stored || this.getProduct(productId)) this.templateCache.set(productId, stored);
    return stored ?? undefined;
  }
}

type Method = Exclude<keyof Registry, "deviceKeys" | "firmware" | "close">;
type Args<K extends Method> = Parameters<Registry[K]>;

/** The SQLite store behind the async Registry interface: each call runs synchronously, then resolves. */
export class SqliteRegistry implements Registry {
  private readonly store: SqliteStore;
  readonly deviceKeys: DeviceKeys;
  readonly firmware: FirmwareStore;

  constructor(options: SqliteRegistryOptions = {}) {
    this.store = new SqliteStore(options);
    this.deviceKeys = this.store.deviceKeys;
    this.firmware = this.store.firmware.promised();
  }

  async close(): Promise<void> {
    this.store.close();
  }

  async createProduct(...args: Args<"createProduct">) { return this.store.createProduct(...args); }
  async getProduct(...args: Args<"getProduct">) { return this.store.getProduct(...args); }
  async listProducts(...args: Args<"listProducts">) { return this.store.listProducts(...args); }
  async deleteProduct(...args: Args<"deleteProduct">) { return this.store.deleteProduct(...args); }
  async createDevice(...args: Args<"createDevice">) { return this.store.createDevice(...args); }
  async getDevice(...args: Args<"getDevice">) { return this.store.getDevice(...args); }
  async getDeviceByClientId(...args: Args<"getDeviceByClientId">) { return this.store.getDeviceByClientId(...args); }
  async listDevices(...args: Args<"listDevices">) { return this.store.listDevices(...args); }
  async deleteDevice(...args: Args<"deleteDevice">) { return this.store.deleteDevice(...args); }
  async setCredentials(...args: Args<"setCredentials">) { return this.store.setCredentials(...args); }
  async markActivated(...args: Args<"markActivated">) { return this.store.markActivated(...args); }
  async rememberNonce(...args: Args<"rememberNonce">) { return this.store.rememberNonce(...args); }
  async pruneNonces(...args: Args<"pruneNonces">) { return this.store.pruneNonces(...args); }
  async recordControl(...args: Args<"recordControl">) { return this.store.recordControl(...args); }
  async recordControlReply(...args: Args<"recordControlReply">) { return this.store.recordControlReply(...args); }
  async getControl(...args: Args<"getControl">) { return this.store.getControl(...args); }
  async listControls(...args: Args<"listControls">) { return this.store.listControls(...args); }
  async getProductByName(...args: Args<"getProductByName">) { return this.store.getProductByName(...args); }
  async countDevices(...args: Args<"countDevices">) { return this.store.countDevices(...args); }
  async pageDevices(...args: Args<"pageDevices">) { return this.store.pageDevices(...args); }
  async setDynamicRegistration(...args: Args<"setDynamicRegistration">) { return this.store.setDynamicRegistration(...args); }
  async createDeviceWithCredentials(...args: Args<"createDeviceWithCredentials">) { return this.store.createDeviceWithCredentials(...args); }
  async markRegistered(...args: Args<"markRegistered">) { return this.store.markRegistered(...args); }
  async claimDynamicRegistration(...args: Args<"claimDynamicRegistration">) { return this.store.claimDynamicRegistration(...args); }
  async dynamicRegistrationCount(...args: Args<"dynamicRegistrationCount">) { return this.store.dynamicRegistrationCount(...args); }
  async setDevicesEnabled(...args: Args<"setDevicesEnabled">) { return this.store.setDevicesEnabled(...args); }
  async deleteDevices(...args: Args<"deleteDevices">) { return this.store.deleteDevices(...args); }
  async recordReportWithin(...args: Args<"recordReportWithin">) { return this.store.recordReportWithin(...args); }
  async latestReported(...args: Args<"latestReported">) { return this.store.latestReported(...args); }
  async pendingControl(...args: Args<"pendingControl">) { return this.store.pendingControl(...args); }
  async addPendingControl(...args: Args<"addPendingControl">) { return this.store.addPendingControl(...args); }
  async settlePendingControl(...args: Args<"settlePendingControl">) { return this.store.settlePendingControl(...args); }
  async recordDeviceInfo(...args: Args<"recordDeviceInfo">) { return this.store.recordDeviceInfo(...args); }
  async deviceInfo(...args: Args<"deviceInfo">) { return this.store.deviceInfo(...args); }
  async recordAction(...args: Args<"recordAction">) { return this.store.recordAction(...args); }
  async recordActionReply(...args: Args<"recordActionReply">) { return this.store.recordActionReply(...args); }
  async getAction(...args: Args<"getAction">) { return this.store.getAction(...args); }
  async listActions(...args: Args<"listActions">) { return this.store.listActions(...args); }
  async setDataTemplate(...args: Args<"setDataTemplate">) { return this.store.setDataTemplate(...args); }
  async dataTemplate(...args: Args<"dataTemplate">) { return this.store.dataTemplate(...args); }
}
