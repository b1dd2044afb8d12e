/**
 * A lamp on explorer-xs: the data template's `power_switch` (0/1) and `brightness` (0-100) on
 * the board LED through Moddable's PWM, and the board's button (through Digital) toggling it
 * and posting a `status_report` event. Build: mcconfig -d -m -p esp32 examples/lamp/manifest.json
 * ssid=... password=... productId=... productSecret=... deviceName=...
 */
import config from "mc/config";
import Digital from "pins/digital";
import PWM from "pins/pwm";
import Timer from "timer";
import { startExplorer, type ExplorerDevice } from "explorer-xs";

/** Moddable's ESP32 PWM writes a 10-bit duty. */
const PWM_FULL = 1023;
const BUTTON_POLL_MS = 50;

function pinOf(name: string): number {
  const value = Number((config as Record<string, unknown>)[name]);
  if (!Number.isInteger(value) || value < 0 || value > 48) throw new RangeError(`config.${name} must be a GPIO number from 0 to 48`);
  return value;
}

class Lamp {
  power = 0;
  brightness = 100;
  readonly #pwm = new PWM({ pin: pinOf("lampPin") });

  /** Applies control; a value outside the template refuses the whole message (control_reply code 1). */
  apply(params: Record<string, unknown>): void {
    const { power_switch: power, brightness } = params;
    if (power !== undefined && power !== 0 && power !== 1) throw new RangeError("power_switch must be 0 or 1");
    if (brightness !== undefined && (typeof brightness !== "number" || !Number.isInteger(brightness) || brightness < 0 || brightness > 100)) {
      throw new RangeError("brightness must be an integer from 0 to 100");
    }
    if (power !== undefined) this.power = power;
    if (brightness !== undefined) this.brightness = brightness;
    const duty = this.power ? Math.round((this.brightness * PWM_FULL) / 100) : 0;
    this.#pwm.write(duty);
    trace(`lamp.applied power_switch=${this.power} brightness=${this.brightness} duty=${duty}\n`);
  }

  get state(): Record<string, number> {
    return { power_switch: this.power, brightness: this.brightness };
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
    online.postEvent("status_report", { status: lamp.power, message: "button" }).catch((error: unknown) => trace(`lamp.event.failed ${String(error)}\n`));
  }, BUTTON_POLL_MS);
}

export default function main(): void {
  const lamp = new Lamp();
  lamp.apply({ power_switch: 0 });
  let device: ExplorerDevice | undefined;
  watchButton(lamp, () => device);
  startExplorer({
    initialReport: lamp.state,
    onControl: (params) => lamp.apply(params),
  }).then(
    (online) => {
      device = online;
      trace("lamp.online\n");
    },
    (error: unknown) => trace(`lamp.failed ${error instanceof Error ? error.message : String(error)}\n`),
  );
}
