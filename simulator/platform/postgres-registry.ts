/**
 * The registry in PostgreSQL (`pg`, a Pool): one database shared by platform nodes (issue 21).
 * The schema is created and migrated at open (postgres-schema.ts). Each method is one statement
 * or one transaction; nothing is cached between calls except the device keys (device-keys.ts),
 * since another node may change any row. Errors are the SQLite store's RegistryErrors, with the
 * same messages.
 *
 * Registration nonces are rows here too, so a nonce is refused on every node once used.
 */
import pg from "pg";
import type { ReportedEntries } from "./data-bounds";
import { DeviceKeys } from "./device-keys";
import {
  toFirmware, toUpdate, type DeviceUpdate, type Firmware, type FirmwareRow, type FirmwareStore, type FirmwareTask, type NewTask,
  type StoredObject, type TaskDevice, type UpdateRow, type UpdateStatus,
} from "./ota/firmware-registry";
import { migrate } from "./postgres-schema";
import {
  checkNewProduct, RegistryError, validateDeviceName,
  type ActionCall, type ControlMessage, type Device, type DeviceCredentials, type DeviceInfoReport, type NewProduct, type Product,
  type Registry, type ReportBound, type ReportedProperty, type StoredTemplate,
} from "./registry";
import { toAction, toControl, toDevice, toProduct, type ActionRow, type ControlRow, type DeviceRow, type ProductRow } from "./registry-rows";

type Queryable = pg.Pool | pg.PoolClient;

/** BIGINT (times, counts) as numbers: every value the registry keeps is below 2^53. */
const TYPES = {
  getTypeParser: ((oid: number, format?: string) => (oid === pg.types.builtins.INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as "text"))) as typeof pg.types.getTypeParser,
};

/** The server refused or could not be reached; the message never holds the URL's password. */
export class PostgresConnectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PostgresConnectError";
  }
}

export interface PostgresRegistryOptions {
  /** postgres://user:password@host:port/database (libpq's URL form). */
  url: string;
  /** Connections in the pool; default 10. */
  poolSize?: number;
  /** Give up connecting after this long; default 10 s. */
  connectTimeoutMs?: number;
}

/** Where a URL points, without its password: for error messages and logs. */
export function describePostgresUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PostgresConnectError("the PostgreSQL URL is not a URL: use postgres://user:password@host:port/database");
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new PostgresConnectError(`the PostgreSQL URL must start with postgres:// or postgresql://, not ${parsed.protocol.slice(0, 20)}//`);
  }
  const user = parsed.username ? `${decodeURIComponent(parsed.username)}@` : "";
  return `postgres://${user}${parsed.host}${parsed.pathname}`;
}

/** SQLSTATE of a pg error. */
function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

function constraintOf(error: unknown): string | undefined {
  return (error as { constraint?: string }).constraint;
}

async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Rolls a transaction back from inside `work` with a value instead of an error. */
class RollBack<T> {
  constructor(readonly value: T) {}
}

async function transactionOr<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T | RollBack<T>>): Promise<T> {
  try {
    const result = await inTransaction(pool, async (client) => {
      const value = await work(client);
      if (value instanceof RollBack) throw value;
      return value;
    });
    return result;
  } catch (error) {
    if (error instanceof RollBack) return error.value as T;
    throw error;
  }
}

export class PostgresRegistry implements Registry {
  readonly deviceKeys = new DeviceKeys();
  readonly firmware: FirmwareStore;
  private closed = false;

  private constructor(private readonly pool: pg.Pool) {
    this.firmware = new PostgresFirmware(pool);
  }

  /** Connects, migrates the schema, and loads the device keys. */
  static async open(options: PostgresRegistryOptions): Promise<PostgresRegistry> {
    const where = describePostgresUrl(options.url);
    const pool = new pg.Pool({
      connectionString: options.url, max: options.poolSize ?? 10, types: TYPES,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    });
    // An idle connection the server drops is only removed from the pool.
    pool.on("error", () => undefined);
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      await pool.end().catch(() => undefined);
      // pg's messages name the host, the user and the database, never the password.
      const reason = error instanceof Error ? error.message : String(error);
      throw new PostgresConnectError(`cannot connect to PostgreSQL at ${where}: ${reason.slice(0, 300)}`);
    }
    try {
      await migrate(client);
    } catch (error) {
      client.release();
      await pool.end().catch(() => undefined);
      throw error;
    }
    client.release();
    const registry = new PostgresRegistry(pool);
    const keys = await pool.query<{ product_id: string; device_name: string; psk: string | null }>("SELECT product_id, device_name, psk FROM devices");
    registry.deviceKeys.load(keys.rows.map((row) => ({ productId: row.product_id, deviceName: row.device_name, psk: row.psk ?? undefined })));
    return registry;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  // ---- products ----

