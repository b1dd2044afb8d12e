/**
 * The PostgreSQL registry's schema as versioned migrations, applied by every platform node at
 * start: in order, each in its own transaction with its row in schema_migrations, under an
 * advisory lock so that nodes starting together apply each migration once. Applied migrations are
 * never edited: a change to the schema is a new one at the end.
 *
 * The tables are the SQLite store's (sqlite-registry.ts, ota/firmware-registry.ts) with the same
 * column names, so both stores share registry-rows.ts. Differences, each for a reason:
 * - times are BIGINT (milliseconds), parsed back to numbers (postgres-registry.ts);
 * - names that lists are ordered by are COLLATE "C": byte order, as SQLite's BINARY collation;
 * - control_messages and action_calls have a `seq` for their insertion order (SQLite's rowid);
 * - products.dynreg_count counts the devices that count against RegisterLimit (dynreg_at set):
 *   a registration claims a place with `UPDATE ... WHERE dynreg_count < limit RETURNING`, one row
 *   locked per product, exact under concurrent registrations from every node; deleting such a
 *   device frees its place (trigger);
 * - reply codes are DOUBLE PRECISION: a device may answer any JSON number, as SQLite keeps it.
 */
import type { PoolClient } from "pg";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: ReadonlyArray<Migration> = [
  {
    version: 1,
    name: "registry: products, devices, nonces, control, data plane, data templates, OTA",
    sql: `
CREATE TABLE products (
  product_id TEXT COLLATE "C" PRIMARY KEY,
  product_secret TEXT NOT NULL,
  dynamic_registration INTEGER NOT NULL,
  auto_create INTEGER NOT NULL,
  auth_type TEXT NOT NULL CHECK (auth_type IN ('psk','cert')),
  region TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  product_name TEXT COLLATE "C",
  studio TEXT,
  register_limit INTEGER NOT NULL DEFAULT 0,
  updated_at BIGINT,
  dynreg_count INTEGER NOT NULL DEFAULT 0 CHECK (dynreg_count >= 0)
);
CREATE UNIQUE INDEX products_by_name ON products(product_name) WHERE product_name IS NOT NULL;
CREATE TABLE devices (
  product_id TEXT COLLATE "C" NOT NULL REFERENCES products(product_id) ON DELETE CASCADE,
  device_name TEXT COLLATE "C" NOT NULL,
  client_id TEXT NOT NULL UNIQUE,
  psk TEXT, cert_pem TEXT, key_pem TEXT,
  auto_created INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  registered_at BIGINT,
  activated_at BIGINT,
  enabled INTEGER NOT NULL DEFAULT 1,
  dynreg_at BIGINT,
  PRIMARY KEY (product_id, device_name)
);
CREATE FUNCTION devices_free_registration() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE products SET dynreg_count = dynreg_count - 1 WHERE product_id = OLD.product_id;
  RETURN NULL;
END $$;
CREATE TRIGGER devices_free_registration AFTER DELETE ON devices
  FOR EACH ROW WHEN (OLD.dynreg_at IS NOT NULL) EXECUTE FUNCTION devices_free_registration();
CREATE TABLE nonces (
  nonce_key TEXT PRIMARY KEY,
  expires_at BIGINT NOT NULL
);
CREATE INDEX nonces_by_expiry ON nonces(expires_at);
CREATE TABLE control_messages (
  seq BIGSERIAL,
  client_token TEXT PRIMARY KEY,
  product_id TEXT COLLATE "C" NOT NULL,
  device_name TEXT COLLATE "C" NOT NULL,
  params TEXT NOT NULL,
  sent_at BIGINT NOT NULL,
  reply_code DOUBLE PRECISION, reply_status TEXT, replied_at BIGINT,
  FOREIGN KEY (product_id, device_name) REFERENCES devices(product_id, device_name) ON DELETE CASCADE
);
CREATE INDEX control_messages_by_device ON control_messages(product_id, device_name, sent_at, seq);
CREATE TABLE reported_properties (
  product_id TEXT COLLATE "C" NOT NULL,
  device_name TEXT COLLATE "C" NOT NULL,
  name TEXT COLLATE "C" NOT NULL,
  value TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  device_timestamp BIGINT,
  PRIMARY KEY (product_id, device_name, name),
  FOREIGN KEY (product_id, device_name) REFERENCES devices(product_id, device_name) ON DELETE CASCADE
);
CREATE TABLE pending_controls (
  product_id TEXT COLLATE "C" NOT NULL,
  device_name TEXT COLLATE "C" NOT NULL,
  params TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (product_id, device_name),
  FOREIGN KEY (product_id, device_name) REFERENCES devices(product_id, device_name) ON DELETE CASCADE
);
CREATE TABLE device_info_reports (
  product_id TEXT COLLATE "C" NOT NULL,
  device_name TEXT COLLATE "C" NOT NULL,
  info TEXT NOT NULL,
  reported_at BIGINT NOT NULL,
  PRIMARY KEY (product_id, device_name),
  FOREIGN KEY (product_id, device_name) REFERENCES devices(product_id, device_name) ON DELETE CASCADE
);
CREATE TABLE action_calls (
  seq BIGSERIAL,
  client_token TEXT PRIMARY KEY,
  product_id TEXT COLLATE "C" NOT NULL,
  device_name TEXT COLLATE "C" NOT NULL,
  action_id TEXT NOT NULL,
  params TEXT NOT NULL,
  sent_at BIGINT NOT NULL,
  reply_code DOUBLE PRECISION, reply_status TEXT, response TEXT, replied_at BIGINT,
  FOREIGN KEY (product_id, device_name) REFERENCES devices(product_id, device_name) ON DELETE CASCADE
);
CREATE INDEX action_calls_by_device ON action_calls(product_id, device_name, sent_at, seq);
CREATE TABLE product_templates (
  product_id TEXT COLLATE "C" PRIMARY KEY REFERENCES products(product_id) ON DELETE CASCADE,
  template TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE ota_objects (
  product_id TEXT COLLATE "C" NOT NULL REFERENCES products(product_id) ON DELETE CASCADE,
  version TEXT COLLATE "C" NOT NULL,
  bytes BYTEA NOT NULL,
  md5 TEXT NOT NULL,
  uploaded_at BIGINT NOT NULL,
  PRIMARY KEY (product_id, version)
);
CREATE TABLE firmwares (
  product_id TEXT COLLATE "C" NOT NULL REFERENCES products(product_id) ON DELETE CASCADE,
  version TEXT COLLATE "C" NOT NULL,
  name TEXT NOT NULL, description TEXT NOT NULL,
  md5 TEXT NOT NULL, file_size BIGINT NOT NULL,
  fw_type TEXT NOT NULL, user_defined TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (product_id, version)
);
CREATE TABLE firmware_tasks (
  task_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  product_id TEXT COLLATE "C" NOT NULL REFERENCES products(product_id) ON DELETE CASCADE,
  version TEXT COLLATE "C" NOT NULL,
  settings TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE device_updates (
  task_id BIGINT NOT NULL REFERENCES firmware_tasks(task_id) ON DELETE CASCADE,
  product_id TEXT COLLATE "C" NOT NULL,
  device_name TEXT COLLATE "C" NOT NULL,
  ori_version TEXT NOT NULL, dst_version TEXT COLLATE "C" NOT NULL,
  status INTEGER NOT NULL, percent INTEGER NOT NULL,
  retcode BIGINT NOT NULL, err_msg TEXT NOT NULL,
  not_before BIGINT NOT NULL, sent_at BIGINT, updated_at BIGINT NOT NULL,
  PRIMARY KEY (task_id, device_name),
  FOREIGN KEY (product_id, device_name) REFERENCES devices(product_id, device_name) ON DELETE CASCADE
);
CREATE INDEX device_updates_by_device ON device_updates(product_id, device_name, task_id);
CREATE INDEX device_updates_by_version ON device_updates(product_id, dst_version);
CREATE TABLE reported_versions (
  product_id TEXT COLLATE "C" NOT NULL,
  device_name TEXT COLLATE "C" NOT NULL,
  version TEXT NOT NULL,
  reported_at BIGINT NOT NULL,
  PRIMARY KEY (product_id, device_name),
  FOREIGN KEY (product_id, device_name) REFERENCES devices(product_id, device_name) ON DELETE CASCADE
);
`,
  },
];

/** Any fixed number: the advisory lock every node takes while it migrates. */
const MIGRATION_LOCK = 0x65787873; // "exxs"

export class SchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SchemaError";
  }
}

/**
 * Applies the migrations this database lacks; returns their versions. Idempotent: a node that
 * finds every migration applied changes nothing. Refuses a database migrated by a newer platform.
 */
export async function migrate(client: PoolClient, migrations: ReadonlyArray<Migration> = MIGRATIONS): Promise<number[]> {
  await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
    const applied = new Set((await client.query<{ version: number }>("SELECT version FROM schema_migrations")).rows.map((row) => row.version));
    const newest = Math.max(0, ...migrations.map((migration) => migration.version));
    const unknown = [...applied].filter((version) => version > newest);
    if (unknown.length > 0) {
      throw new SchemaError(`the database's schema is at version ${Math.max(...unknown)}, newer than this platform's ${newest}: update the platform`);
    }
    const done: number[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      await client.query("BEGIN");
      try {
        await client.query(migration.sql);
        await client.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [migration.version, migration.name]);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw error;
      }
      done.push(migration.version);
    }
    return done;
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]);
  }
}
