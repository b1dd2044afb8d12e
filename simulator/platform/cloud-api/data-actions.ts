/**
 * Data actions of iotexplorer 2019-04-23 on the platform's data plane (PLAN.md contract 3):
 * ControlDeviceData (reaches the device as `control`), DescribeDeviceData (the latest reported
 * values), PublishMessage (to the device's custom topics) and CallDeviceActionSync (answered by
 * the device's `action_reply`, or FailedOperation.Timeout).
 */
import { type Action, type ActionContext } from "./context";
import { CloudApiError, type CloudApiErrorCode, invalidParameterValue } from "./errors";
import { integer, string } from "./params";
import { requireDevice } from "./device-actions";

/** What the data plane gives the Cloud API (the platform's thing service has this shape). */
export interface DataPlane {
  control(productId: string, deviceName: string, params: Record<string, unknown>): Promise<{ clientToken: string; sentAt: number; delivered: boolean }>;
  callAction(productId: string, deviceName: string, actionId: string, params: Record<string, unknown>, timeoutMs?: number):
    Promise<{ clientToken: string; reply: { code: number; status: string; response: Record<string, unknown> } }>;
  publish(productId: string, deviceName: string, topic: string, payload: string | Buffer, qos?: 0 | 1): Promise<{ delivered: boolean }>;
  latestReported(productId: string, deviceName: string): Promise<Record<string, { value: unknown; updatedAt: number; deviceTimestamp?: number }>>;
}

/** CallDeviceActionSync waits this long for the action_reply by default (the mock's choice). */
export const ACTION_TIMEOUT_MS = 5_000;
/** The mock's cap on a PublishMessage payload, under the broker's 64 KiB packet cap. */
export const MAX_PUBLISH_PAYLOAD_BYTES = 32 * 1024;

function clip(text: string): string {
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}

function jsonObject(text: string, name: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalidParameterValue(name, "a JSON object text");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalidParameterValue(name, "a JSON object text");
  return value as Record<string, unknown>;
}

/** The device, which must exist and be enabled for data to reach it. */
async function enabledDevice(context: ActionContext, params: Record<string, unknown>) {
  const { device } = await requireDevice(context, params.ProductId as string, params.DeviceName as string);
  if (!device.enabled) throw new CloudApiError("UnauthorizedOperation.DeviceIsNotEnabled", `The device ${device.productId}/${device.deviceName} is disabled.`);
  return device;
}

/** The data plane's typed refusals as Tencent's codes. */
function dataPlaneError(error: unknown, productId: string, deviceName: string): never {
  const code = (error as { code?: unknown }).code;
  const device = `${productId}/${deviceName}`;
  switch (code) {
    case "device-not-found": throw new CloudApiError("ResourceNotFound.DeviceNotExist", `The device ${device} does not exist.`);
    case "device-offline": throw new CloudApiError("FailedOperation.DeviceOffline", `The device ${device} is offline.`);
    case "action-timeout": throw new CloudApiError("FailedOperation.Timeout", `The device ${device} sent no action_reply in time.`);
    case "topic-not-allowed": throw new CloudApiError("InvalidParameterValue", (error as Error).message);
    // A data template's refusal names its own code (docs/PROTOCOL.md §13).
    case "invalid": throw new CloudApiError((error as { cloudApiCode?: CloudApiErrorCode }).cloudApiCode ?? "InvalidParameterValue", (error as Error).message);
    case "busy": throw new CloudApiError("RequestLimitExceeded", (error as Error).message);
    default: throw error;
  }
}