  async createProduct(input: NewProduct, now = Date.now()): Promise<Product> {
    const checked = checkNewProduct(input);
    const { productId, productName } = checked;
    if (await this.getProduct(productId)) throw new RegistryError("exists", `product ${productId} already exists`);
    if (await this.getProductByName(productName)) throw new RegistryError("exists", `product name ${productName} is already taken`);
    try {
      const { rows } = await this.pool.query<ProductRow>(`INSERT INTO products (product_id, product_secret, dynamic_registration, auto_create, auth_type, region,
        created_at, product_name, studio, register_limit, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $7) RETURNING *`, [
        productId, checked.productSecret, checked.dynamicRegistration ? 1 : 0, checked.autoCreate ? 1 : 0, checked.authType, checked.region,
        now, productName, checked.studio === undefined ? null : JSON.stringify(checked.studio), checked.registerLimit,
      ]);
      return toProduct(rows[0]);
    } catch (error) {
      // Another node created one between the checks and the insert.
      if (sqlState(error) !== "23505") throw error;
      if (constraintOf(error) === "products_by_name") throw new RegistryError("exists", `product name ${productName} is already taken`);
      throw new RegistryError("exists", `product ${productId} already exists`);
    }
  }

  async getProduct(productId: string): Promise<Product | undefined> {
    const { rows } = await this.pool.query<ProductRow>("SELECT * FROM products WHERE product_id = $1", [productId]);
    return rows[0] && toProduct(rows[0]);
  }

  async listProducts(): Promise<Product[]> {
    return (await this.pool.query<ProductRow>("SELECT * FROM products ORDER BY product_id")).rows.map(toProduct);
  }

  async deleteProduct(productId: string): Promise<boolean> {
    const deleted = (await this.pool.query("DELETE FROM products WHERE product_id = $1", [productId])).rowCount === 1;
    this.deviceKeys.removeProduct(productId);
    return deleted;
  }

  // ---- devices ----

  private async insertDevice(db: Queryable, productId: string, deviceName: string, autoCreated: boolean, now: number): Promise<void> {
    validateDeviceName(deviceName);
    try {
      await db.query("INSERT INTO devices (product_id, device_name, client_id, auto_created, created_at) VALUES ($1, $2, $3, $4, $5)",
        [productId, deviceName, productId + deviceName, autoCreated ? 1 : 0, now]);
    } catch (error) {
      const state = sqlState(error);
      if (state === "23503") throw new RegistryError("not-found", `product ${productId} does not exist`);
      if (state !== "23505") throw error;
      if (constraintOf(error) === "devices_pkey") throw new RegistryError("exists", `device ${productId}/${deviceName} already exists`);
      // Another product's pid+name concatenation can collide with this one's client id.
      throw new RegistryError("exists", `client id ${productId}${deviceName} is already taken by another device`);
    }
  }

  async createDevice(productId: string, deviceName: string, options: { autoCreated?: boolean; now?: number } = {}): Promise<Device> {
    validateDeviceName(deviceName);
    if (!await this.getProduct(productId)) throw new RegistryError("not-found", `product ${productId} does not exist`);
    await this.insertDevice(this.pool, productId, deviceName, options.autoCreated === true, options.now ?? Date.now());
    this.deviceKeys.put({ productId, deviceName });
    return (await this.getDevice(productId, deviceName))!;
  }

  async getDevice(productId: string, deviceName: string): Promise<Device | undefined> {
    const { rows } = await this.pool.query<DeviceRow>("SELECT * FROM devices WHERE product_id = $1 AND device_name = $2", [productId, deviceName]);
    return rows[0] && toDevice(rows[0]);
  }

  async getDeviceByClientId(clientId: string): Promise<Device | undefined> {
    const { rows } = await this.pool.query<DeviceRow>("SELECT * FROM devices WHERE client_id = $1", [clientId]);
    return rows[0] && toDevice(rows[0]);
  }

