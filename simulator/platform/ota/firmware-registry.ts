/**
 * The OTA part of the platform's state (docs/PROTOCOL.md §14): uploaded objects, firmware
 * versions, update tasks and each device's update with its status. `FirmwareStore` is what the
 * platform uses; `SqliteFirmware` keeps it in the registry's SQLite database, in tables of their
 * own, created if missing, so data folders made before OTA open unchanged. Its methods are
 * synchronous inside (each atomic with respect to the event loop) and handed out as promises.
 */
import type Database from "better-sqlite3";

/**
 * DescribeFirmwareUpdateStatus's codes (the SDK's iotexplorer_models.d.ts): 1 pending, 2 sent,
 * 3 downloading, 4 burning, 5 failed, 6 done, 10 timed out, 20 downloaded.
 */
export const UPDATE_STATUS = {
  pending: 1, sent: 2, downloading: 3, burning: 4, failed: 5, done: 6, timedOut: 10, downloaded: 20,
} as const;
export type UpdateStatus = (typeof UPDATE_STATUS)[keyof typeof UPDATE_STATUS];

/** An update still under way: a new task for the device waits, a report may still move it. */
export function isActive(status: number): boolean {
  return status !== UPDATE_STATUS.failed && status !== UPDATE_STATUS.done && status !== UPDATE_STATUS.timedOut;
}

export interface StoredObject {
  productId: string;
  version: string;
  size: number;
  md5: string;
  uploadedAt: number;
}

export interface Firmware {
  productId: string;
  version: string;
  name: string;
  description: string;
  md5: string;
  fileSize: number;
  fwType: string;
  userDefined: string;
  createdAt: number;
}

export interface FirmwareTask {
  taskId: number;
  productId: string;
  version: string;
  /** originalVersion, devicenames or single (UpdateFirmware; the mock's own name). */
  upgradeMode: string;
  originalVersion: string;
  upgradeMethod: number;
  timeoutSeconds: number;
  rateLimit: number;
  delaySeconds: number;
  overrideMode: number;
  maxRetry: number;
  retryIntervalMinutes: number;
  userDefine: string;
  fwType: string;
  createdAt: number;
}

export interface DeviceUpdate {
  taskId: number;
  productId: string;
  deviceName: string;
  oriVersion: string;
  dstVersion: string;
  status: UpdateStatus;
  percent: number;
  retcode: number;
  errMsg: string;
  /** When the update may first be sent (the task's rate limit and delay). */
  notBefore: number;
  /** When update_firmware was last published to the device; the timeout counts from it. */
  sentAt?: number;
  updatedAt: number;
}

const OTA_SCHEMA = `
CREATE TABLE IF NOT EXISTS ota_objects (
  product_id TEXT NOT NULL REFERENCES products(product_id) ON DELETE CASCADE,
  version TEXT NOT NULL,
  bytes BLOB NOT NULL,
  md5 TEXT NOT NULL,
  uploaded_at INTEGER NOT NULL,
  PRIMARY KEY (product_id, version)
);
CREATE TABLE IF NOT EXISTS firmwares (
  product_id TEXT NOT NULL REFERENCES products(product_id) ON DELETE CASCADE,
  version TEXT NOT NULL,
  name TEXT NOT NULL, description TEXT NOT NULL,
  md5 TEXT NOT NULL, file_size INTEGER NOT NULL,
  fw_type TEXT NOT NULL, user_defined TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (product_id, version)
);
CREATE TABLE IF NOT EXISTS firmware_tasks (
  task_id INTEGER PRIMARY KEY AUTOINCREMENT,
  product_id TEXT NOT NULL REFERENCES products(product_id) ON DELETE CASCADE,
  version TEXT NOT NULL,
  settings TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS device_updates (
  task_id INTEGER NOT NULL REFERENCES firmware_tasks(task_id) ON DELETE CASCADE,
  product_id TEXT NOT NULL,
  device_name TEXT NOT NULL,
  ori_version TEXT NOT NULL, dst_version TEXT NOT NULL,
  status INTEGER NOT NULL, percent INTEGER NOT NULL,
  retcode INTEGER NOT NULL, err_msg TEXT NOT NULL,
  not_before INTEGER NOT NULL, sent_at INTEGER, updated_at INTEGER NOT NULL,
  PRIMARY KEY (task_id, device_name),
  FOREIGN KEY (product_id, device_name) REFERENCES devices(product_id, device_name) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS device_updates_by_device ON device_updates(product_id, device_name, task_id);
CREATE INDEX IF NOT EXISTS device_updates_by_version ON device_updates(product_id, dst_version);
CREATE TABLE IF NOT EXISTS reported_versions (
  product_id TEXT NOT NULL,
  device_name TEXT NOT NULL,
  version TEXT NOT NULL,
  reported_at INTEGER NOT NULL,
  PRIMARY KEY (product_id, device_name),
  FOREIGN KEY (product_id, device_name) REFERENCES devices(product_id, device_name) ON DELETE CASCADE
);
`;

