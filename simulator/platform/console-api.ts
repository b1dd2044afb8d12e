/**
 * The console API (JSON over HTTP under /console): what a person does in Tencent's console.
 * Secrets appear only where that console shows them: the ProductSecret on the product (while
 * dynamic registration is on, since only then does it exist), a device's PSK or certificate
 * only on that device's detail, never in lists.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { PlatformBroker } from "./broker";
import type { CertAuthority } from "./cert-authority";
import { BodyTooLargeError, mediaType, readBody, sendJson } from "./http-server";
import { RegistryError, type Device, type Product, type Registry } from "./registry";
import { ThingError, type ThingService } from "./thing";

const MAX_CONSOLE_BODY_BYTES = 64 * 1024;

export interface ConsoleApiOptions {
  registry: Registry;
  broker: PlatformBroker;
  thing: ThingService;
  certAuthority: () => Promise<CertAuthority>;
  now: () => number;
}

class ConsoleError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

function productView(product: Product, deviceCount: number) {
  return {
    productId: product.productId,
    productSecret: product.dynamicRegistration ? product.productSecret : null,
    dynamicRegistration: product.dynamicRegistration,
    autoCreate: product.autoCreate,
    authType: product.authType,
    region: product.region,
    createdAt: product.createdAt,
    deviceCount,
  };
}

function deviceSummary(device: Device, online: boolean) {
  return {
    productId: device.productId,
    deviceName: device.deviceName,
    state: device.state,
    online,
    autoCreated: device.autoCreated,
    createdAt: device.createdAt,
    registeredAt: device.registeredAt ?? null,
    activatedAt: device.activatedAt ?? null,
  };
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  if (mediaType(req.headers["content-type"]) !== "application/json") throw new ConsoleError(415, "content-type", "Content-Type must be application/json");
  let body: Buffer;
  try {
    body = await readBody(req, MAX_CONSOLE_BODY_BYTES);
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw new ConsoleError(413, "body-too-large", error.message);
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"));
  } catch {
    throw new ConsoleError(400, "malformed-json", "the body is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new ConsoleError(400, "malformed-json", "the body must be a JSON object");
  return value as Record<string, unknown>;
}

function optionalBoolean(body: Record<string, unknown>, field: string): boolean | undefined {
  const value = body[field];
  if (value !== undefined && typeof value !== "boolean") throw new ConsoleError(400, "invalid", `${field} must be a boolean`);
  return value;
}

/** A 24-character ProductSecret, like the ones Tencent issues. */
export function newProductSecret(): string {
  return randomBytes(18).toString("base64").replace(/\+/g, "A").replace(/\//g, "B");
}

export function createConsoleHandler(options: ConsoleApiOptions) {
  const { registry, broker } = options;

  function product(productId: string): Product {
    const found = registry.getProduct(productId);
    if (!found) throw new ConsoleError(404, "product-not-found", `product ${productId} does not exist`);
    return found;
  }

  function device(productId: string, deviceName: string): Device {
    product(productId);
    const found = registry.getDevice(productId, deviceName);
    if (!found) throw new ConsoleError(404, "device-not-found", `device ${productId}/${deviceName} does not exist`);
    return found;
  }

  async function route(req: IncomingMessage, parts: string[]): Promise<[number, unknown]> {
    const method = req.method ?? "GET";
    const [resource, productId, sub, deviceName, action] = parts;
    if (resource === undefined) {
      return [200, { products: registry.listProducts().length }];
    }
    if (resource === "ca" && parts.length === 1 && method === "GET") {
      return [200, { caCertPem: (await options.certAuthority()).caCertPem }];
    }
    if (resource !== "products") throw new ConsoleError(404, "not-found", "no such console resource");
    if (productId === undefined) {
      if (method === "GET") return [200, { products: registry.listProducts().map((p) => productView(p, registry.listDevices(p.productId).length)) }];
      if (method === "POST") {
        const body = await readJson(req);
        const created = registry.createProduct({
          productId: body.productId as string,
          productSecret: body.productSecret === undefined ? newProductSecret() : body.productSecret as string,
          dynamicRegistration: optionalBoolean(body, "dynamicRegistration"),
          autoCreate: optionalBoolean(body, "autoCreate"),
          authType: body.authType as Product["authType"] | undefined,
          region: body.region as string | undefined,
        }, options.now());
        return [201, productView(created, 0)];
      }
    } else if (sub === undefined) {
      if (method === "GET") return [200, productView(product(productId), registry.listDevices(productId).length)];
      if (method === "PATCH") {
        const body = await readJson(req);
        product(productId);
        const updated = registry.setProductSwitches(productId, {
          dynamicRegistration: optionalBoolean(body, "dynamicRegistration"),
          autoCreate: optionalBoolean(body, "autoCreate"),
        });
        return [200, productView(updated, registry.listDevices(productId).length)];
      }
      if (method === "DELETE") {
        const devices = registry.listDevices(product(productId).productId);
        registry.deleteProduct(productId);
        for (const d of devices) broker.disconnect(d.productId, d.deviceName);
        return [200, { deleted: productId }];
      }
    } else if (sub === "devices" && deviceName === undefined) {
      if (method === "GET") {
        product(productId);
        return [200, { devices: registry.listDevices(productId).map((d) => deviceSummary(d, broker.isOnline(d.productId, d.deviceName))) }];
      }
      if (method === "POST") {
        const body = await readJson(req);
        product(productId);
        const created = registry.createDevice(productId, body.deviceName as string, { now: options.now() });
        return [201, deviceSummary(created, false)];
      }
    } else if (sub === "devices" && deviceName !== undefined && action === undefined) {
      if (method === "GET") {
        const found = device(productId, deviceName);
        return [200, {
          ...deviceSummary(found, broker.isOnline(productId, deviceName)),
          psk: found.psk ?? null,
          certPem: found.certPem ?? null,
          keyPem: found.keyPem ?? null,
        }];
      }
      if (method === "DELETE") {
        device(productId, deviceName);
        registry.deleteDevice(productId, deviceName);
        broker.disconnect(productId, deviceName);
        return [200, { deleted: `${productId}/${deviceName}` }];
      }
    } else if (sub === "devices" && deviceName !== undefined && action === "control" && parts.length === 5) {
      if (method === "POST") {
        const body = await readJson(req);
        device(productId, deviceName);
        const params = body.params;
        if (typeof params !== "object" || params === null || Array.isArray(params)) throw new ConsoleError(400, "invalid", "params must be an object");
        // requireOnline false keeps the control pending for the device's next get_status (issue 14).
        const requireOnline = optionalBoolean(body, "requireOnline") ?? true;
        const message = options.thing.control(productId, deviceName, params as Record<string, unknown>, { requireOnline });
        return [200, { clientToken: message.clientToken, sentAt: message.sentAt, delivered: message.delivered }];
      }
      if (method === "GET") {
        device(productId, deviceName);
        return [200, { controls: registry.listControls(productId, deviceName) }];
      }
    // ---- data plane (issue 14): action calls and what the device reported ----
    } else if (sub === "devices" && deviceName !== undefined && action === "action" && parts.length === 5) {
      if (method === "POST") {
        const body = await readJson(req);
        device(productId, deviceName);
        const params = body.params ?? {};
        if (typeof params !== "object" || params === null || Array.isArray(params)) throw new ConsoleError(400, "invalid", "params must be an object");
        if (body.timeoutMs !== undefined && typeof body.timeoutMs !== "number") throw new ConsoleError(400, "invalid", "timeoutMs must be a number");
        const call = await options.thing.callAction(productId, deviceName, body.actionId as string, params as Record<string, unknown>, body.timeoutMs as number | undefined);
        return [200, { clientToken: call.clientToken, ...call.reply }];
      }
      if (method === "GET") {
        device(productId, deviceName);
        return [200, { actions: registry.listActions(productId, deviceName) }];
      }
    } else if (sub === "devices" && deviceName !== undefined && action === "data" && parts.length === 5) {
      if (method === "GET") {
        device(productId, deviceName);
        return [200, {
          reported: options.thing.latestReported(productId, deviceName),
          pendingControl: options.thing.pendingControl(productId, deviceName) ?? null,
          deviceInfo: options.thing.deviceInfo(productId, deviceName) ?? null,
        }];
      }
    } else {
      throw new ConsoleError(404, "not-found", "no such console resource");
    }
    throw new ConsoleError(405, "method-not-allowed", `${method} is not allowed here`);
  }

  return async function handleConsole(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const date = new Date(options.now());
    let parts: string[];
    try {
      parts = path.split("/").filter((part) => part.length > 0).slice(1).map((part) => decodeURIComponent(part));
    } catch {
      sendJson(res, 400, { error: { code: "invalid-path", message: "the path is not URL-encoded correctly" } }, { date });
      return;
    }
    try {
      const [status, body] = await route(req, parts);
      sendJson(res, status, body, { date });
    } catch (error) {
      const close = !req.complete;
      if (error instanceof ConsoleError) {
        sendJson(res, error.status, { error: { code: error.code, message: error.message } }, { date, close });
      } else if (error instanceof RegistryError) {
        const status = error.code === "invalid" ? 400 : error.code === "exists" ? 409 : 404;
        sendJson(res, status, { error: { code: error.code, message: error.message } }, { date, close });
      } else if (error instanceof ThingError) {
        const status = error.code === "device-offline" ? 409 : error.code === "device-not-found" ? 404 : error.code === "action-timeout" ? 504 : 400;
        sendJson(res, status, { error: { code: error.code, message: error.message } }, { date, close });
      } else {
        sendJson(res, 500, { error: { code: "internal", message: error instanceof Error ? error.message : String(error) } }, { date, close });
      }
    }
  };
}