  async listDevices(productId: string): Promise<Device[]> {
    return (await this.pool.query<DeviceRow>("SELECT * FROM devices WHERE product_id = $1 ORDER BY device_name", [productId])).rows.map(toDevice);
  }

  async deleteDevice(productId: string, deviceName: string): Promise<boolean> {
    const deleted = (await this.pool.query("DELETE FROM devices WHERE product_id = $1 AND device_name = $2", [productId, deviceName])).rowCount === 1;
    if (deleted) this.deviceKeys.remove(productId, deviceName);
    return deleted;
  }

  async setCredentials(productId: string, deviceName: string, credentials: DeviceCredentials, now = Date.now()): Promise<boolean> {
    const { rowCount } = await this.pool.query(`UPDATE devices SET psk = $1, cert_pem = $2, key_pem = $3, registered_at = $4
      WHERE product_id = $5 AND device_name = $6 AND psk IS NULL AND cert_pem IS NULL`,
    [credentials.psk ?? null, credentials.certPem ?? null, credentials.keyPem ?? null, now, productId, deviceName]);
    if (rowCount === 1) this.deviceKeys.put({ productId, deviceName, psk: credentials.psk });
    return rowCount === 1;
  }

  async markActivated(productId: string, deviceName: string, now = Date.now()): Promise<boolean> {
    const { rowCount } = await this.pool.query(`UPDATE devices SET activated_at = $1 WHERE product_id = $2 AND device_name = $3
      AND activated_at IS NULL AND (psk IS NOT NULL OR cert_pem IS NOT NULL)`, [now, productId, deviceName]);
    return rowCount === 1;
  }

  // ---- registration nonces ----

  async rememberNonce(key: string, expiresAtSeconds: number, nowSeconds: number): Promise<boolean> {
    // Accepted only when unseen or when the earlier use has expired (docs/PROTOCOL.md §2 replay window).
    const { rowCount } = await this.pool.query(`INSERT INTO nonces (nonce_key, expires_at) VALUES ($1, $2)
      ON CONFLICT (nonce_key) DO UPDATE SET expires_at = excluded.expires_at WHERE nonces.expires_at <= $3`, [key, expiresAtSeconds, nowSeconds]);
    return rowCount === 1;
  }

  async pruneNonces(nowSeconds: number): Promise<number> {
    return (await this.pool.query("DELETE FROM nonces WHERE expires_at <= $1", [nowSeconds])).rowCount ?? 0;
  }

  // ---- control messages ----

  async recordControl(message: Omit<ControlMessage, "reply">): Promise<void> {
    await this.pool.query("INSERT INTO control_messages (client_token, product_id, device_name, params, sent_at) VALUES ($1, $2, $3, $4, $5)",
      [message.clientToken, message.productId, message.deviceName, JSON.stringify(message.params), message.sentAt]);
  }

  async recordControlReply(productId: string, deviceName: string, clientToken: string, code: number, status: string, now = Date.now()): Promise<boolean> {
    const { rowCount } = await this.pool.query(`UPDATE control_messages SET reply_code = $1, reply_status = $2, replied_at = $3
      WHERE client_token = $4 AND product_id = $5 AND device_name = $6 AND replied_at IS NULL`, [code, status, now, clientToken, productId, deviceName]);
    return rowCount === 1;
  }

  async getControl(clientToken: string): Promise<ControlMessage | undefined> {
    const { rows } = await this.pool.query<ControlRow>("SELECT * FROM control_messages WHERE client_token = $1", [clientToken]);
    return rows[0] && toControl(rows[0]);
  }

  async listControls(productId: string, deviceName: string): Promise<ControlMessage[]> {
    return (await this.pool.query<ControlRow>("SELECT * FROM control_messages WHERE product_id = $1 AND device_name = $2 ORDER BY sent_at, seq",
      [productId, deviceName])).rows.map(toControl);
  }

  // ---- Cloud API management (issue 15) ----

  async getProductByName(productName: string): Promise<Product | undefined> {
    const { rows } = await this.pool.query<ProductRow>("SELECT * FROM products WHERE product_name = $1", [productName]);
    return rows[0] && toProduct(rows[0]);
  }

  async countDevices(productId: string, nameContains?: string): Promise<number> {
    const { rows } = nameContains
      ? await this.pool.query<{ n: number }>("SELECT COUNT(*) AS n FROM devices WHERE product_id = $1 AND strpos(device_name, $2) > 0", [productId, nameContains])
      : await this.pool.query<{ n: number }>("SELECT COUNT(*) AS n FROM devices WHERE product_id = $1", [productId]);
    return rows[0].n;
  }