export interface UpdateRow {
  task_id: number; product_id: string; device_name: string; ori_version: string; dst_version: string;
  status: number; percent: number; retcode: number; err_msg: string; not_before: number; sent_at: number | null; updated_at: number;
}
export interface FirmwareRow {
  product_id: string; version: string; name: string; description: string; md5: string; file_size: number;
  fw_type: string; user_defined: string; created_at: number;
}

export function toUpdate(row: UpdateRow): DeviceUpdate {
  const update: DeviceUpdate = {
    taskId: row.task_id, productId: row.product_id, deviceName: row.device_name, oriVersion: row.ori_version,
    dstVersion: row.dst_version, status: row.status as UpdateStatus, percent: row.percent, retcode: row.retcode,
    errMsg: row.err_msg, notBefore: row.not_before, updatedAt: row.updated_at,
  };
  if (row.sent_at !== null) update.sentAt = row.sent_at;
  return update;
}

export function toFirmware(row: FirmwareRow): Firmware {
  return {
    productId: row.product_id, version: row.version, name: row.name, description: row.description, md5: row.md5,
    fileSize: row.file_size, fwType: row.fw_type, userDefined: row.user_defined, createdAt: row.created_at,
  };
}

export type NewTask = Omit<FirmwareTask, "taskId">;
export type TaskDevice = { deviceName: string; oriVersion: string; notBefore: number };

/** What the platform keeps about firmware, whichever store keeps it (registry.ts). */
export interface FirmwareStore {
  putObject(productId: string, version: string, bytes: Buffer, md5: string, now: number): Promise<void>;
  objectInfo(productId: string, version: string): Promise<StoredObject | undefined>;
  /** Bytes start..end (inclusive, 0-based) of an object; undefined when there is no object. */
  readObject(productId: string, version: string, start: number, end: number): Promise<Buffer | undefined>;
  /** False when the version exists already. */
  addFirmware(firmware: Firmware): Promise<boolean>;
  getFirmware(productId: string, version: string): Promise<Firmware | undefined>;
  listFirmwares(filter: { productId?: string; version?: string }, offset: number, limit: number): Promise<{ total: number; firmwares: Firmware[] }>;
  /** Creates a task and its devices' updates (all pending), in one transaction. */
  createTask(task: NewTask, devices: ReadonlyArray<TaskDevice>, now: number): Promise<FirmwareTask>;
  getTask(taskId: number): Promise<FirmwareTask | undefined>;
  /** The device's most recent update, whatever its status. */
  latestUpdate(productId: string, deviceName: string): Promise<DeviceUpdate | undefined>;
  taskUpdates(taskId: number): Promise<DeviceUpdate[]>;
  updatesToVersion(productId: string, version: string): Promise<DeviceUpdate[]>;
  setStatus(update: Pick<DeviceUpdate, "taskId" | "deviceName">, status: UpdateStatus, percent: number, now: number, retcode?: number, errMsg?: string): Promise<void>;
  markSent(update: Pick<DeviceUpdate, "taskId" | "deviceName">, now: number): Promise<void>;
  recordVersion(productId: string, deviceName: string, version: string, now: number): Promise<void>;
  reportedVersion(productId: string, deviceName: string): Promise<string | undefined>;
  devicesOnVersion(productId: string, version: string): Promise<string[]>;
}

const FIRMWARE_METHODS = [
  "putObject", "objectInfo", "readObject", "addFirmware", "getFirmware", "listFirmwares", "createTask", "getTask", "latestUpdate",
  "taskUpdates", "updatesToVersion", "setStatus", "markSent", "recordVersion", "reportedVersion", "devicesOnVersion",
] as const satisfies ReadonlyArray<keyof FirmwareStore>;