export function createDataActions(plane: DataPlane, options: { actionTimeoutMs?: number } = {}): Readonly<Record<string, Action>> {
  const actionTimeoutMs = options.actionTimeoutMs ?? ACTION_TIMEOUT_MS;
  const controlDeviceData: Action = {
    schema: { ProductId: string(true), DeviceName: string(true), Data: string(true), Method: string(), DeviceId: string(), DataTimestamp: integer() },
    async run(params, context) {
      const device = await enabledDevice(context, params);
      const method = (params.Method as string | undefined) || "desired";
      if (method === "reported") throw new CloudApiError("UnsupportedOperation", "The mock platform does not simulate reports (Method reported); let the device report.");
      if (method !== "desired") throw invalidParameterValue("Method", "desired or reported");
      const data = jsonObject(params.Data as string, "Data");
      let sent;
      try {
        sent = await plane.control(device.productId, device.deviceName, data);
      } catch (error) {
        dataPlaneError(error, device.productId, device.deviceName);
      }
      context.events.record({ kind: "control", ok: true, productId: device.productId, deviceName: device.deviceName, clientToken: sent.clientToken,
        detail: `${sent.delivered ? "sent" : "kept for the device's next get_status"}: ${clip(JSON.stringify(data))}` });
      return {
        // The message sent down, with its clientToken (the mock's choice of Data's content).
        Data: JSON.stringify({ method: "control", clientToken: sent.clientToken, params: data }),
        // Sent 1: the device is online and subscribed; pushResult 0 success, 23101 offline (as documented).
        Result: JSON.stringify(sent.delivered ? { Sent: 1, pushResult: 0 } : { Sent: 0, pushResult: 23101 }),
      };
    },
  };

  const describeDeviceData: Action = {
    schema: { ProductId: string(true), DeviceName: string(true), DeviceId: string() },
    async run(params, context) {
      const { device } = await requireDevice(context, params.ProductId as string, params.DeviceName as string);
      const latest = await plane.latestReported(device.productId, device.deviceName);
      // {"property":{"Value":..,"LastUpdate":<ms>}}, the shape of Tencent's examples.
      const data = Object.fromEntries(Object.entries(latest).map(([name, entry]) => [name, { Value: entry.value, LastUpdate: entry.updatedAt }]));
      return { Data: JSON.stringify(data) };
    },
  };

  const publishMessage: Action = {
    schema: { ProductId: string(true), DeviceName: string(true), Topic: string(true), Payload: string(true), Qos: integer(), PayloadEncoding: string() },
    async run(params, context) {
      const device = await enabledDevice(context, params);
      const qos = (params.Qos as number | undefined) ?? 0;
      if (qos !== 0 && qos !== 1) throw invalidParameterValue("Qos", "0 or 1");
      const encoding = (params.PayloadEncoding as string | undefined) ?? "";
      if (encoding !== "" && encoding !== "base64") throw invalidParameterValue("PayloadEncoding", "base64 or empty");
      const text = params.Payload as string;
      if (encoding === "base64" && !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw invalidParameterValue("Payload", "Base64");
      const payload = encoding === "base64" ? Buffer.from(text, "base64") : Buffer.from(text, "utf8");
      if (payload.length > MAX_PUBLISH_PAYLOAD_BYTES) throw new CloudApiError("InvalidParameterValue.PayloadOverLimit", `The payload exceeds ${MAX_PUBLISH_PAYLOAD_BYTES} bytes.`);
      let result;
      try {
        result = await plane.publish(device.productId, device.deviceName, params.Topic as string, payload, qos);
      } catch (error) {
        dataPlaneError(error, device.productId, device.deviceName);
      }
      if (!result.delivered) throw new CloudApiError("FailedOperation.DeviceOffline", `The device ${device.productId}/${device.deviceName} is offline; nothing was kept for it.`);
      return {};
    },
  };

  const callDeviceActionSync: Action = {
    schema: { ProductId: string(true), DeviceName: string(true), ActionId: string(true), InputParams: string() },
    async run(params, context) {
      const device = await enabledDevice(context, params);
      const input = params.InputParams === undefined || params.InputParams === "" ? {} : jsonObject(params.InputParams as string, "InputParams");
      const actionId = params.ActionId as string;
      context.events.record({ kind: "action", ok: true, productId: device.productId, deviceName: device.deviceName, detail: clip(`${actionId} ${JSON.stringify(input)}`) });
      let answered;
      try {
        answered = await plane.callAction(device.productId, device.deviceName, actionId, input, actionTimeoutMs);
      } catch (error) {
        dataPlaneError(error, device.productId, device.deviceName);
      }
      return { ClientToken: answered.clientToken, OutputParams: JSON.stringify(answered.reply.response), Status: answered.reply.status };
    },
  };

  return {
    ControlDeviceData: controlDeviceData,
    DescribeDeviceData: describeDeviceData,
    PublishMessage: publishMessage,
    CallDeviceActionSync: callDeviceActionSync,
  };
}
