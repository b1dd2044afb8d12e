/**
 * A sensor on explorer-xs: reads an analog input (Moddable's pins/analog, e.g. a light sensor
 * on an ADC pin) and reports it as the data template's read-only property `light` (template.json:
 * percent of the ADC's 0-3.3 V range) every `reportSeconds`. Its type and check come from the
 * template: data-template.generated.ts is what `npx explorer-xs codegen --template
 * examples/sensor/template.json --out examples/sensor` writes; change the template, generate
 * again, and tsc shows what this code no longer matches. Build:
 * mcconfig -d -m -p esp32 examples/sensor/manifest.json ssid=... password=... productId=... productSecret=...
 */
import config from "mc/config";
import Analog from "pins/analog";
import Timer from "timer";
import { startExplorer } from "explorer-xs";
import { checkReport, type PropertyReport } from "./data-template.generated";

/** Moddable's ESP32 Analog.read scales the ADC's 0-3.3 V to 0-1023. */
const ANALOG_FULL = 1023;

function integerOf(name: string, min: number, max: number): number {
  const value = Number((config as Record<string, unknown>)[name]);
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`config.${name} must be an integer from ${min} to ${max}`);
  return value;
}

export default function main(): void {
  const pin = integerOf("sensorPin", 0, 48);
  const periodMs = integerOf("reportSeconds", 1, 86_400) * 1000;
  // Checked as the platform would check it: a reading outside 0..100 is refused here, not by the platform.
  const read = (): PropertyReport => checkReport({ light: Math.round((Analog.read(pin) * 100) / ANALOG_FULL) });
  startExplorer({ initialReport: read() }).then(
    (device) => {
      trace("sensor.online\n");
      // One report at a time: a slow reply never piles reports up in a small heap.
      let inFlight = false;
      Timer.repeat(() => {
        if (inFlight) return;
        const values = read();
        inFlight = true;
        device.report(values).then(
          () => trace(`sensor.reported light=${values.light}\n`),
          (error: unknown) => trace(`sensor.report.failed ${error instanceof Error ? error.message : String(error)}\n`),
        ).then(() => {
          inFlight = false;
        });
      }, periodMs);
    },
    (error: unknown) => trace(`sensor.failed ${error instanceof Error ? error.message : String(error)}\n`),
  );
}