export class SqliteFirmware {
  private readonly statements;

  constructor(private readonly db: Database.Database) {
    db.exec(OTA_SCHEMA);
    this.statements = {
      putObject: db.prepare(`INSERT INTO ota_objects VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (product_id, version) DO UPDATE SET bytes = excluded.bytes, md5 = excluded.md5, uploaded_at = excluded.uploaded_at`),
      objectInfo: db.prepare(`SELECT product_id, version, length(bytes) AS size, md5, uploaded_at FROM ota_objects WHERE product_id = ? AND version = ?`),
      // substr on a BLOB counts bytes: a range is read without loading the whole object.
      objectRange: db.prepare(`SELECT substr(bytes, ?, ?) AS part FROM ota_objects WHERE product_id = ? AND version = ?`),
      insertFirmware: db.prepare(`INSERT INTO firmwares VALUES (@productId, @version, @name, @description, @md5, @fileSize, @fwType, @userDefined, @createdAt)`),
      getFirmware: db.prepare(`SELECT * FROM firmwares WHERE product_id = ? AND version = ?`),
      countFirmwares: db.prepare(`SELECT COUNT(*) AS n FROM firmwares WHERE (@productId IS NULL OR product_id = @productId) AND (@version IS NULL OR version = @version)`),
      pageFirmwares: db.prepare(`SELECT * FROM firmwares WHERE (@productId IS NULL OR product_id = @productId) AND (@version IS NULL OR version = @version)
        ORDER BY created_at DESC, product_id, version LIMIT @limit OFFSET @offset`),
      insertTask: db.prepare(`INSERT INTO firmware_tasks (product_id, version, settings, created_at) VALUES (?, ?, ?, ?)`),
      getTask: db.prepare(`SELECT * FROM firmware_tasks WHERE task_id = ?`),
      insertUpdate: db.prepare(`INSERT INTO device_updates VALUES (@taskId, @productId, @deviceName, @oriVersion, @dstVersion, 1, 0, 0, '', @notBefore, NULL, @now)`),
      latestUpdate: db.prepare(`SELECT * FROM device_updates WHERE product_id = ? AND device_name = ? ORDER BY task_id DESC LIMIT 1`),
      taskUpdates: db.prepare(`SELECT * FROM device_updates WHERE task_id = ? ORDER BY device_name`),
      versionUpdates: db.prepare(`SELECT * FROM device_updates WHERE product_id = ? AND dst_version = ? ORDER BY task_id, device_name`),
      setStatus: db.prepare(`UPDATE device_updates SET status = @status, percent = @percent, retcode = @retcode, err_msg = @errMsg, updated_at = @now
        WHERE task_id = @taskId AND device_name = @deviceName`),
      markSent: db.prepare(`UPDATE device_updates SET status = 2, sent_at = @now, updated_at = @now WHERE task_id = @taskId AND device_name = @deviceName`),
      setVersion: db.prepare(`INSERT INTO reported_versions VALUES (?, ?, ?, ?) ON CONFLICT (product_id, device_name) DO UPDATE SET version = excluded.version, reported_at = excluded.reported_at`),
      getVersion: db.prepare(`SELECT version FROM reported_versions WHERE product_id = ? AND device_name = ?`),
      devicesOnVersion: db.prepare(`SELECT device_name FROM reported_versions WHERE product_id = ? AND version = ? ORDER BY device_name`),
    };
  }

  /** This store as a FirmwareStore: each method runs synchronously, then resolves. */
  promised(): FirmwareStore {
    const store = {} as Record<string, (...args: never[]) => Promise<unknown>>;
    for (const name of FIRMWARE_METHODS) {
      const method = this[name] as (...args: never[]) => unknown;
      store[name] = async (...args) => method.apply(this, args);
    }
    return store as unknown as FirmwareStore;
  }

  // ---- object store ----

  putObject(productId: string, version: string, bytes: Buffer, md5: string, now: number): void {
    this.statements.putObject.run(productId, version, bytes, md5, now);
  }

  objectInfo(productId: string, version: string): StoredObject | undefined {
    const row = this.statements.objectInfo.get(productId, version) as { product_id: string; version: string; size: number; md5: string; uploaded_at: number } | undefined;
    return row && { productId: row.product_id, version: row.version, size: row.size, md5: row.md5, uploadedAt: row.uploaded_at };
  }

