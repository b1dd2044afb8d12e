/**
 * The firmware core as an XS program: the boot task and the device-info record store over the
 * bridge Hal. The Node side drives it with `invoke` (see host.ts) and hears boot states as
 * events. One boot task at a time, as on the device.
 */
import { bootDevice, type BootOptions, type BootTask } from "../firmware/boot";
import { BridgeError } from "./codec";
import { bridgeHal } from "./bridge-hal";
import { exposeRecordStore } from "./expose-store";
import { emitEvent, expose, installCommandHandler } from "./runtime";

let task: BootTask | undefined;

function currentTask(): BootTask {
  if (task === undefined) throw new BridgeError("no boot task: invoke boot first");
  return task;
}

exposeRecordStore();
expose({
  /** Starts the boot task; resolves when it is online with its first report acknowledged. */
  boot: async (options: Omit<BootOptions, "onControl" | "onAction">) => {
    if (task !== undefined && task.state !== "stopped" && !task.state.startsWith("failed:")) {
      throw new BridgeError(`a boot task is already ${task.state}`);
    }
    // Functions cannot cross the bridge: control messages and actions are accepted and reported as events.
    const started = bootDevice(bridgeHal, {
      ...options,
      onControl: (params) => emitEvent("control", params),
      onAction: (actionId, params) => { emitEvent("action", { actionId, params }); return { accepted: true }; },
    });
    task = started;
    started.onState((event) => emitEvent("state", event));
    await started.online;
    return started.state;
  },
  state: () => currentTask().state,
  report: (params: Record<string, unknown>) => currentTask().report(params),
  /** The first-online sync's summary (report_info, get_status and pending control, clock check). */
  synced: () => currentTask().synced,
  postEvent: (eventId: string, params: Record<string, unknown>) => currentTask().postEvent(eventId, params),
  stop: () => currentTask().stop(),
});

installCommandHandler();
