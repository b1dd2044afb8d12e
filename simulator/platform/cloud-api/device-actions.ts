/**
 * Device actions of iotexplorer 2019-04-23: CreateDevice, DescribeDevice, GetDeviceList,
 * DeleteDevice, DeleteDevices and UpdateDevicesEnableState, with the fields of the SDK's models.
 * Secrets appear where Tencent shows them: the new device's PSK, or certificate and private key,
 * in CreateDevice's answer; the PSK (never a private key) in DescribeDevice; none in lists.
 */
import { RegistryError, type Device, type Product, type Registry } from "../registry";
import { pooledRandomBytes } from "../../../hal/node/random-pool";
import { type Action, type ActionContext, seconds } from "./context";
import { CloudApiError, invalidParameterValue, missingParameter } from "./errors";
import { arrayOf, boolean, integer, object, string } from "./params";
import { recordManagement, requireProduct } from "./product-actions";

/** Tencent's rule for DeviceName in CreateDevice: [a-zA-Z0-9:_-]{1,48}. */
const DEVICE_NAME = /^[A-Za-z0-9:_-]{1,48}$/;
/** GetDeviceList's documented page size, 10-100; the default is the mock's. */
export const DEVICE_LIST_LIMIT = { min: 10, max: 100, default: 10 } as const;
/** The mock's cap on DevicesItems in one call. */
export const MAX_DEVICES_ITEMS = 100;
const LORA_FIELDS = ["DevAddr", "AppKey", "DevEUI", "AppSKey", "NwkSKey"] as const;

/** DeviceInfo.Status: 0 offline, 1 online, 3 never activated. */
export function deviceStatus(device: Device, online: boolean): 0 | 1 | 3 {
  if (online) return 1;
  return device.state === "activated" ? 0 : 3;
}

function deviceType(product: Product): string {
  return product.studio.productType === 5 ? "gateway" : "device";
}

/** The firmware version a device reported: OTA report_version first, else report_info's fw_ver; "" when it reported none. */
export async function deviceVersion(registry: Registry, device: Device): Promise<string> {
  const version = await registry.firmware.reportedVersion(device.productId, device.deviceName) ?? (await registry.deviceInfo(device.productId, device.deviceName))?.info.fw_ver;
  return typeof version === "string" ? version.slice(0, 64) : "";
}

/** DeviceInfo of the SDK's models; `withSecret` adds the PSK (DescribeDevice only). */
export async function deviceInfo(device: Device, product: Product, context: Pick<ActionContext, "broker" | "events" | "registry">, withSecret: boolean): Promise<Record<string, unknown>> {
  const online = await context.broker.isOnline(device.productId, device.deviceName);
  return {
    DeviceName: device.deviceName,
    Status: deviceStatus(device, online),
    DevicePsk: withSecret ? device.psk ?? "" : "",
    FirstOnlineTime: device.activatedAt === undefined ? null : seconds(device.activatedAt),
    LoginTime: seconds(context.events.lastLogin(device.productId, device.deviceName) ?? device.activatedAt),
    CreateTime: seconds(device.createdAt),
    Version: await deviceVersion(context.registry, device),
    DeviceCert: device.certPem ?? "",
    LogLevel: 0,
    EnableState: device.enabled ? 1 : 0,
    ProductId: device.productId,
    ProductName: product.productName,
    DeviceType: deviceType(product),
    IsLora: false,
    // The mock's own addition (clients ignore unknown fields): created, registered or activated.
    MockState: device.state,
  };
}

/** DeviceId is "ProductId/DeviceName"; when given it replaces both. */
function deviceKey(params: Record<string, unknown>): { productId: string; deviceName: string } {
  const deviceId = params.DeviceId as string | undefined;
  if (deviceId !== undefined && deviceId !== "") {
    const slash = deviceId.indexOf("/");
    if (slash <= 0 || slash === deviceId.length - 1) throw invalidParameterValue("DeviceId", "ProductId/DeviceName");
    return { productId: deviceId.slice(0, slash), deviceName: deviceId.slice(slash + 1) };
  }
  if (params.ProductId === undefined) throw missingParameter("ProductId");
  if (params.DeviceName === undefined) throw missingParameter("DeviceName");
  return { productId: params.ProductId as string, deviceName: params.DeviceName as string };
}

export async function requireDevice(context: Pick<ActionContext, "registry">, productId: string, deviceName: string): Promise<{ product: Product; device: Device }> {
  const product = await requireProduct(context.registry, productId);
  const device = await context.registry.getDevice(productId, deviceName);
  if (!device) throw new CloudApiError("ResourceNotFound.DeviceNotExist", `The device ${productId.slice(0, 64)}/${deviceName.slice(0, 64)} does not exist.`);
  return { product, device };
}