  async pageDevices(productId: string, offset: number, limit: number, nameContains?: string): Promise<Device[]> {
    // LIMIT ALL for "every device": PostgreSQL's LIMIT is a BIGINT, which MAX_SAFE_INTEGER fits.
    const { rows } = nameContains
      ? await this.pool.query<DeviceRow>("SELECT * FROM devices WHERE product_id = $1 AND strpos(device_name, $2) > 0 ORDER BY device_name LIMIT $3 OFFSET $4",
        [productId, nameContains, limit, offset])
      : await this.pool.query<DeviceRow>("SELECT * FROM devices WHERE product_id = $1 ORDER BY device_name LIMIT $2 OFFSET $3", [productId, limit, offset]);
    return rows.map(toDevice);
  }

  async setDynamicRegistration(productId: string, registerType: 0 | 1 | 2, registerLimit: number, now = Date.now()): Promise<Product> {
    if (!await this.getProduct(productId)) throw new RegistryError("not-found", `product ${productId} does not exist`);
    if (!Number.isSafeInteger(registerLimit) || registerLimit < 0) throw new RegistryError("invalid", "registerLimit must be a whole number of at least 0");
    return inTransaction(this.pool, async (client) => {
      // The product's row lock orders this against registrations claiming a place.
      const { rows } = await client.query<ProductRow>(`UPDATE products SET dynamic_registration = $1, auto_create = $2, register_limit = $3, updated_at = $4
        WHERE product_id = $5 RETURNING *`, [registerType === 0 ? 0 : 1, registerType === 2 ? 1 : 0, registerLimit, now, productId]);
      if (rows.length === 0) throw new RegistryError("not-found", `product ${productId} does not exist`);
      if (registerLimit === 0) return toProduct(rows[0]);
      // A limit set on a product counts the devices registered before it.
      await client.query("UPDATE devices SET dynreg_at = registered_at WHERE product_id = $1 AND dynreg_at IS NULL AND registered_at IS NOT NULL", [productId]);
      const counted = await client.query<ProductRow>(`UPDATE products SET dynreg_count = (SELECT COUNT(*) FROM devices WHERE product_id = $1 AND dynreg_at IS NOT NULL)
        WHERE product_id = $1 RETURNING *`, [productId]);
      return toProduct(counted.rows[0]);
    });
  }

  async createDeviceWithCredentials(productId: string, deviceName: string, credentials: DeviceCredentials, now = Date.now()): Promise<Device> {
    validateDeviceName(deviceName);
    if (!await this.getProduct(productId)) throw new RegistryError("not-found", `product ${productId} does not exist`);
    const device = await inTransaction(this.pool, async (client) => {
      await this.insertDevice(client, productId, deviceName, false, now);
      const { rows } = await client.query<DeviceRow>("UPDATE devices SET psk = $1, cert_pem = $2, key_pem = $3 WHERE product_id = $4 AND device_name = $5 RETURNING *",
        [credentials.psk ?? null, credentials.certPem ?? null, credentials.keyPem ?? null, productId, deviceName]);
      return toDevice(rows[0]);
    });
    this.deviceKeys.put({ productId, deviceName, psk: credentials.psk });
    return device;
  }

  async markRegistered(productId: string, deviceName: string, now = Date.now()): Promise<boolean> {
    const { rowCount } = await this.pool.query(`UPDATE devices SET registered_at = $1 WHERE product_id = $2 AND device_name = $3
      AND registered_at IS NULL AND (psk IS NOT NULL OR cert_pem IS NOT NULL)`, [now, productId, deviceName]);
    return rowCount === 1;
  }

  /**
   * Takes a place under the product's counter row (`... WHERE dynreg_count < limit RETURNING`),
   * then marks the device; both or neither. Concurrent claims of one product queue on that row,
   * so the count never passes the limit, whichever node they come from.
   */
  async claimDynamicRegistration(device: Pick<Device, "productId" | "deviceName" | "dynamicRegisteredAt">, registerLimit: number, now = Date.now()): Promise<boolean> {
    if (device.dynamicRegisteredAt !== undefined || registerLimit <= 0) return true;
    const { productId, deviceName } = device;
    return transactionOr(this.pool, async (client) => {
      const place = await client.query("UPDATE products SET dynreg_count = dynreg_count + 1 WHERE product_id = $1 AND dynreg_count < $2 RETURNING dynreg_count",
        [productId, registerLimit]);
      if (place.rowCount !== 1) return new RollBack(false);
      const marked = await client.query("UPDATE devices SET dynreg_at = $1 WHERE product_id = $2 AND device_name = $3 AND dynreg_at IS NULL", [now, productId, deviceName]);
      return marked.rowCount === 1 ? true : new RollBack(false);
    });
  }

