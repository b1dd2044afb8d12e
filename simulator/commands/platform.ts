/**
 * `explorer-xs platform`: the mock Tencent Cloud IoT Explorer platform in the foreground.
 * Prints where its Cloud API key pair is and a one-time web console link, one ready line, then
 * one JSON line per registration, connection and Cloud API call (never a secret).
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import type { RunningPlatform } from "../platform/index";
import { EXIT_BAD_INPUT, readInputFile, UsageError } from "../cli-errors";

/**
 * Log lines are written in batches, at most every LOG_FLUSH_MS or LOG_FLUSH_CHARS (the lines
 * are ASCII JSON): stdout is a pipe written synchronously, and a write per line (or per
 * event-loop turn) woke the reader thousands of times a second, costing about a quarter of the
 * platform's connects/s under a connect storm (1.4k/s with a write per turn vs 1.9k/s with no
 * log, alternating runs of bench/load/connect-load.ts).
 */
const LOG_FLUSH_MS = 20;
const LOG_FLUSH_CHARS = 64 * 1024;

function createBatchedLog(write: (text: string) => void) {
  let pending: string[] = [];
  let pendingChars = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    if (timer !== undefined) { clearTimeout(timer); timer = undefined; }
    if (pending.length === 0) return;
    const text = pending.join("");
    pending = [];
    pendingChars = 0;
    write(text);
  };
  return {
    line(event: Record<string, unknown>): void {
      const text = JSON.stringify({ time: new Date().toISOString(), ...event }) + "\n";
      pending.push(text);
      pendingChars += text.length;
      if (pendingChars >= LOG_FLUSH_CHARS) flush();
      else timer ??= setTimeout(flush, LOG_FLUSH_MS).unref(); // stop() flushes what is left
    },
    flush,
  };
}

function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) throw new InvalidArgumentError("expected a port number 0-65535 (0 picks a free port)");
  return parsed;
}

function nonNegative(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new InvalidArgumentError("expected a whole number of at least 0");
  return parsed;
}

interface PlatformCommandOptions {
  log: boolean;
  config?: string;
  data: string;
  memory?: boolean;
  postgres?: string;
  redis?: string;
  host: string;
  httpPort: number;
  mqttPort: number;
  tlsKey?: string;
  tlsCert?: string;
  httpsPort: number;
  mqttTlsPort?: number;
  mqttPskPort?: number;
  timestampWindow: number;
  maxRegistrationsPerSecond: number;
  maxMqttConnections: number;
  secretId?: string;
  secretKey?: string;
}

/** Why the platform did not start, in words that say what to do; a port in use names its flag. */
function startFailure(error: unknown, options: PlatformCommandOptions): string {
  if (!(error instanceof Error)) return String(error);
  const { code, port } = error as NodeJS.ErrnoException & { port?: number };
  if (code !== "EADDRINUSE" && code !== "EADDRNOTAVAIL") return error.message;
  const flags = [
    ["--http-port", options.httpPort], ["--mqtt-port", options.mqttPort], ["--https-port", options.httpsPort],
    ["--mqtt-tls-port", options.mqttTlsPort ?? options.mqttPskPort],
  ].filter(([, value]) => value === port).map(([flag]) => flag);
  const choose = flags.length ? `choose another with ${flags.join(" or ")} (0 picks a free port)` : "choose other ports (0 picks a free port)";
  if (code === "EADDRNOTAVAIL") return `${options.host} is not an address of this machine (--host): ${error.message}`;
  return `${options.host}:${port} is already in use (another platform running?): stop what holds it, or ${choose}`;
}

/** Lines before the ready line: where the Cloud API's key pair is, and a one-time console link. */
export function credentialLines(platform: RunningPlatform): string[] {
  const { secretId, secretKey, source } = platform.apiCredentials;
  const lines: string[] = [];
  switch (source.kind) {
    case "file":
      lines.push(`cloud api: SecretId ${secretId}, SecretKey in ${source.file}${source.created ? " (made now, mode 0600)" : ""}`);
      break;
    case "generated":
      // Memory mode: nothing is kept, so the pair is shown this once.
      lines.push(`cloud api: SecretId ${secretId} SecretKey ${secretKey} (made for this run, shown once)`);
      break;
    case "config":
      lines.push(`cloud api: SecretId ${secretId} (key pair from the config file)`);
      break;
    default:
      lines.push(`cloud api: SecretId ${secretId} (key pair from --secret-id/--secret-key)`);
  }
  lines.push(`console sign-in link (works once): ${platform.consoleLoginUrl()}`);
  return lines;
}

