/**
 * A readable timeline of one boot: HAL events and boot states, each with its elapsed time.
 * Secrets never reach it: the PSK is shown masked to its last 4 characters.
 */
import type { BootEvent } from "../firmware/boot";
import type { HalTraceEvent } from "./instrumented-hal";

export class Timeline {
  private readonly startedMs = performance.now();
  constructor(private readonly write: (line: string) => void = (line) => process.stdout.write(line + "\n")) {}

  line(label: string, detail = ""): void {
    const elapsed = (performance.now() - this.startedMs).toFixed(1).padStart(8);
    this.write(`  +${elapsed} ms  ${label.padEnd(20)}${detail}`);
  }

  onState(event: BootEvent): void {
    // online and registered are told by the HAL events around them; states add the rest.
    if (event.state === "backoff" || event.state.startsWith("failed:") || event.state === "booting") {
      this.line(event.state, event.detail ?? "");
    }
  }

  onHalEvent(event: HalTraceEvent): void {
    switch (event.kind) {
      case "http.request":
        this.line("request signed", `${event.method} ${event.url} (${event.bytes} B body, X-TC-Signature)`);
        break;
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
