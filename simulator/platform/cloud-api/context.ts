/**
 * What every Cloud API action gets: the platform's parts, the caller and the request's region.
 */
import type { PlatformBroker } from "../broker";
import type { CertAuthority } from "../cert-authority";
import type { PlatformEvents } from "../events";
import type { Registry } from "../registry";
import type { Principal } from "./credentials";
import type { Schema } from "./params";

export interface ActionContext {
  registry: Registry;
  broker: PlatformBroker;
  certAuthority: () => Promise<CertAuthority>;
  events: PlatformEvents;
  now: () => number;
  principal: Principal;
  /** X-TC-Region, or the platform's default region. */
  region: string;
}

export interface Action {
  /** The request's fields, from the SDK's iotexplorer v20190423 models. */
  schema: Schema;
  /** The Response fields besides RequestId. */
  run(params: Record<string, unknown>, context: ActionContext): Promise<Record<string, unknown>> | Record<string, unknown>;
}

/** Unix seconds, as Tencent's time fields are. */
export function seconds(ms: number | undefined): number {
  return ms === undefined ? 0 : Math.floor(ms / 1000);
}