  /** Bytes start..end (inclusive, 0-based) of an object; undefined when there is no object. */
  readObject(productId: string, version: string, start: number, end: number): Buffer | undefined {
    const row = this.statements.objectRange.get(start + 1, end - start + 1, productId, version) as { part: Buffer } | undefined;
    return row?.part;
  }

  // ---- firmware versions ----

  /** False when the version exists already. */
  addFirmware(firmware: Firmware): boolean {
    try {
      this.statements.insertFirmware.run(firmware);
      return true;
    } catch (error) {
      if ((error as { code?: string }).code === "SQLITE_CONSTRAINT_PRIMARYKEY") return false;
      throw error;
    }
  }

  getFirmware(productId: string, version: string): Firmware | undefined {
    const row = this.statements.getFirmware.get(productId, version) as FirmwareRow | undefined;
    return row && toFirmware(row);
  }

  listFirmwares(filter: { productId?: string; version?: string }, offset: number, limit: number): { total: number; firmwares: Firmware[] } {
    const where = { productId: filter.productId ?? null, version: filter.version ?? null };
    const total = (this.statements.countFirmwares.get(where) as { n: number }).n;
    const rows = this.statements.pageFirmwares.all({ ...where, limit, offset }) as FirmwareRow[];
    return { total, firmwares: rows.map(toFirmware) };
  }

  // ---- tasks and device updates ----

  /** Creates a task and its devices' updates (all pending), in one transaction. */
  createTask(task: NewTask, devices: ReadonlyArray<TaskDevice>, now: number): FirmwareTask {
    return this.db.transaction(() => {
      const { productId, version, createdAt, ...settings } = task;
      const taskId = Number(this.statements.insertTask.run(productId, version, JSON.stringify(settings), createdAt).lastInsertRowid);
      for (const device of devices) {
        this.statements.insertUpdate.run({ taskId, productId, deviceName: device.deviceName, oriVersion: device.oriVersion, dstVersion: version, notBefore: device.notBefore, now });
      }
      return { ...task, taskId };
    })();
  }

  getTask(taskId: number): FirmwareTask | undefined {
    const row = this.statements.getTask.get(taskId) as { task_id: number; product_id: string; version: string; settings: string; created_at: number } | undefined;
    if (!row) return undefined;
    const settings = JSON.parse(row.settings) as Omit<FirmwareTask, "taskId" | "productId" | "version" | "createdAt">;
    return { ...settings, taskId: row.task_id, productId: row.product_id, version: row.version, createdAt: row.created_at };
  }

  /** The device's most recent update, whatever its status. */
  latestUpdate(productId: string, deviceName: string): DeviceUpdate | undefined {
    const row = this.statements.latestUpdate.get(productId, deviceName) as UpdateRow | undefined;
    return row && toUpdate(row);
  }

  taskUpdates(taskId: number): DeviceUpdate[] {
    return (this.statements.taskUpdates.all(taskId) as UpdateRow[]).map(toUpdate);
  }

  updatesToVersion(productId: string, version: string): DeviceUpdate[] {
    return (this.statements.versionUpdates.all(productId, version) as UpdateRow[]).map(toUpdate);
  }

  setStatus(update: Pick<DeviceUpdate, "taskId" | "deviceName">, status: UpdateStatus, percent: number, now: number, retcode = 0, errMsg = ""): void {
    this.statements.setStatus.run({ taskId: update.taskId, deviceName: update.deviceName, status, percent, retcode, errMsg, now });
  }

  markSent(update: Pick<DeviceUpdate, "taskId" | "deviceName">, now: number): void {
    this.statements.markSent.run({ taskId: update.taskId, deviceName: update.deviceName, now });
  }

  // ---- versions devices reported (report_version) ----

  recordVersion(productId: string, deviceName: string, version: string, now: number): void {
    this.statements.setVersion.run(productId, deviceName, version, now);
  }

  reportedVersion(productId: string, deviceName: string): string | undefined {
    return (this.statements.getVersion.get(productId, deviceName) as { version: string } | undefined)?.version;
  }

  devicesOnVersion(productId: string, version: string): string[] {
    return (this.statements.devicesOnVersion.all(productId, version) as Array<{ device_name: string }>).map((row) => row.device_name);
  }
}
