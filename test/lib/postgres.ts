/**
 * A throwaway PostgreSQL server for tests: initdb in a temporary folder, pg_ctl start on a free
 * loopback port (trust authentication, socket in the same folder), a fresh database per caller,
 * and stop and removal at the end. The binaries are Debian's, under /usr/lib/postgresql/<version>/bin
 * (the newest version there), or PG_BIN when set. As root the cluster runs as the `postgres`
 * user: PostgreSQL refuses to run as root.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort } from "../../tools/free-port";

/** The folder holding initdb and pg_ctl, or undefined when PostgreSQL is not installed. */
export function postgresBinaries(): string | undefined {
  const fromEnv = process.env.PG_BIN;
  if (fromEnv) return existsSync(join(fromEnv, "pg_ctl")) ? fromEnv : undefined;
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((name) => /^\d+$/.test(name) && existsSync(join(root, name, "bin", "pg_ctl")))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(root, versions[0], "bin") : undefined;
}

/** uid and gid of the `postgres` user, to run the server as when this process is root. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync("/etc/passwd", "utf8").split("\n").find((entry) => entry.startsWith("postgres:"));
  if (!line) throw new Error("running as root, but there is no postgres user to run PostgreSQL as (Debian's postgresql package makes one)");
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

function run(command: string, args: string[], user: { uid: number; gid: number } | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...(user ?? {}) });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on("data", (chunk: Buffer) => { output += chunk.toString(); });
    child.once("error", reject);
    child.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args[0]} exited ${code}: ${output.slice(-2000)}`))));
  });
}

export interface PostgresServer {
  port: number;
  /** URL of a database on this server (as the superuser `postgres`; trust authentication). */
  url(database: string): string;
  /** Creates a database and returns its URL: empty, or a copy of `template` (a database on this server). */
  createDatabase(template?: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBinaries();
  if (!bin) throw new Error("PostgreSQL is not installed (apt-get install postgresql), or set PG_BIN to its bin folder");
  const user = postgresUser();
  const dir = mkdtempSync(join(tmpdir(), "explorer-xs-pg-"));
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, "data");
  const stopNow = () => {
    spawnSync(join(bin, "pg_ctl"), ["stop", "-D", data, "-m", "immediate"], { stdio: "ignore", ...(user ?? {}) });
    rmSync(dir, { recursive: true, force: true });
  };
  // A test run that ends without stop() (a crash, Ctrl-C) still leaves no server behind.
  process.once("exit", stopNow);
  try {
    await run(join(bin, "initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"], user);
    let port = 0;
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      try {
        await run(join(bin, "pg_ctl"), ["start", "-D", data, "-l", join(dir, "log"), "-w", "-o",
          `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200`], user);
        break;
      } catch (error) {
        if (attempt >= 2) throw error; // the port was taken between freePort() and the start
      }
    }
    const url = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
    return {
      port,
      url,
      async createDatabase(template) {
        const name = `test_${randomBytes(6).toString("hex")}`;
        if (template !== undefined && !/^[a-z_][a-z0-9_]*$/.test(template)) throw new Error(`not a database name: ${template}`);
        const client = new pg.Client({ connectionString: url("postgres") });
        await client.connect();
        try {
          await client.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ""}`);
        } finally {
          await client.end();
        }
        return url(name);
      },
      async stop() {
        process.removeListener("exit", stopNow);
        // Immediate: the data is thrown away, so nothing needs a clean shutdown.
        await run(join(bin, "pg_ctl"), ["stop", "-D", data, "-m", "immediate", "-w"], user).catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    process.removeListener("exit", stopNow);
    stopNow();
    throw error;
  }
}

let shared: Promise<PostgresServer> | undefined;

// Registered as this module loads (while mocha loads the test files): a root-level hook, run
// once after the last test of the run. Outside mocha (a script) the caller stops the server.
if (typeof after === "function") {
  after(async function () {
    this.timeout(60_000);
    if (shared) await (await shared.catch(() => undefined))?.stop();
  });
}

/** One server for the whole test run, started when first asked: each test gets its own database on it. */
export function sharedPostgres(): Promise<PostgresServer> {
  shared ??= startPostgres();
  return shared;
}