export function register(program: Command): void {
  program
    .command("platform")
    .description("run the mock Tencent Cloud IoT Explorer platform: registration API, MQTT broker, Cloud API 3.0 and web console")
    .option("--config <file>", "products.json seeding products and pre-created devices (see simulator/platform/products.example.json)")
    .addOption(new Option("--data <dir>", "data folder: SQLite registry and mock CA, kept across restarts").default(".data/platform").conflicts("memory"))
    .addOption(new Option("--memory", "keep all state in memory (lost on exit)").conflicts("data"))
    .addOption(new Option("--postgres <url>", "keep the registry in PostgreSQL (postgres://user:password@host:port/database) instead of SQLite; " +
      "several platforms may share one database (schema created and migrated at start). Default: the config file's postgres. " +
      "The mock CA and the Cloud API key file stay in the data folder (or memory)").env("EXPLORER_XS_POSTGRES"))
    .addOption(new Option("--redis <url>", "join the platform nodes sharing this Redis (redis://[:password@]host:port[/db]) and the --postgres " +
      "registry: MQTT messages and sessions, device presence, new device keys and the registration rate are cluster-wide. " +
      "Default: the config file's redis").env("EXPLORER_XS_REDIS"))
    .option("--host <address>", "address to listen on", "127.0.0.1")
    .option("--http-port <n>", "registration, Cloud API and console HTTP port (0: a free port)", port, 8080)
    .option("--mqtt-port <n>", "MQTT port (0: a free port)", port, 1883)
    .option("--tls-key <file>", "PEM key for HTTPS and MQTT over TLS (with --tls-cert)")
    .option("--tls-cert <file>", "PEM certificate for HTTPS and MQTT over TLS (with --tls-key)")
    .option("--https-port <n>", "HTTPS port for registration (/device/register and /register/dev), with --tls-key/--tls-cert", port, 0)
    .option("--mqtt-tls-port <n>", "the one MQTT TLS port (Tencent's is 8883): TLS-PSK (identity ProductId+DeviceName), " +
      "server-auth TLS with username/password, and client certificates, per connection; default a free port with --tls-key/--tls-cert; " +
      "without them PSK only", port)
    .option("--mqtt-psk-port <n>", "alias of --mqtt-tls-port (PSK and certificates share one port now)", port)
    .option("--timestamp-window <seconds>", "accepted registration clock difference", nonNegative, 300)
    .option("--max-registrations-per-second <n>", "per product, before RequestLimitExceeded (0: unlimited)", nonNegative, 0)
    .option("--no-log", "no JSON event lines on stdout (the ready line is still printed): what `explorer-xs fleet` runs its own platform with, since nothing reads them there")
    .option("--max-mqtt-connections <n>", "open MQTT connections per listener before new ones are refused (a large fleet needs more; so does the process's open-file limit)", nonNegative, 10_000)
    .option("--secret-id <id>", "the Cloud API's SecretId (with --secret-key; default: from the config file, else made and kept in the data folder)")
    .option("--secret-key <key>", "the Cloud API's SecretKey (with --secret-id)")
    .action(async (options: PlatformCommandOptions) => {
      if ((options.tlsKey === undefined) !== (options.tlsCert === undefined)) {
        throw new UsageError("--tls-key and --tls-cert go together");
      }
      if (options.mqttPskPort !== undefined && options.mqttTlsPort !== undefined && options.mqttPskPort !== options.mqttTlsPort) {
        throw new UsageError("--mqtt-psk-port is an alias of --mqtt-tls-port: give one of them");
      }
      if ((options.secretId === undefined) !== (options.secretKey === undefined)) {
        throw new UsageError("--secret-id and --secret-key go together");
      }
      let platform: RunningPlatform;
      const log = createBatchedLog((text) => process.stdout.write(text));
      try {
        const { startPlatform } = await import("../platform/index"); // loaded by this command only: --help stays cheap
        platform = await startPlatform({
          config: options.config,
          dataDir: options.memory ? undefined : options.data,
          memory: options.memory === true,
          postgres: options.postgres,
          redis: options.redis,
          host: options.host,
          httpPort: options.httpPort,
          mqttPort: options.mqttPort,
          tls: options.tlsKey && options.tlsCert ? { key: readInputFile(options.tlsKey, "--tls-key"), cert: readInputFile(options.tlsCert, "--tls-cert") } : undefined,
          httpsPort: options.httpsPort,
          mqttTlsPort: options.mqttTlsPort ?? options.mqttPskPort,
          timestampWindowSeconds: options.timestampWindow,
          maxRegistrationsPerSecond: options.maxRegistrationsPerSecond,
          maxMqttConnections: options.maxMqttConnections,
          apiCredentials: options.secretId !== undefined ? { secretId: options.secretId, secretKey: options.secretKey! } : undefined,
          log: options.log ? log.line : undefined, // none: the platform then skips what only the log would show
        });
      } catch (error) {
        process.stderr.write(`platform failed to start: ${startFailure(error, options)}\n`);
        // A config file, flag or PostgreSQL URL the user can fix is bad input; anything else (a port in use) is not.
        process.exitCode = error instanceof Error && (error.name === "ConfigError" || error.name === "UsageError" || error.name === "PostgresConnectError" || error.name === "RedisConnectError") ? EXIT_BAD_INPUT : 1;
        return;
      }
      const extra = [
        platform.httpsUrl && `https=${platform.httpsUrl}`,
        platform.mqttTlsUrl && `mqtts=${platform.mqttTlsUrl}`,
      ].filter(Boolean).join(" ");
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) {
          process.stderr.write(`platform: second ${signal}, exiting now\n`);
          process.exit(1);
        }
        stopping = true;
        platform.close().then(
          () => { log.flush(); process.stdout.write(`platform stopped (${signal})\n`); process.exit(0); },
          (error: unknown) => { process.stderr.write(`platform: error while stopping: ${String(error)}\n`); process.exit(1); },
        );
      };
      // Handlers go in before the ready line: whoever reads that line may signal at once.
      process.on("SIGINT", () => stop("SIGINT"));
      process.on("SIGTERM", () => stop("SIGTERM"));
      log.flush();
      process.stdout.write(credentialLines(platform).join("\n") + "\n");
      process.stdout.write(`platform ready http=${platform.httpUrl} mqtt=${platform.mqttUrl} console=${platform.consoleUrl}${extra ? " " + extra : ""}\n`);
    });
}
