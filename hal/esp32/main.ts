/**
 * The board image's entry (manifest.json creation.main): explorer-xs on its own, the first
 * thing people flash. It is the smallest app of the library's public API (./explorer-xs.ts);
 * examples/ shows apps with their own data template behind it.
 */
import { createCoreLog } from "../../firmware/log";
import { startExplorer } from "./explorer-xs";
import { TraceLogger } from "./log";

export default function main(): void {
  const log = createCoreLog(new TraceLogger());
  startExplorer({ log }).catch((error: unknown) => {
    log.log("error", "boot.fatal", { message: error instanceof Error ? error.message : String(error) });
  });
}
