/**
 * The core's logger: every field the core logs passes through here before a port's Logger sees
 * it, so no port has to know what a secret looks like (hal/esp32/log.ts prints fields as given;
 * so does the XS lane's bridge). Ports print what they get.
 *
 * Three rules, applied to every field and to the event name:
 * - a field whose name says it holds a credential (secret, psk, password, key, cert, token, ...)
 *   is masked whatever its value;
 * - every occurrence of a secret this device knows, registered with protect(), is masked: the
 *   ProductSecret and its AES key, the PSK in Base64 and in hex, the MQTT password, each body
 *   line of a PEM certificate or key;
 * - every PEM block is masked whatever it holds.
 * mask() applies the last two to free text (boot details and error messages leave the core by
 * other doors than the logger).
 */
import type { LogLevel, Logger } from "./contracts";
import { base64Decode, hexEncode, maskSecret } from "./encoding";

export type LogFields = Record<string, string | number | boolean>;

export interface CoreLog extends Logger {
  /** Registers secrets (undefined and empty ones are ignored): later logs mask them wherever they appear. */
  protect(...secrets: Array<string | undefined>): void;
  /** `text` with every known secret and every PEM block masked. */
  mask(text: string): string;
}

/** Field names that hold a credential; masked whatever the value. */
const SECRET_FIELD = /secret|psk|passw|pwd|key|cert|credential|signature|token/i;
/** A name that matches the pattern but holds no secret: a data-template clientToken correlates a reply. */
const NOT_SECRET_FIELD = "clientToken";
/** Shorter needles would mask ordinary words; every secret we hold is longer. */
const MIN_NEEDLE = 8;

export function isSecretFieldName(name: string): boolean {
  return SECRET_FIELD.test(name) && name !== NOT_SECRET_FIELD;
}

/** The strings by which `secret` could show up in text. */
function needlesOf(secret: string): string[] {
  const needles = [secret];
  if (secret.indexOf("-----BEGIN") >= 0) {
    // A PEM: each body line alone, and the body without its line breaks.
    const body: string[] = [];
    for (const line of secret.split(/\r?\n/)) {
      const trimmed = line.trim();
      if (trimmed === "" || trimmed.startsWith("-----")) continue;
      needles.push(trimmed);
      body.push(trimmed);
    }
    needles.push(body.join(""));
    return needles;
  }
  // Base64 secrets (a PSK) also appear as the hex of their bytes.
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(secret) && secret.length % 4 === 0) {
    try {
      const hex = hexEncode(base64Decode(secret));
      if (hex.length >= MIN_NEEDLE) needles.push(hex, hex.toUpperCase());
    } catch {
      // not Base64 after all
    }
  }
  // A ProductSecret's first 16 characters are the registration payload's AES key.
  if (secret.length > 16) needles.push(secret.slice(0, 16));
  return needles;
}

export function createCoreLog(port: Logger): CoreLog {
  let needles: string[] = [];

  const mask = (text: string): string => {
    // A global RegExp keeps state (lastIndex), so it is made per use: a preloaded module's is frozen.
    const pem = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?(-----END \1-----|$)/g;
    let masked = text.indexOf("-----BEGIN") >= 0 ? text.replace(pem, (_block, label: string) => `-----BEGIN ${label}----- (masked)`) : text;
    for (const needle of needles) {
      if (masked.indexOf(needle) >= 0) masked = masked.split(needle).join(maskSecret(needle));
    }
    return masked;
  };

  return {
    protect(...secrets) {
      const added: string[] = [];
      for (const secret of secrets) {
        if (typeof secret !== "string" || secret.length < MIN_NEEDLE) continue;
        for (const needle of needlesOf(secret)) if (needle.length >= MIN_NEEDLE && !needles.includes(needle)) added.push(needle);
      }
      if (added.length === 0) return;
      // Longest first: a secret's 16-character prefix must not cut it in two before it is masked whole.
      needles = [...needles, ...added].sort((a, b) => b.length - a.length);
    },
    mask,
    log(level: LogLevel, event: string, fields?: LogFields) {
      if (fields === undefined) {
        port.log(level, mask(event));
        return;
      }
      const safe: LogFields = {};
      for (const name of Object.keys(fields)) {
        const value = fields[name];
        if (isSecretFieldName(name)) safe[name] = maskSecret(String(value));
        else safe[name] = typeof value === "string" ? mask(value) : value;
      }
      port.log(level, mask(event), safe);
    },
  };
}

/** The log a core module was handed, as a CoreLog when it is one. */
export function asCoreLog(logger: Logger | undefined): CoreLog | undefined {
  const candidate = logger as Partial<CoreLog> | undefined;
  return candidate && typeof candidate.protect === "function" && typeof candidate.mask === "function" ? (candidate as CoreLog) : undefined;
}