function checkDefinedPsk(psk: string): string {
  const bytes = Buffer.from(psk, "base64");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(psk) || bytes.toString("base64") !== psk || bytes.length < 16 || bytes.length > 64) {
    throw invalidParameterValue("DefinedPsk", "Base64 of 16-64 bytes");
  }
  return psk;
}

const createDevice: Action = {
  schema: {
    ProductId: string(true), DeviceName: string(true), DevAddr: string(), AppKey: string(), DevEUI: string(),
    AppSKey: string(), NwkSKey: string(), DefinedPsk: string(),
  },
  async run(params, context) {
    const { registry } = context;
    const product = await requireProduct(registry, params.ProductId as string);
    const deviceName = params.DeviceName as string;
    if (!DEVICE_NAME.test(deviceName)) throw new CloudApiError("InvalidParameterValue.DeviceNameInvalid", "DeviceName must be 1-48 characters of [a-zA-Z0-9:_-].");
    if (LORA_FIELDS.some((field) => params[field] !== undefined)) throw new CloudApiError("UnsupportedOperation", "The mock platform does not simulate LoRaWAN devices.");
    if (await registry.getDevice(product.productId, deviceName)) {
      throw new CloudApiError("InvalidParameterValue.DeviceAlreadyExist", `The device ${product.productId}/${deviceName} already exists.`);
    }
    let credentials: { psk?: string; certPem?: string; keyPem?: string };
    if (product.authType === "cert") {
      if (params.DefinedPsk !== undefined) throw invalidParameterValue("DefinedPsk", "a certificate product's devices have no PSK");
      credentials = await (await context.certAuthority()).issueDeviceCertificate(product.productId, deviceName);
    } else {
      credentials = { psk: params.DefinedPsk !== undefined ? checkDefinedPsk(params.DefinedPsk as string) : pooledRandomBytes(16).toString("base64") };
    }
    try {
      await registry.createDeviceWithCredentials(product.productId, deviceName, credentials, context.now());
    } catch (error) {
      if (error instanceof RegistryError && error.code === "exists") throw new CloudApiError("InvalidParameterValue.DeviceAlreadyExist", error.message);
      throw error;
    }
    recordManagement(context, "CreateDevice", product.productId, deviceName);
    return {
      Data: {
        DeviceName: deviceName,
        DevicePsk: credentials.psk ?? "",
        DeviceCert: credentials.certPem ?? "",
        DevicePrivateKey: credentials.keyPem ?? "",
      },
    };
  },
};

const describeDevice: Action = {
  schema: { ProductId: string(), DeviceName: string(), DeviceId: string() },
  async run(params, context) {
    const key = deviceKey(params);
    const { product, device } = await requireDevice(context, key.productId, key.deviceName);
    return { Device: await deviceInfo(device, product, context, true) };
  },
};

const getDeviceList: Action = {
  schema: {
    ProductId: string(true), Offset: integer(), Limit: integer(), FirmwareVersion: string(), FwType: string(),
    DeviceName: string(), ProjectId: string(),
    Filters: arrayOf(object({ Name: string(true), Values: arrayOf("string") }), false, 10),
  },
  async run(params, context) {
    const { registry } = context;
    const offset = (params.Offset as number | undefined) ?? 0;
    const limit = (params.Limit as number | undefined) ?? DEVICE_LIST_LIMIT.default;
    if (offset < 0) throw invalidParameterValue("Offset", "at least 0");
    if (limit < DEVICE_LIST_LIMIT.min || limit > DEVICE_LIST_LIMIT.max) throw invalidParameterValue("Limit", `${DEVICE_LIST_LIMIT.min}-${DEVICE_LIST_LIMIT.max}`);
    const filters = (params.Filters as Array<{ Name: string; Values?: string[] }> | undefined) ?? [];
    for (const filter of filters) {
      if ((filter.Values?.length ?? 0) > 1) throw invalidParameterValue("Filters.Values", "at most 1 value per filter");
    }
    if (filters.length > 0) throw new CloudApiError("UnsupportedOperation", "The mock platform supports no Filters; use DeviceName.");
    const version = params.FirmwareVersion as string | undefined;
    const nameContains = (params.DeviceName as string | undefined) || undefined;
    let productIds: string[];
    if (params.ProductId === "-1") {
      // -1: every product of the project.
      const projectId = params.ProjectId as string | undefined;
      if (!projectId) throw new CloudApiError("MissingParameter", "The request is missing a required parameter `ProjectId` (ProductId is -1).");
      productIds = (await registry.listProducts()).filter((product) => product.studio.projectId === projectId).map((product) => product.productId);
    } else {
      productIds = [(await requireProduct(registry, params.ProductId as string)).productId];
    }
    const versionMatches = async (device: Device) => {
      const reported = await deviceVersion(registry, device);
      return version === "None-FirmwareVersion" ? reported === "" : reported === version;
    };
    const devices: Array<Record<string, unknown>> = [];
    let total = 0;
    let skip = offset;
    for (const productId of productIds) {
      const product = (await registry.getProduct(productId))!;
      if (version === undefined) {
        const count = await registry.countDevices(productId, nameContains);
        total += count;
        if (devices.length < limit && skip < count) {
          const page = await registry.pageDevices(productId, skip, limit - devices.length, nameContains);
          devices.push(...await Promise.all(page.map((device) => deviceInfo(device, product, context, false))));
        }
        skip = Math.max(0, skip - count);
      } else {
        const candidates = await registry.pageDevices(productId, 0, Number.MAX_SAFE_INTEGER, nameContains);
        const matches = await Promise.all(candidates.map(versionMatches));
        const matching = candidates.filter((_, index) => matches[index]);
        total += matching.length;
        const page = matching.slice(skip, skip + limit - devices.length);
        devices.push(...await Promise.all(page.map((device) => deviceInfo(device, product, context, false))));
        skip = Math.max(0, skip - matching.length);
      }
    }
    return { Devices: devices, Total: total };
  },
};

