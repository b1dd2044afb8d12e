/**
 * A stand-in for the platform's data plane (PLAN.md contract 3) until it lands on main: control
 * through today's broker; the other calls are refused. The Cloud API's data actions take the
 * real one (thing.ts) at the merge, and this file goes.
 */
import type { PlatformBroker } from "./broker";
import { CloudApiError } from "./cloud-api/errors";
import type { DataPlane } from "./cloud-api/data-actions";

export function interimDataPlane(broker: PlatformBroker): DataPlane {
  const unavailable = () => new CloudApiError("UnsupportedOperation", "This action needs the platform's data plane (issue 14).");
  return {
    control(productId, deviceName, params) {
      if (!broker.isOnline(productId, deviceName)) return { clientToken: "", sentAt: Date.now(), delivered: false };
      const sent = broker.sendControl(productId, deviceName, params);
      return { clientToken: sent.clientToken, sentAt: sent.sentAt, delivered: true };
    },
    callAction: () => Promise.reject(unavailable()),
    publish: () => Promise.reject(unavailable()),
    latestReported: () => ({}),
  };
}
