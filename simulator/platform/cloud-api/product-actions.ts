/**
 * Product actions of iotexplorer 2019-04-23: CreateStudioProduct, DescribeStudioProduct,
 * GetStudioProductList, DeleteStudioProduct, DescribeProductDynamicRegister and
 * ModifyProductDynamicRegister, with the request and response fields of the SDK's models.
 */
import { randomBytes } from "node:crypto";
import { RegistryError, type Product, type Registry } from "../registry";
import { randomAlphanumeric } from "./credentials";
import { type Action, type ActionContext, seconds } from "./context";
import { CloudApiError, invalidParameterValue } from "./errors";
import { integer, string } from "./params";

/** Tencent's rule for ProductName: [a-zA-Z0-9:_-]{1,32}. */
const PRODUCT_NAME = /^[A-Za-z0-9:_-]{1,32}$/;
const NET_TYPES = new Set(["wifi", "wifi-ble", "cellular", "5g", "lorawan", "ble", "ethernet", "wifi-ethernet", "else", "sub_zigbee", "sub_ble", "sub_433mhz", "sub_else", "sub_blemesh"]);
/** The mock's own bounds (Tencent does not publish them for these actions). */
export const PRODUCT_LIST_LIMIT = { default: 20, max: 100 } as const;
export const MAX_PRODUCTS = 1000;
export const MAX_REGISTER_LIMIT = 1_000_000;

