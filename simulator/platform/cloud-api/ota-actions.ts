/**
 * Firmware update actions of iotexplorer 2019-04-23 (docs/PROTOCOL.md §14), with the fields of the
 * SDK's models: GetCOSURL, UploadFirmware, DescribeFirmware, ListFirmwares, UpdateFirmware,
 * BatchUpdateFirmware, DescribeFirmwareTask, DescribeFirmwareTaskDevices and
 * DescribeFirmwareUpdateStatus. Error codes are IoT Explorer's (tencentcloud-sdk-go
 * iotexplorer/v20190423/errors.go); which action answers which is the mock's choice, listed in
 * simulator/platform/README.md.
 */
import { type DeviceUpdate, type FirmwareTask, type TaskDevice, isActive } from "../ota/firmware-registry";
import { FIRMWARE_VERSION_PATTERN, MAX_FIRMWARE_BYTES, type ObjectStore } from "../ota/object-store";
import type { OtaService } from "../ota/ota-service";
import { type Action, type ActionContext, seconds } from "./context";
import { requireDevice } from "./device-actions";
import { CloudApiError, invalidParameterValue, missingParameter } from "./errors";
import { arrayOf, integer, object, string } from "./params";
import { requireProduct } from "./product-actions";

/** Bounds the mock sets where Tencent publishes none (mock's own). */
export const OTA_LIMITS = {
  nameChars: 64,
  descriptionChars: 256,
  userDefinedChars: 1024,
  pageSizeMax: 100,
  batchDevicesMax: 10_000,
  /** BatchUpdateFirmware's TimeoutInterval, as the SDK's model documents it: 120-900 s. */
  timeoutMinSeconds: 120,
  timeoutMaxSeconds: 900,
  /** Used when TimeoutInterval is not given, and for UpdateFirmware (mock's own). */
  timeoutDefaultSeconds: 600,
  delayMaxSeconds: 86_400,
  rateLimitMax: 100_000,
} as const;

const MD5_HEX = /^[0-9a-fA-F]{32}$/;
const SEARCH_KEYWORDS = arrayOf(object({ Key: string(true), Value: string() }), false, 10);

function checkVersion(name: string, version: string): string {
  if (!FIRMWARE_VERSION_PATTERN.test(version)) throw invalidParameterValue(name, "1-32 characters of [A-Za-z0-9._-]");
  return version;
}

function checkText(name: string, value: unknown, max: number): string {
  if (value === undefined) return "";
  if ((value as string).length > max) throw invalidParameterValue(name, `at most ${max} characters`);
  return value as string;
}

function checkRange(name: string, value: unknown, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const number = value as number;
  if (number < min || number > max) throw invalidParameterValue(name, `${min}-${max}`);
  return number;
}