  async dynamicRegistrationCount(productId: string, atMost = Number.MAX_SAFE_INTEGER): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>("SELECT LEAST(dynreg_count::bigint, $2::bigint) AS n FROM products WHERE product_id = $1", [productId, atMost]);
    return rows[0]?.n ?? 0;
  }

  async setDevicesEnabled(devices: ReadonlyArray<{ productId: string; deviceName: string }>, enabled: boolean): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      for (const { productId, deviceName } of devices) {
        const { rowCount } = await client.query("UPDATE devices SET enabled = $1 WHERE product_id = $2 AND device_name = $3", [enabled ? 1 : 0, productId, deviceName]);
        if (rowCount !== 1) throw new RegistryError("not-found", `device ${productId}/${deviceName} does not exist`);
      }
    });
  }

  async deleteDevices(devices: ReadonlyArray<{ productId: string; deviceName: string }>): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      for (const { productId, deviceName } of devices) {
        const { rowCount } = await client.query("DELETE FROM devices WHERE product_id = $1 AND device_name = $2", [productId, deviceName]);
        if (rowCount !== 1) throw new RegistryError("not-found", `device ${productId}/${deviceName} does not exist`);
      }
    });
    for (const { productId, deviceName } of devices) this.deviceKeys.remove(productId, deviceName);
  }

  // ---- data plane (issue 14: docs/PROTOCOL.md §8) ----

  async recordReportWithin(productId: string, deviceName: string, entries: ReportedEntries, now: number, deviceTimestamp: number | undefined, bound: ReportBound): Promise<string | undefined> {
    const names = [...entries].map(([name]) => name);
    const values = [...entries].map(([, json]) => json);
    return transactionOr<string | undefined>(this.pool, async (client) => {
      await client.query(`INSERT INTO reported_properties (product_id, device_name, name, value, updated_at, device_timestamp)
        SELECT $1, $2, entry.name, entry.value, $5, $6 FROM unnest($3::text[], $4::text[]) AS entry(name, value)
        ON CONFLICT (product_id, device_name, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, device_timestamp = excluded.device_timestamp`,
      [productId, deviceName, names, values, now, deviceTimestamp ?? null]);
      // Bytes, not characters, as in SQLite.
      const { rows } = await client.query<{ properties: number; bytes: number }>(`SELECT COUNT(*) AS properties,
        COALESCE(SUM(octet_length(name) + octet_length(value)), 0)::bigint AS bytes FROM reported_properties WHERE product_id = $1 AND device_name = $2`,
      [productId, deviceName]);
      const reason = bound(rows[0]);
      return reason === undefined ? undefined : new RollBack(reason);
    });
  }

  async latestReported(productId: string, deviceName: string): Promise<Record<string, ReportedProperty>> {
    const { rows } = await this.pool.query<{ name: string; value: string; updated_at: number; device_timestamp: number | null }>(
      "SELECT name, value, updated_at, device_timestamp FROM reported_properties WHERE product_id = $1 AND device_name = $2 ORDER BY name", [productId, deviceName]);
    // fromEntries defines each name as an own property: an assignment would take "__proto__" as the prototype.
    return Object.fromEntries(rows.map((row) => [row.name, {
      value: JSON.parse(row.value), updatedAt: row.updated_at, ...(row.device_timestamp !== null ? { deviceTimestamp: row.device_timestamp } : {}),
    } satisfies ReportedProperty]));
  }

  async pendingControl(productId: string, deviceName: string): Promise<Record<string, unknown> | undefined> {
    const { rows } = await this.pool.query<{ params: string }>("SELECT params FROM pending_controls WHERE product_id = $1 AND device_name = $2", [productId, deviceName]);
    return rows[0] && (JSON.parse(rows[0].params) as Record<string, unknown>);
  }

  /** Locks the device's row: read-merge-writes of its pending control from several nodes take turns. */
  private async lockDevice(client: pg.PoolClient, productId: string, deviceName: string): Promise<boolean> {
    return (await client.query("SELECT 1 FROM devices WHERE product_id = $1 AND device_name = $2 FOR UPDATE", [productId, deviceName])).rowCount === 1;
  }

  async addPendingControl(productId: string, deviceName: string, params: Record<string, unknown>, now: number): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await this.lockDevice(client, productId, deviceName);
      const { rows } = await client.query<{ params: string }>("SELECT params FROM pending_controls WHERE product_id = $1 AND device_name = $2", [productId, deviceName]);
      const merged = { ...(rows[0] && (JSON.parse(rows[0].params) as Record<string, unknown>)), ...params };
      await client.query(`INSERT INTO pending_controls VALUES ($1, $2, $3, $4)
        ON CONFLICT (product_id, device_name) DO UPDATE SET params = excluded.params, updated_at = excluded.updated_at`, [productId, deviceName, JSON.stringify(merged), now]);
    });
  }

  async settlePendingControl(productId: string, deviceName: string, acknowledged: Record<string, unknown> | undefined, now: number): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await this.lockDevice(client, productId, deviceName);
      const { rows } = await client.query<{ params: string }>("SELECT params FROM pending_controls WHERE product_id = $1 AND device_name = $2", [productId, deviceName]);
      if (rows.length === 0) return;
      const remove = () => client.query("DELETE FROM pending_controls WHERE product_id = $1 AND device_name = $2", [productId, deviceName]);
      if (acknowledged === undefined) {
        await remove();
        return;
      }
      const pending = JSON.parse(rows[0].params) as Record<string, unknown>;
      for (const [name, value] of Object.entries(acknowledged)) {
        if (name in pending && JSON.stringify(pending[name]) === JSON.stringify(value)) delete pending[name];
      }
      if (Object.keys(pending).length === 0) await remove();
      else await client.query("UPDATE pending_controls SET params = $3, updated_at = $4 WHERE product_id = $1 AND device_name = $2", [productId, deviceName, JSON.stringify(pending), now]);
    });
  }

  async recordDeviceInfo(productId: string, deviceName: string, info: Record<string, unknown>, now: number): Promise<void> {
    await this.pool.query(`INSERT INTO device_info_reports VALUES ($1, $2, $3, $4)
      ON CONFLICT (product_id, device_name) DO UPDATE SET info = excluded.info, reported_at = excluded.reported_at`, [productId, deviceName, JSON.stringify(info), now]);
  }

  async deviceInfo(productId: string, deviceName: string): Promise<DeviceInfoReport | undefined> {
    const { rows } = await this.pool.query<{ info: string; reported_at: number }>("SELECT info, reported_at FROM device_info_reports WHERE product_id = $1 AND device_name = $2",
      [productId, deviceName]);
    return rows[0] && { info: JSON.parse(rows[0].info) as Record<string, unknown>, reportedAt: rows[0].reported_at };
  }

  async recordAction(call: Omit<ActionCall, "reply">): Promise<void> {
    await this.pool.query("INSERT INTO action_calls (client_token, product_id, device_name, action_id, params, sent_at) VALUES ($1, $2, $3, $4, $5, $6)",
      [call.clientToken, call.productId, call.deviceName, call.actionId, JSON.stringify(call.params), call.sentAt]);
  }

  async recordActionReply(productId: string, deviceName: string, clientToken: string, reply: { code: number; status: string; response: Record<string, unknown> }, now: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(`UPDATE action_calls SET reply_code = $1, reply_status = $2, response = $3, replied_at = $4
      WHERE client_token = $5 AND product_id = $6 AND device_name = $7 AND replied_at IS NULL`,
    [reply.code, reply.status, JSON.stringify(reply.response), now, clientToken, productId, deviceName]);
    return rowCount === 1;
  }

  async getAction(clientToken: string): Promise<ActionCall | undefined> {
    const { rows } = await this.pool.query<ActionRow>("SELECT * FROM action_calls WHERE client_token = $1", [clientToken]);
    return rows[0] && toAction(rows[0]);
  }

  async listActions(productId: string, deviceName: string): Promise<ActionCall[]> {
    return (await this.pool.query<ActionRow>("SELECT * FROM action_calls WHERE product_id = $1 AND device_name = $2 ORDER BY sent_at, seq",
      [productId, deviceName])).rows.map(toAction);
  }

  // ---- data templates (issue 24: docs/PROTOCOL.md §13) ----

  async setDataTemplate(productId: string, text: string, now = Date.now()): Promise<StoredTemplate> {
    if (!await this.getProduct(productId)) throw new RegistryError("not-found", `product ${productId} does not exist`);
    try {
      const { rows } = await this.pool.query<{ template: string; created_at: number; updated_at: number }>(`INSERT INTO product_templates VALUES ($1, $2, $3, $3)
        ON CONFLICT (product_id) DO UPDATE SET template = excluded.template, updated_at = excluded.updated_at RETURNING template, created_at, updated_at`, [productId, text, now]);
      return Object.freeze({ text: rows[0].template, createdAt: rows[0].created_at, updatedAt: rows[0].updated_at });
    } catch (error) {
      if (sqlState(error) === "23503") throw new RegistryError("not-found", `product ${productId} does not exist`);
      throw error;
    }
  }

  async dataTemplate(productId: string): Promise<StoredTemplate | undefined> {
    const { rows } = await this.pool.query<{ template: string; created_at: number; updated_at: number }>(
      "SELECT template, created_at, updated_at FROM product_templates WHERE product_id = $1", [productId]);
    return rows[0] && Object.freeze({ text: rows[0].template, createdAt: rows[0].created_at, updatedAt: rows[0].updated_at });
  }
}

