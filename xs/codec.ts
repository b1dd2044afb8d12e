/**
 * The JSON codec for everything that crosses the XS bridge (XS <-> child <-> host).
 *
 * Plain JSON cannot carry bytes, so a Uint8Array travels as {"$u8": base64} and an ArrayBuffer
 * (a flash blob) as {"$ab": base64}; a thrown HAL error travels as a SerializedError and is
 * rebuilt as the same firmware/contracts class on the other side, so the core's `instanceof` checks
 * behave on XS exactly as on Node. Engine-neutral: runs inside XS and in Node.
 */
import { base64Decode, base64Encode } from "../firmware/encoding";
import { FlashError, HalMqttError, HalNetworkError, type NetworkErrorCode } from "../firmware/contracts";

/** Bridge messages are small (HTTP bodies and MQTT payloads are bounded by the core). */
export const MAX_BRIDGE_MESSAGE_CHARS = 1024 * 1024;

export class BridgeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BridgeError";
  }
}

export function encodeMessage(value: unknown): string {
  const text = JSON.stringify(value, (_key, item: unknown) => {
    if (item instanceof Uint8Array) return { $u8: base64Encode(item) };
    if (item instanceof ArrayBuffer) return { $ab: base64Encode(new Uint8Array(item)) };
    return item;
  });
  if (text === undefined) throw new BridgeError("bridge message is not JSON-serialisable");
  if (text.length > MAX_BRIDGE_MESSAGE_CHARS) throw new BridgeError(`bridge message of ${text.length} chars exceeds the limit`);
  return text;
}

export function decodeMessage(text: string): unknown {
  if (text.length > MAX_BRIDGE_MESSAGE_CHARS) throw new BridgeError(`bridge message of ${text.length} chars exceeds the limit`);
  return JSON.parse(text, (_key, item: unknown) => {
    if (item !== null && typeof item === "object" && !Array.isArray(item)) {
      const tagged = item as Record<string, unknown>;
      if (typeof tagged.$u8 === "string" && Object.keys(tagged).length === 1) return base64Decode(tagged.$u8);
      if (typeof tagged.$ab === "string" && Object.keys(tagged).length === 1) {
        const bytes = base64Decode(tagged.$ab);
        return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
      }
    }
    return item;
  });
}

export interface SerializedError {
  name: string;
  message: string;
  /** NetworkErrorCode or FlashError code. */
  code?: string;
  /** HalMqttError return code. */
  returnCode?: number;
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof HalNetworkError) return { name: error.name, message: error.message, code: error.code };
  if (error instanceof FlashError) return { name: error.name, message: error.message, code: error.code };
  if (error instanceof HalMqttError) return { name: error.name, message: error.message, returnCode: error.returnCode };
  if (error instanceof Error) {
    // The core's ExplorerError family carries its ErrorCode in `code`: keep it.
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" ? { name: error.name, message: error.message, code } : { name: error.name, message: error.message };
  }
  return { name: "Error", message: String(error) };
}

/** Rebuilds the HAL error class the core expects; anything else becomes a plain Error. */
export function deserializeError(error: SerializedError): Error {
  switch (error.name) {
    case "HalNetworkError":
      return new HalNetworkError((error.code ?? "other") as NetworkErrorCode, error.message);
    case "FlashError":
      return new FlashError((error.code ?? "io") as FlashError["code"], error.message);
    case "HalMqttError":
      return new HalMqttError(error.returnCode ?? 0, error.message);
    default: {
      const plain = new Error(error.message) as Error & { code?: string };
      plain.name = error.name;
      if (error.code !== undefined) plain.code = error.code;
      return plain;
    }
  }
}