/** Here and on every other node: resolves once the other nodes have been told. */
async function disconnectAll(context: ActionContext, devices: ReadonlyArray<{ productId: string; deviceName: string }>): Promise<void> {
  await context.broker.disconnectDevices(devices);
}

const deleteDevice: Action = {
  schema: { ProductId: string(true), DeviceName: string(true), ForceDelete: boolean() },
  async run(params, context) {
    const { device } = await requireDevice(context, params.ProductId as string, params.DeviceName as string);
    await context.registry.deleteDevice(device.productId, device.deviceName);
    await disconnectAll(context, [device]);
    recordManagement(context, "DeleteDevice", device.productId, device.deviceName);
    return { ResultCode: "0", ResultMessage: "success" };
  },
};

const DEVICES_ITEMS = arrayOf(object({ ProductId: string(true), DeviceName: string(true) }), true, MAX_DEVICES_ITEMS);

async function devicesItems(params: Record<string, unknown>, context: ActionContext): Promise<Array<{ productId: string; deviceName: string }>> {
  const items = params.DevicesItems as Array<{ ProductId: string; DeviceName: string }>;
  if (items.length === 0) throw invalidParameterValue("DevicesItems", "at least one device");
  const keys = items.map((item) => ({ productId: item.ProductId, deviceName: item.DeviceName }));
  for (const key of keys) await requireDevice(context, key.productId, key.deviceName); // all or none
  return keys;
}

const deleteDevices: Action = {
  schema: { DevicesItems: DEVICES_ITEMS },
  async run(params, context) {
    const keys = await devicesItems(params, context);
    try {
      await context.registry.deleteDevices(keys);
    } catch (error) {
      if (error instanceof RegistryError && error.code === "not-found") throw new CloudApiError("ResourceNotFound.DeviceNotExist", error.message);
      throw error;
    }
    await disconnectAll(context, keys);
    for (const key of keys) recordManagement(context, "DeleteDevices", key.productId, key.deviceName);
    return { ResultCode: "0", ResultMessage: "success" };
  },
};

const updateDevicesEnableState: Action = {
  schema: { DevicesItems: DEVICES_ITEMS, Status: integer(true) },
  async run(params, context) {
    const status = params.Status as number;
    if (status !== 0 && status !== 1) throw invalidParameterValue("Status", "1 (enable) or 0 (disable)");
    const keys = await devicesItems(params, context);
    try {
      await context.registry.setDevicesEnabled(keys, status === 1);
    } catch (error) {
      if (error instanceof RegistryError && error.code === "not-found") throw new CloudApiError("ResourceNotFound.DeviceNotExist", error.message);
      throw error;
    }
    // A disabled device's live session ends now; its next CONNECT is refused.
    if (status === 0) await disconnectAll(context, keys);
    for (const key of keys) recordManagement(context, status === 1 ? "enabled" : "disabled", key.productId, key.deviceName);
    return { ResultCode: "0", ResultMessage: "success" };
  },
};

export const DEVICE_ACTIONS: Readonly<Record<string, Action>> = {
  CreateDevice: createDevice,
  DescribeDevice: describeDevice,
  GetDeviceList: getDeviceList,
  DeleteDevice: deleteDevice,
  DeleteDevices: deleteDevices,
  UpdateDevicesEnableState: updateDevicesEnableState,
};
