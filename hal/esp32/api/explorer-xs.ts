/**
 * The module "explorer-xs" an app imports (hal/esp32/manifest.json names it): the public API
 * of ../explorer-xs.ts under a short name. It re-exports by module name, because XS resolves a
 * relative import against the importing module's name, and "explorer-xs" has no folder.
 */
export { startExplorer } from "hal/esp32/explorer-xs";
export type { ActionHandler, BootEvent, BootState, DevInfoStore, EventType, ExplorerDevice, ExplorerOptions, FirstOnlineSync } from "hal/esp32/explorer-xs";