/** OTA state in the same database (postgres-schema.ts): the FirmwareStore of ota/firmware-registry.ts. */
class PostgresFirmware implements FirmwareStore {
  constructor(private readonly pool: pg.Pool) {}

  async putObject(productId: string, version: string, bytes: Buffer, md5: string, now: number): Promise<void> {
    await this.pool.query(`INSERT INTO ota_objects VALUES ($1, $2, $3, $4, $5)
      ON CONFLICT (product_id, version) DO UPDATE SET bytes = excluded.bytes, md5 = excluded.md5, uploaded_at = excluded.uploaded_at`, [productId, version, bytes, md5, now]);
  }

  async objectInfo(productId: string, version: string): Promise<StoredObject | undefined> {
    const { rows } = await this.pool.query<{ product_id: string; version: string; size: number; md5: string; uploaded_at: number }>(
      "SELECT product_id, version, octet_length(bytes)::bigint AS size, md5, uploaded_at FROM ota_objects WHERE product_id = $1 AND version = $2", [productId, version]);
    const row = rows[0];
    return row && { productId: row.product_id, version: row.version, size: row.size, md5: row.md5, uploadedAt: row.uploaded_at };
  }

  async readObject(productId: string, version: string, start: number, end: number): Promise<Buffer | undefined> {
    // substring on a bytea counts bytes from 1: only the range leaves the server.
    const { rows } = await this.pool.query<{ part: Buffer }>("SELECT substring(bytes FROM $1 FOR $2) AS part FROM ota_objects WHERE product_id = $3 AND version = $4",
      [start + 1, end - start + 1, productId, version]);
    return rows[0]?.part;
  }

