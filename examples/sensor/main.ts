/**
 * A sensor on explorer-xs: reads an analog input (Moddable's pins/analog, e.g. a light sensor
 * on an ADC pin) and reports it as the property `light` every `reportSeconds`. Build:
 * mcconfig -d -m -p esp32 examples/sensor/manifest.json ssid=... password=... productId=... productSecret=...
 */
import config from "mc/config";
import Analog from "pins/analog";
import Timer from "timer";
import { startExplorer } from "explorer-xs";

function integerOf(name: string, min: number, max: number): number {
  const value = Number((config as Record<string, unknown>)[name]);
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`config.${name} must be an integer from ${min} to ${max}`);
  return value;
}

export default function main(): void {
  const pin = integerOf("sensorPin", 0, 48);
  const periodMs = integerOf("reportSeconds", 1, 86_400) * 1000;
  const read = () => ({ light: Analog.read(pin) });
  startExplorer({ initialReport: read() }).then(
    (device) => {
      trace("sensor.online\n");
      // One report at a time: a slow reply never piles reports up in a small heap.
      let inFlight = false;
      Timer.repeat(() => {
        if (inFlight) return;
        inFlight = true;
        const values = read();
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
