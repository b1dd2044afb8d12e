/**
 * A lamp on explorer-xs: the data template's `power_switch` and `brightness` (template.json) on
 * the board LED through Moddable's PWM, and the board's button (through Digital) toggling it
 * and posting a `status_report` event. The types and checks come from the template:
 * data-template.generated.ts is what `npx explorer-xs codegen --template examples/lamp/template.json
 * --out examples/lamp` writes; change the template, generate again, and tsc shows what this code
 * no longer matches. Build: mcconfig -d -m -p esp32 examples/lamp/manifest.json
 * ssid=... password=... productId=... productSecret=... deviceName=...
 */
import config from "mc/config";
import Digital from "pins/digital";
import PWM from "pins/pwm";
import Timer from "timer";
import { startExplorer, type ExplorerDevice } from "explorer-xs";
import { checkEvent, checkReport, controlHandler, EVENT_TYPES, type Properties, type PropertyControl, type PropertyReport } from "./data-template.generated";

/** Moddable's ESP32 PWM writes a 10-bit duty. */
const PWM_FULL = 1023;
const BUTTON_POLL_MS = 50;

function pinOf(name: string): number {
  const value = Number((config as Record<string, unknown>)[name]);
  if (!Number.isInteger(value) || value < 0 || value > 48) throw new RangeError(`config.${name} must be a GPIO number from 0 to 48`);
  return value;
}

class Lamp {
  power: Properties["power_switch"] = 0;
  brightness: Properties["brightness"] = 100;
  readonly #pwm = new PWM({ pin: pinOf("lampPin") });

  /** Applies control already checked against the template (controlHandler below). */
  apply(control: PropertyControl): void {
    if (control.power_switch !== undefined) this.power = control.power_switch;
    if (control.brightness !== undefined) this.brightness = control.brightness;
    const duty = this.power ? Math.round((this.brightness * PWM_FULL) / 100) : 0;
    this.#pwm.write(duty);
    trace(`lamp.applied power_switch=${this.power} brightness=${this.brightness} duty=${duty}\n`);
  }

  /** The lamp as a report, checked as the platform would check it. */
  get state(): PropertyReport {
    return checkReport({ power_switch: this.power, brightness: this.brightness });
  }
}

/** The button toggles the lamp, reports it, and posts an event (once online). */
function watchButton(lamp: Lamp, device: () => ExplorerDevice | undefined): void {
  const button = new Digital(pinOf("buttonPin"), Digital.InputPullUp);
  let last = button.read();
  Timer.repeat(() => {
    const level = button.read();
    const pressed = last === 1 && level === 0;
    last = level;
    const online = device();
    if (!pressed || !online) return;
    lamp.apply({ power_switch: lamp.power ? 0 : 1 });
    online.report(lamp.state).catch((error: unknown) => trace(`lamp.report.failed ${String(error)}\n`));
    const event = checkEvent("status_report", { status: lamp.power, message: "button" });
    online.postEvent("status_report", event, EVENT_TYPES.status_report).catch((error: unknown) => trace(`lamp.event.failed ${String(error)}\n`));
  }, BUTTON_POLL_MS);
}

export default function main(): void {
  const lamp = new Lamp();
  lamp.apply({ power_switch: 0 });
  let device: ExplorerDevice | undefined;
  watchButton(lamp, () => device);
  startExplorer({
    initialReport: lamp.state,
    // A value outside the template refuses the whole message (control_reply code 1).
    onControl: controlHandler((control) => lamp.apply(control)),
  }).then(
    (online) => {
      device = online;
      trace("lamp.online\n");
    },
    (error: unknown) => trace(`lamp.failed ${error instanceof Error ? error.message : String(error)}\n`),
  );
}