/** Filters as Key/Value pairs; only the keys the mock knows are taken (mock's own choice of keys). */
function filterValues(params: Record<string, unknown>, known: readonly string[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (const filter of (params.Filters as Array<{ Key: string; Value?: string }> | undefined) ?? []) {
    if (!known.includes(filter.Key)) throw new CloudApiError("UnsupportedOperation", `The mock platform filters by ${known.join(", ")} only.`);
    values[filter.Key] = filter.Value ?? "";
  }
  return values;
}

async function requireFirmware(context: ActionContext, productId: string, version: string) {
  const firmware = await context.registry.firmware.getFirmware(productId, version);
  if (!firmware) throw new CloudApiError("ResourceNotFound.FirmwareNotExist", `The firmware ${productId.slice(0, 16)} ${version.slice(0, 32)} does not exist.`);
  return firmware;
}

function refuseUnsupported(params: Record<string, unknown>): void {
  if (params.UpgradeMethod !== undefined && params.UpgradeMethod !== 0) {
    throw new CloudApiError("UnsupportedOperation", "The mock platform updates silently only (UpgradeMethod 0); user-confirmed updates are not simulated.");
  }
}

function updateStatus(update: DeviceUpdate, task: FirmwareTask | undefined): Record<string, unknown> {
  return {
    DeviceName: update.deviceName, LastProcessTime: seconds(update.updatedAt), Status: update.status, ErrMsg: update.errMsg,
    Retcode: update.retcode, DstVersion: update.dstVersion, Percent: update.percent, OriVersion: update.oriVersion,
    TaskId: update.taskId, FwType: task?.fwType ?? "", RetryNum: 0,
  };
}

export function createOtaActions(ota: OtaService, store: ObjectStore): Readonly<Record<string, Action>> {
  const getCosUrl: Action = {
    schema: { ProductID: string(true), FirmwareVersion: string(true), FileSize: integer(), FwType: string() },
    async run(params, context) {
      const product = await requireProduct(context.registry, params.ProductID as string);
      const version = checkVersion("FirmwareVersion", params.FirmwareVersion as string);
      const size = checkRange("FileSize", params.FileSize, 1, MAX_FIRMWARE_BYTES);
      if (await context.registry.firmware.getFirmware(product.productId, version)) {
        throw new CloudApiError("InvalidParameterValue.FirmwareAlreadyExist", `The firmware version ${version} already exists.`);
      }
      return { Url: store.uploadUrl(product.productId, version, size) };
    },
  };

  const uploadFirmware: Action = {
    schema: {
      ProductID: string(true), FirmwareVersion: string(true), Md5sum: string(true), FileSize: integer(true),
      FirmwareName: string(), FirmwareDescription: string(), FwType: string(), FirmwareUserDefined: string(),
    },
    async run(params, context) {
      const { registry } = context;
      const product = await requireProduct(registry, params.ProductID as string);
      const version = checkVersion("FirmwareVersion", params.FirmwareVersion as string);
      const md5 = params.Md5sum as string;
      if (!MD5_HEX.test(md5)) throw invalidParameterValue("Md5sum", "32 hexadecimal digits");
      const fileSize = checkRange("FileSize", params.FileSize, 1, MAX_FIRMWARE_BYTES)!;
      const name = checkText("FirmwareName", params.FirmwareName, OTA_LIMITS.nameChars);
      const description = checkText("FirmwareDescription", params.FirmwareDescription, OTA_LIMITS.descriptionChars);
      const userDefined = checkText("FirmwareUserDefined", params.FirmwareUserDefined, OTA_LIMITS.userDefinedChars);
      if (await registry.firmware.getFirmware(product.productId, version)) {
        throw new CloudApiError("InvalidParameterValue.FirmwareAlreadyExist", `The firmware version ${version} already exists.`);
      }
      const object = await registry.firmware.objectInfo(product.productId, version);
      if (!object) throw new CloudApiError("ResourceNotFound.CannotGetFromUrl", `Nothing was uploaded for version ${version}: PUT the file to the URL from GetCOSURL first.`);
      if (object.size !== fileSize) throw invalidParameterValue("FileSize", `the uploaded file has ${object.size} bytes`);
      if (object.md5 !== md5.toLowerCase()) throw invalidParameterValue("Md5sum", "it differs from the uploaded file's MD5");
      const added = await registry.firmware.addFirmware({
        productId: product.productId, version, name: name || version, description, md5: object.md5, fileSize,
        fwType: (params.FwType as string | undefined) ?? "", userDefined, createdAt: context.now(),
      });
      if (!added) throw new CloudApiError("InvalidParameterValue.FirmwareAlreadyExist", `The firmware version ${version} already exists.`);
      return {};
    },
  };

  const describeFirmware: Action = {
    schema: { ProductID: string(true), FirmwareVersion: string(true), FwType: string() },
    async run(params, context) {
      const product = await requireProduct(context.registry, params.ProductID as string);
      const firmware = await requireFirmware(context, product.productId, params.FirmwareVersion as string);
      return {
        Version: firmware.version, ProductId: firmware.productId, Name: firmware.name, Description: firmware.description,
        Md5sum: firmware.md5, Createtime: seconds(firmware.createdAt), ProductName: product.productName,
        FwType: firmware.fwType, UserDefined: firmware.userDefined,
      };
    },
  };

  const listFirmwares: Action = {
    schema: { PageNum: integer(true), PageSize: integer(true), ProductID: string(), Filters: SEARCH_KEYWORDS },
    async run(params, context) {
      const pageNum = checkRange("PageNum", params.PageNum, 1, Number.MAX_SAFE_INTEGER)!;
      const pageSize = checkRange("PageSize", params.PageSize, 1, OTA_LIMITS.pageSizeMax)!;
      const filters = filterValues(params, ["ProductId", "Version"]);
      const productId = (params.ProductID as string | undefined) || filters.ProductId || undefined;
      if (productId !== undefined) await requireProduct(context.registry, productId);
      const { total, firmwares } = await context.registry.firmware.listFirmwares({ productId, version: filters.Version || undefined }, (pageNum - 1) * pageSize, pageSize);
      return {
        TotalCount: total,
        Firmwares: await Promise.all(firmwares.map(async (firmware) => ({
          Version: firmware.version, Md5sum: firmware.md5, CreateTime: seconds(firmware.createdAt),
          ProductName: (await context.registry.getProduct(firmware.productId))?.productName ?? firmware.productId,
          Name: firmware.name, Description: firmware.description, ProductId: firmware.productId, FwType: firmware.fwType,
          CreateUserId: 0, CreatorNickName: "", UserDefined: firmware.userDefined,
        }))),
      };
    },
  };

  const updateFirmware: Action = {
    schema: { ProductID: string(true), DeviceName: string(true), FirmwareVersion: string(true), FirmwareOriVersion: string(true), UpgradeMethod: integer() },
    async run(params, context) {
      refuseUnsupported(params);
      const { product, device } = await requireDevice(context, params.ProductID as string, params.DeviceName as string);
      const firmware = await requireFirmware(context, product.productId, params.FirmwareVersion as string);
      const reported = await context.registry.firmware.reportedVersion(device.productId, device.deviceName);
      if (reported === undefined) throw new CloudApiError("ResourceNotFound.DeviceHasNoFirmware", "The device has never reported its firmware version (report_version).");
      if (reported === firmware.version) throw new CloudApiError("FailedOperation.DeviceFirmwareIsUpdated", `The device already runs ${firmware.version}.`);
      if (reported !== params.FirmwareOriVersion) throw new CloudApiError("FailedOperation.DeviceInfoOutdated", `The device runs ${reported}, not ${String(params.FirmwareOriVersion).slice(0, 32)}.`);
      const current = await ota.currentUpdate(device.productId, device.deviceName);
      if (current && isActive(current.status)) throw new CloudApiError("FailedOperation.OtherUpdateTaskExist", `The device is being updated to ${current.dstVersion} (task ${current.taskId}).`);
      const now = context.now();
      await ota.startTask({
        productId: product.productId, version: firmware.version, upgradeMode: "single", originalVersion: reported, upgradeMethod: 0,
        timeoutSeconds: OTA_LIMITS.timeoutDefaultSeconds, rateLimit: 0, delaySeconds: 0, overrideMode: 0, maxRetry: 0,
        retryIntervalMinutes: 0, userDefine: "", fwType: firmware.fwType, createdAt: now,
      }, [{ deviceName: device.deviceName, oriVersion: reported, notBefore: now }]);
      return {};
    },
  };

  const batchUpdateFirmware: Action = {
    schema: {
      ProductID: string(true), FirmwareVersion: string(true), FirmwareOriVersion: string(), UpgradeMethod: integer(),
      FileName: string(), FileMd5: string(), FileSize: integer(), DeviceNames: arrayOf("string", false, OTA_LIMITS.batchDevicesMax),
      TimeoutInterval: integer(), Type: integer(), DelayTime: integer(), OverrideMode: integer(), MaxRetryNum: integer(),
      RetryInterval: integer(), FwType: string(), TaskUserDefine: string(), RateLimit: integer(),
    },
    async run(params, context) {
      refuseUnsupported(params);
      const { registry } = context;
      const product = await requireProduct(registry, params.ProductID as string);
      const firmware = await requireFirmware(context, product.productId, params.FirmwareVersion as string);
      if (params.FileName !== undefined) throw new CloudApiError("UnsupportedOperation", "The mock platform takes DeviceNames or FirmwareOriVersion, not a device list file.");
      if (params.Type !== undefined && params.Type !== 1) throw new CloudApiError("UnsupportedOperation", "The mock platform runs static tasks only (Type 1).");
      const timeoutSeconds = checkRange("TimeoutInterval", params.TimeoutInterval, OTA_LIMITS.timeoutMinSeconds, OTA_LIMITS.timeoutMaxSeconds) ?? OTA_LIMITS.timeoutDefaultSeconds;
      const delaySeconds = checkRange("DelayTime", params.DelayTime, 0, OTA_LIMITS.delayMaxSeconds) ?? 0;
      const rateLimit = checkRange("RateLimit", params.RateLimit, 1, OTA_LIMITS.rateLimitMax) ?? 0;
      const overrideMode = checkRange("OverrideMode", params.OverrideMode, 0, 1) ?? 0;
      const maxRetry = checkRange("MaxRetryNum", params.MaxRetryNum, 0, 10) ?? 0;
      const retryIntervalMinutes = checkRange("RetryInterval", params.RetryInterval, 0, 1440) ?? 0;
      const userDefine = checkText("TaskUserDefine", params.TaskUserDefine, OTA_LIMITS.userDefinedChars);
      const oriVersion = params.FirmwareOriVersion as string | undefined;
      let names: string[];
      let upgradeMode: string;
      if (params.DeviceNames !== undefined) {
        names = [...new Set(params.DeviceNames as string[])];
        for (const name of names) await requireDevice(context, product.productId, name); // all or none
        upgradeMode = "devicenames";
      } else if (oriVersion !== undefined) {
        names = await registry.firmware.devicesOnVersion(product.productId, checkVersion("FirmwareOriVersion", oriVersion));
        upgradeMode = "originalVersion";
      } else {
        throw missingParameter("DeviceNames");
      }
      // Devices already on the target are left out, and so are those being updated unless OverrideMode is 1.
      const due: string[] = [];
      for (const name of names) {
        const reported = await registry.firmware.reportedVersion(product.productId, name);
        if (reported === firmware.version) continue;
        if (oriVersion !== undefined && reported !== oriVersion) continue;
        const current = await ota.currentUpdate(product.productId, name);
        if (overrideMode === 1 || !current || !isActive(current.status)) due.push(name);
      }
      if (due.length === 0) throw new CloudApiError("FailedOperation.DeviceFirmwareIsUpdated", "No device of the task needs this update (all run it, run another original version, or are being updated).");
      const now = context.now();
      const start = now + delaySeconds * 1000;
      const devices: TaskDevice[] = await Promise.all(due.map(async (deviceName, index) => ({
        deviceName,
        oriVersion: await registry.firmware.reportedVersion(product.productId, deviceName) ?? "",
        // RateLimit devices per minute: the n-th minute's devices become due together.
        notBefore: start + (rateLimit > 0 ? Math.floor(index / rateLimit) * 60_000 : 0),
      })));
      const task = await ota.startTask({
        productId: product.productId, version: firmware.version, upgradeMode, originalVersion: oriVersion ?? "", upgradeMethod: 0,
        timeoutSeconds, rateLimit, delaySeconds, overrideMode, maxRetry, retryIntervalMinutes, userDefine,
        fwType: (params.FwType as string | undefined) ?? firmware.fwType, createdAt: now,
      }, devices);
      return { TaskId: task.taskId };
    },
  };

  async function requireTask(context: ActionContext, params: Record<string, unknown>): Promise<FirmwareTask> {
    const task = await context.registry.firmware.getTask(params.TaskId as number);
    if (!task || task.productId !== params.ProductID || task.version !== params.FirmwareVersion) {
      throw new CloudApiError("ResourceNotFound.FirmwareTaskNotExist", `The task ${String(params.TaskId)} does not exist for this product and version.`);
    }
    return task;
  }

  const describeFirmwareTask: Action = {
    schema: { ProductID: string(true), FirmwareVersion: string(true), TaskId: integer(true) },
    async run(params, context) {
      const product = await requireProduct(context.registry, params.ProductID as string);
      const task = await requireTask(context, params);
      const updates = await Promise.all((await context.registry.firmware.taskUpdates(task.taskId)).map((update) => ota.expire(update)));
      // Task status (mock's own codes): 0 waiting for its delay, 1 running, 2 every device finished.
      const status = context.now() < task.createdAt + task.delaySeconds * 1000 ? 0 : updates.some((update) => isActive(update.status)) ? 1 : 2;
      return {
        TaskId: task.taskId, Status: status, CreateTime: seconds(task.createdAt), Type: 1, ProductName: product.productName,
        UpgradeMode: task.upgradeMode, ProductId: task.productId, OriginalVersion: task.originalVersion, CreateUserId: 0,
        CreatorNickName: "", DelayTime: task.delaySeconds, TimeoutInterval: task.timeoutSeconds, UpgradeMethod: task.upgradeMethod,
        MaxRetryNum: task.maxRetry, FwType: task.fwType, RetryInterval: task.retryIntervalMinutes, OverrideMode: task.overrideMode,
        TaskUserDefine: task.userDefine, RateLimit: task.rateLimit,
      };
    },
  };

  const describeFirmwareTaskDevices: Action = {
    schema: { ProductID: string(true), FirmwareVersion: string(true), Filters: SEARCH_KEYWORDS, Offset: integer(), Limit: integer(), FwType: string() },
    async run(params, context) {
      const product = await requireProduct(context.registry, params.ProductID as string);
      const offset = checkRange("Offset", params.Offset, 0, Number.MAX_SAFE_INTEGER) ?? 0;
      const limit = checkRange("Limit", params.Limit, 1, OTA_LIMITS.pageSizeMax) ?? 10;
      const filters = filterValues(params, ["DeviceName", "TaskId", "Status"]);
      const updates = await Promise.all((await context.registry.firmware.updatesToVersion(product.productId, params.FirmwareVersion as string))
        .map((update) => ota.expire(update)));
      const matching = updates.filter((update) => (filters.DeviceName === undefined || update.deviceName.includes(filters.DeviceName))
          && (filters.TaskId === undefined || String(update.taskId) === filters.TaskId)
          && (filters.Status === undefined || String(update.status) === filters.Status));
      const tasks = new Map<number, FirmwareTask | undefined>();
      const page = matching.slice(offset, offset + limit);
      for (const update of page) if (!tasks.has(update.taskId)) tasks.set(update.taskId, await context.registry.firmware.getTask(update.taskId));
      return { Total: matching.length, Devices: page.map((update) => updateStatus(update, tasks.get(update.taskId))) };
    },
  };

  const describeFirmwareUpdateStatus: Action = {
    schema: { ProductId: string(true), DeviceName: string(true) },
    async run(params, context) {
      const { device } = await requireDevice(context, params.ProductId as string, params.DeviceName as string);
      const update = await ota.currentUpdate(device.productId, device.deviceName);
      if (!update) throw new CloudApiError("ResourceNotFound.FirmwareTaskNotExist", "The device has no firmware update.");
      return { OriVersion: update.oriVersion, DstVersion: update.dstVersion, Status: update.status, Percent: update.percent };
    },
  };

  return {
    GetCOSURL: getCosUrl,
    UploadFirmware: uploadFirmware,
    DescribeFirmware: describeFirmware,
    ListFirmwares: listFirmwares,
    UpdateFirmware: updateFirmware,
    BatchUpdateFirmware: batchUpdateFirmware,
    DescribeFirmwareTask: describeFirmwareTask,
    DescribeFirmwareTaskDevices: describeFirmwareTaskDevices,
    DescribeFirmwareUpdateStatus: describeFirmwareUpdateStatus,
  };
}