  async addFirmware(firmware: Firmware): Promise<boolean> {
    const { rowCount } = await this.pool.query("INSERT INTO firmwares VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING", [
      firmware.productId, firmware.version, firmware.name, firmware.description, firmware.md5, firmware.fileSize, firmware.fwType, firmware.userDefined, firmware.createdAt,
    ]);
    return rowCount === 1;
  }

  async getFirmware(productId: string, version: string): Promise<Firmware | undefined> {
    const { rows } = await this.pool.query<FirmwareRow>("SELECT * FROM firmwares WHERE product_id = $1 AND version = $2", [productId, version]);
    return rows[0] && toFirmware(rows[0]);
  }

  async listFirmwares(filter: { productId?: string; version?: string }, offset: number, limit: number): Promise<{ total: number; firmwares: Firmware[] }> {
    const where = "($1::text IS NULL OR product_id = $1) AND ($2::text IS NULL OR version = $2)";
    const args = [filter.productId ?? null, filter.version ?? null];
    const total = (await this.pool.query<{ n: number }>(`SELECT COUNT(*) AS n FROM firmwares WHERE ${where}`, args)).rows[0].n;
    const { rows } = await this.pool.query<FirmwareRow>(`SELECT * FROM firmwares WHERE ${where} ORDER BY created_at DESC, product_id, version LIMIT $3 OFFSET $4`,
      [...args, limit, offset]);
    return { total, firmwares: rows.map(toFirmware) };
  }

