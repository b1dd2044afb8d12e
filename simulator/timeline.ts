/**
 * A readable timeline of one boot: HAL events and boot states, each with its elapsed time.
 * Secrets never reach it: the PSK is shown masked to its last 4 characters.
 */
import type { BootEvent, FirstOnlineSync } from "../firmware/boot";
import type { HalTraceEvent } from "./instrumented-hal";

export class Timeline {
  private readonly startedMs = performance.now();
  constructor(private readonly write: (line: string) => void = (line) => process.stdout.write(line + "\n")) {}

  line(label: string, detail = ""): void {
    const elapsed = (performance.now() - this.startedMs).toFixed(1).padStart(8);
    // A label longer than its column still gets a space before the detail; no trailing blanks.
    this.write(`  +${elapsed} ms  ${detail ? `${label.padEnd(19)} ${detail}` : label}`);
  }

  onState(event: BootEvent): void {
    // online and registered are told by the HAL events around them; states add the rest.
    if (event.state === "backoff" || event.state.startsWith("failed:") || event.state === "booting") {
      this.line(event.state, event.detail ?? "");
    }
  }

  /** What the first online of the boot did: report_info, get_status and pending control, the clock check. */
  onSynced(sync: FirstOnlineSync): void {
    if (sync.infoReported) this.line("report_info", "firmware and module info sent, report_info_reply code 0");
    if (sync.status) {
      const reported = Object.keys(sync.status.reported ?? {}).length;
      this.line("get_status", `${reported} reported value${reported === 1 ? "" : "s"} on the platform, ${sync.status.control ? "control pending" : "no control pending"}`);
    }
    if (sync.appliedControl) this.line("pending control", `${JSON.stringify(sync.appliedControl)} applied, cleared (clear_control) and reported`);
    if (sync.clock) {
      this.line("platform time", sync.clock.corrected ? `device clock was off by ${sync.clock.skewMs} ms: corrected` : `device clock within ${Math.abs(sync.clock.skewMs)} ms of the platform's`);
    }
    for (const problem of sync.problems) this.line("sync problem", problem);
    if (sync.missing.length > 0) this.line("sync missing", `never answered: ${sync.missing.join(", ")}`);
  }

  onHalEvent(event: HalTraceEvent): void {
    switch (event.kind) {
      case "http.request": {
        // A firmware URL's query is its signature (a credential until it expires): never printed.
        const url = event.url.split("?")[0];
        if (/\/(device\/register|register\/dev)$/.test(url)) this.line("request signed", `${event.method} ${url} (${event.bytes} B body, X-TC-Signature)`);
        else this.line("request", `${event.method} ${url}`);
        break;
      }
      case "http.response":
        this.line("response", `HTTP ${event.status}, ${event.bytes} B in ${event.ms.toFixed(1)} ms`);
        break;
      case "http.error":
        this.line("request failed", event.message);
        break;
      case "flash.commit":
        this.line("flash commit", `NVS ${event.namespace}/${event.key}`);
        break;
      case "mqtt.connack":
        this.line("MQTT connected", `${event.url} as ${event.clientId} (CONNACK in ${event.ms.toFixed(1)} ms)`);
        break;
      case "mqtt.refused":
        this.line("MQTT refused", event.message);
        break;
      case "mqtt.subscribe":
        this.line("subscribe", event.topic);
        break;
      case "mqtt.publish":
        this.line("publish", `${event.topic} (${event.bytes} B)`);
        break;
      case "mqtt.closed":
        this.line("MQTT closed", event.reason);
        break;
      default:
        break;
    }
  }
}
