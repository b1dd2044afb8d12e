/**
 * Turns the CLI's --platform and --mqtt into the URLs the boot task uses.
 */
export interface Endpoints {
  registerUrl: string;
  mqttUrl: string;
}

export function resolveEndpoints(platform: string | undefined, mqtt: string | undefined, fail: (message: string) => never): Endpoints {
  let base: URL;
  try {
    base = new URL(platform ?? "http://127.0.0.1:8080");
  } catch {
    return fail(`--platform must be a URL such as http://127.0.0.1:8080, not ${platform}`);
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") fail(`--platform must be http:// or https://, not ${base.protocol}`);
  const registerUrl = new URL("device/register", base.href.endsWith("/") ? base.href : base.href + "/").href;
  let mqttUrl = mqtt ?? `mqtt://${base.hostname}:1883`;
  try {
    const parsed = new URL(mqttUrl);
    if (parsed.protocol !== "mqtt:" && parsed.protocol !== "mqtts:") fail(`--mqtt must be mqtt:// or mqtts://, not ${parsed.protocol}`);
    if (!parsed.port) mqttUrl = `${parsed.protocol}//${parsed.hostname}:${parsed.protocol === "mqtts:" ? 8883 : 1883}`;
  } catch {
    return fail(`--mqtt must be a URL such as mqtt://127.0.0.1:1883, not ${mqtt}`);
  }
  return { registerUrl, mqttUrl };
}