  async createTask(task: NewTask, devices: ReadonlyArray<TaskDevice>, now: number): Promise<FirmwareTask> {
    return inTransaction(this.pool, async (client) => {
      const { productId, version, createdAt, ...settings } = task;
      const { rows } = await client.query<{ task_id: number }>("INSERT INTO firmware_tasks (product_id, version, settings, created_at) VALUES ($1, $2, $3, $4) RETURNING task_id",
        [productId, version, JSON.stringify(settings), createdAt]);
      const taskId = rows[0].task_id;
      await client.query(`INSERT INTO device_updates SELECT $1, $2, device.name, device.ori, $3, 1, 0, 0, '', device.not_before, NULL, $4
        FROM unnest($5::text[], $6::text[], $7::bigint[]) AS device(name, ori, not_before)`,
      [taskId, productId, version, now, devices.map((device) => device.deviceName), devices.map((device) => device.oriVersion), devices.map((device) => device.notBefore)]);
      return { ...task, taskId };
    });
  }

  async getTask(taskId: number): Promise<FirmwareTask | undefined> {
    if (!Number.isSafeInteger(taskId)) return undefined;
    const { rows } = await this.pool.query<{ task_id: number; product_id: string; version: string; settings: string; created_at: number }>(
      "SELECT * FROM firmware_tasks WHERE task_id = $1", [taskId]);
    const row = rows[0];
    if (!row) return undefined;
    const settings = JSON.parse(row.settings) as Omit<FirmwareTask, "taskId" | "productId" | "version" | "createdAt">;
    return { ...settings, taskId: row.task_id, productId: row.product_id, version: row.version, createdAt: row.created_at };
  }

  async latestUpdate(productId: string, deviceName: string): Promise<DeviceUpdate | undefined> {
    const { rows } = await this.pool.query<UpdateRow>("SELECT * FROM device_updates WHERE product_id = $1 AND device_name = $2 ORDER BY task_id DESC LIMIT 1",
      [productId, deviceName]);
    return rows[0] && toUpdate(rows[0]);
  }

  async taskUpdates(taskId: number): Promise<DeviceUpdate[]> {
    return (await this.pool.query<UpdateRow>("SELECT * FROM device_updates WHERE task_id = $1 ORDER BY device_name", [taskId])).rows.map(toUpdate);
  }

  async updatesToVersion(productId: string, version: string): Promise<DeviceUpdate[]> {
    return (await this.pool.query<UpdateRow>("SELECT * FROM device_updates WHERE product_id = $1 AND dst_version = $2 ORDER BY task_id, device_name",
      [productId, version])).rows.map(toUpdate);
  }

  async setStatus(update: Pick<DeviceUpdate, "taskId" | "deviceName">, status: UpdateStatus, percent: number, now: number, retcode = 0, errMsg = ""): Promise<void> {
    await this.pool.query("UPDATE device_updates SET status = $1, percent = $2, retcode = $3, err_msg = $4, updated_at = $5 WHERE task_id = $6 AND device_name = $7",
      [status, percent, retcode, errMsg, now, update.taskId, update.deviceName]);
  }

  async markSent(update: Pick<DeviceUpdate, "taskId" | "deviceName">, now: number): Promise<void> {
    await this.pool.query("UPDATE device_updates SET status = 2, sent_at = $1, updated_at = $1 WHERE task_id = $2 AND device_name = $3", [now, update.taskId, update.deviceName]);
  }

  async recordVersion(productId: string, deviceName: string, version: string, now: number): Promise<void> {
    await this.pool.query(`INSERT INTO reported_versions VALUES ($1, $2, $3, $4)
      ON CONFLICT (product_id, device_name) DO UPDATE SET version = excluded.version, reported_at = excluded.reported_at`, [productId, deviceName, version, now]);
  }

  async reportedVersion(productId: string, deviceName: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ version: string }>("SELECT version FROM reported_versions WHERE product_id = $1 AND device_name = $2", [productId, deviceName]);
    return rows[0]?.version;
  }

  async devicesOnVersion(productId: string, version: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ device_name: string }>("SELECT device_name FROM reported_versions WHERE product_id = $1 AND version = $2 ORDER BY device_name",
      [productId, version]);
    return rows.map((row) => row.device_name);
  }
}
