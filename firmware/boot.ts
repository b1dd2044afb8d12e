/**
 * The boot task (API frozen; implementation in progress): turns device info in flash into an
 * online device. Engine-neutral: it sees the platform only through the Hal.
 */
import type { Hal } from "../hal/types";
import type { ErrorCode } from "./errors";

export type BootState =
  | "booting"
  | "registering"
  | "registered"
  | "connecting"
  | "online"
  | "backoff"
  | "stopped"
  | `failed:${ErrorCode}`;

export interface BootOptions {
  /** Registration endpoint; default https://ap-guangzhou.gateway.tencentdevices.com/device/register */
  registerUrl?: string;
  /** Broker; default mqtts://<ProductId>.iotcloud.tencentdevices.com:8883 */
  mqttUrl?: string;
  /** Request signature algorithm; default hmacsha256. */
  signAlgorithm?: "hmacsha256" | "hmacsha1";
  /** Properties sent in the first report (and on each `report()`). */
  initialReport?: Record<string, unknown>;
  /** Called for every control message; returns the properties applied (default: accept all). */
  onControl?: (params: Record<string, unknown>) => void;
  keepAliveSeconds?: number;
  backoff?: { baseMs: number; capMs: number; maxAttempts?: number };
}

export interface BootEvent {
  state: BootState;
  /** Milliseconds since the task started (monotonic clock). */
  elapsedMs: number;
  /** Human-readable detail: never a secret. */
  detail?: string;
}

export interface BootTask {
  readonly state: BootState;
  /** Resolves when first online with the first report acknowledged, or rejects with the fatal ExplorerError. */
  readonly online: Promise<void>;
  onState(listener: (event: BootEvent) => void): void;
  /** Publishes a property report and resolves on its report_reply. */
  report(params: Record<string, unknown>): Promise<void>;
  stop(): Promise<void>;
}

export declare function bootDevice(hal: Hal, options?: BootOptions): BootTask;