/** A 24-character ProductSecret, like the ones Tencent issues. */
export function newProductSecret(): string {
  return randomBytes(18).toString("base64").replace(/\+/g, "A").replace(/\//g, "B");
}

/** A ProductId shaped like Tencent's: 10 upper-case letters and digits. */
async function newProductId(registry: Registry): Promise<string> {
  for (;;) {
    const id = randomAlphanumeric(10, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
    if (!await registry.getProduct(id)) return id;
  }
}

export function registerType(product: Product): 0 | 1 | 2 {
  return !product.dynamicRegistration ? 0 : product.autoCreate ? 2 : 1;
}

/** EncryptionType: "1" certificate, "2" key (PSK). */
export function encryptionType(product: Product): "1" | "2" {
  return product.authType === "cert" ? "1" : "2";
}

/** ProductEntry of the SDK's models. */
export function productEntry(product: Product, deviceCount: number): Record<string, unknown> {
  const entry: Record<string, unknown> = {
    ProductId: product.productId,
    ProductName: product.productName,
    CategoryId: product.studio.categoryId,
    EncryptionType: encryptionType(product),
    NetType: product.studio.netType,
    DataProtocol: product.studio.dataProtocol,
    ProductDesc: product.studio.productDesc,
    DevStatus: "dev",
    CreateTime: seconds(product.createdAt),
    UpdateTime: seconds(product.updatedAt),
    Region: product.region,
    ProductType: product.studio.productType,
    ProjectId: product.studio.projectId,
    EnableProductScript: "false",
    BindStrategy: 0,
    DeviceCount: deviceCount,
    IsInterconnection: 0,
  };
  if (product.studio.rate !== undefined) entry.Rate = product.studio.rate;
  if (product.studio.period !== undefined) entry.Period = product.studio.period;
  return entry;
}

export async function requireProduct(registry: Registry, productId: string, code: "ResourceNotFound.ProductNotExist" | "ResourceNotFound.StudioProductNotExist" = "ResourceNotFound.ProductNotExist"): Promise<Product> {
  const product = await registry.getProduct(productId);
  if (!product) throw new CloudApiError(code, `The product ${productId.slice(0, 64)} does not exist.`);
  return product;
}

function dynamicRegisterAnswer(product: Product): Record<string, unknown> {
  return {
    RegisterType: registerType(product),
    // The ProductSecret exists for a device only while dynamic registration is on.
    ProductSecret: product.dynamicRegistration ? product.productSecret : "",
    RegisterLimit: product.registerLimit,
  };
}

/** A management call shown in the console's events. */
export function recordManagement(context: ActionContext, detail: string, productId?: string, deviceName?: string): void {
  context.events.record({ kind: "management", ok: true, productId, deviceName, detail });
}

const createStudioProduct: Action = {
  schema: {
    ProductName: string(true), CategoryId: integer(true), ProductType: integer(true), EncryptionType: string(true),
    NetType: string(true), DataProtocol: integer(true), ProductDesc: string(true), ProjectId: string(true),
    Rate: string(), Period: string(),
  },
  async run(params, context) {
    const { registry } = context;
    const name = params.ProductName as string;
    if (!PRODUCT_NAME.test(name)) throw invalidParameterValue("ProductName", "1-32 characters of [a-zA-Z0-9:_-]");
    if (await registry.getProductByName(name)) throw new CloudApiError("InvalidParameterValue.ProductAlreadyExist", `A product named ${name} already exists.`);
    const encryption = params.EncryptionType as string;
    if (encryption !== "1" && encryption !== "2") {
      throw invalidParameterValue("EncryptionType", "the mock platform supports 1 (certificate) and 2 (key); TID (21, 22) is not simulated");
    }
    const productType = params.ProductType as number;
    if (productType !== 0 && productType !== 5) throw invalidParameterValue("ProductType", "0 (ordinary) or 5 (gateway)");
    const dataProtocol = params.DataProtocol as number;
    if (dataProtocol !== 1 && dataProtocol !== 2) throw invalidParameterValue("DataProtocol", "1 (data template) or 2 (custom)");
    const netType = params.NetType as string;
    if (!NET_TYPES.has(netType)) throw invalidParameterValue("NetType", [...NET_TYPES].join(", "));
    const categoryId = params.CategoryId as number;
    if (categoryId < 1) throw invalidParameterValue("CategoryId", "a positive template id (1: custom)");
    const projectId = params.ProjectId as string;
    if (projectId.length === 0 || projectId.length > 64) throw invalidParameterValue("ProjectId", "1-64 characters");
    const desc = params.ProductDesc as string;
    if (desc.length > 256) throw invalidParameterValue("ProductDesc", "at most 256 characters");
    if ((await registry.listProducts()).length >= MAX_PRODUCTS) throw new CloudApiError("LimitExceeded.StudioProductExceedLimit", `The mock platform holds at most ${MAX_PRODUCTS} products.`);
    const product = await registry.createProduct({
      productId: await newProductId(registry),
      productSecret: newProductSecret(),
      // Dynamic registration starts off: ModifyProductDynamicRegister turns it on.
      dynamicRegistration: false,
      autoCreate: false,
      authType: encryption === "1" ? "cert" : "psk",
      region: context.region,
      productName: name,
      studio: {
        productDesc: desc, categoryId, productType, netType, dataProtocol, projectId,
        ...(params.Rate !== undefined ? { rate: params.Rate as string } : {}),
        ...(params.Period !== undefined ? { period: params.Period as string } : {}),
      },
    }, context.now());
    recordManagement(context, `CreateStudioProduct ${name}`, product.productId);
    return { Product: productEntry(product, 0) };
  },
};

const describeStudioProduct: Action = {
  schema: { ProductId: string(true) },
  async run(params, { registry }) {
    const product = await requireProduct(registry, params.ProductId as string, "ResourceNotFound.StudioProductNotExist");
    return { Product: productEntry(product, await registry.countDevices(product.productId)) };
  },
};

const getStudioProductList: Action = {
  schema: { ProjectId: string(), DevStatus: string(), Offset: integer(), Limit: integer() },
  async run(params, { registry }) {
    const offset = (params.Offset as number | undefined) ?? 0;
    const limit = (params.Limit as number | undefined) ?? PRODUCT_LIST_LIMIT.default;
    if (offset < 0) throw invalidParameterValue("Offset", "at least 0");
    if (limit < 1 || limit > PRODUCT_LIST_LIMIT.max) throw invalidParameterValue("Limit", `1-${PRODUCT_LIST_LIMIT.max}`);
    const devStatus = params.DevStatus as string | undefined;
    if (devStatus !== undefined && !["all", "dev", "audit", "released"].includes(devStatus)) {
      throw invalidParameterValue("DevStatus", "all, dev, audit or released");
    }
    const projectId = params.ProjectId as string | undefined;
    const products = (await registry.listProducts())
      .filter((product) => projectId === undefined || projectId === "" || product.studio.projectId === projectId)
      .filter(() => devStatus === undefined || devStatus === "all" || devStatus === "dev"); // every mock product is in development
    return {
      Products: await Promise.all(products.slice(offset, offset + limit).map(async (product) => productEntry(product, await registry.countDevices(product.productId)))),
      Total: products.length,
    };
  },
};

const deleteStudioProduct: Action = {
  schema: { ProductId: string(true) },
  async run(params, context) {
    const { registry } = context;
    const product = await requireProduct(registry, params.ProductId as string, "ResourceNotFound.StudioProductNotExist");
    const devices = await registry.countDevices(product.productId);
    if (devices > 0) {
      throw new CloudApiError("UnsupportedOperation.DevicesExistUnderProduct", `The product ${product.productId} still has ${devices} devices; delete them first.`);
    }
    await registry.deleteProduct(product.productId);
    recordManagement(context, `DeleteStudioProduct ${product.productName}`, product.productId);
    return {};
  },
};

const describeProductDynamicRegister: Action = {
  schema: { ProductId: string(true) },
  async run(params, { registry }) {
    return dynamicRegisterAnswer(await requireProduct(registry, params.ProductId as string));
  },
};

const modifyProductDynamicRegister: Action = {
  schema: { ProductId: string(true), RegisterType: integer(true), RegisterLimit: integer(true) },
  async run(params, context) {
    const { registry } = context;
    const product = await requireProduct(registry, params.ProductId as string);
    const type = params.RegisterType as number;
    if (type !== 0 && type !== 1 && type !== 2) throw invalidParameterValue("RegisterType", "0 (off), 1 (pre-created devices) or 2 (auto-create devices)");
    const limit = params.RegisterLimit as number;
    if (limit < 0 || limit > MAX_REGISTER_LIMIT) throw invalidParameterValue("RegisterLimit", `0 (no limit) to ${MAX_REGISTER_LIMIT}`);
    let updated: Product;
    try {
      updated = await registry.setDynamicRegistration(product.productId, type, limit, context.now());
    } catch (error) {
      if (error instanceof RegistryError && error.code === "not-found") throw new CloudApiError("ResourceNotFound.ProductNotExist", error.message);
      throw error;
    }
    recordManagement(context, `ModifyProductDynamicRegister RegisterType ${type}, RegisterLimit ${limit}`, product.productId);
    return dynamicRegisterAnswer(updated);
  },
};

export const PRODUCT_ACTIONS: Readonly<Record<string, Action>> = {
  CreateStudioProduct: createStudioProduct,
  DescribeStudioProduct: describeStudioProduct,
  GetStudioProductList: getStudioProductList,
  DeleteStudioProduct: deleteStudioProduct,
  DescribeProductDynamicRegister: describeProductDynamicRegister,
  ModifyProductDynamicRegister: modifyProductDynamicRegister,
};
