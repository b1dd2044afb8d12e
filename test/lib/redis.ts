/**
 * A throwaway redis-server for tests: Debian's binary on a free loopback port, nothing saved
 * (`--save '' --appendonly no`), stopped at the end. Tests that need it call requireRedis() in a
 * before hook: skipped, visibly, where redis-server is missing; a failure in CI, where .ci/run
 * installs it.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createConnection } from "node:net";
import { freePort } from "../../tools/free-port";

export interface RedisServer {
  port: number;
  url: string;
  stop(): Promise<void>;
}

export function redisServerInstalled(): boolean {
  return spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
}

/** In a suite's before hook. */
export function requireRedis(context: Mocha.Context): void {
  if (redisServerInstalled()) return;
  if (process.env.CI) throw new Error("redis-server is missing: .ci/run installs Debian's redis-server");
  console.warn("    (skipped: redis-server is not installed; apt-get install redis-server)");
  context.skip();
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: "127.0.0.1" }, () => { socket.destroy(); resolve(true); });
    socket.once("error", () => resolve(false));
  });
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const child: ChildProcess = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  const killNow = () => child.kill("SIGKILL");
  // A run that ends without stop() still leaves no server behind.
  process.once("exit", killNow);
  let exited = false;
  child.once("exit", () => { exited = true; });
  for (let i = 0; i < 200 && !exited; i++) {
    if (await accepts(port)) {
      return {
        port,
        url: `redis://127.0.0.1:${port}`,
        async stop() {
          process.removeListener("exit", killNow);
          if (exited) return;
          await new Promise<void>((resolve) => { child.once("exit", () => resolve()); child.kill("SIGTERM"); });
        },
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  process.removeListener("exit", killNow);
  killNow();
  throw new Error(`redis-server did not start on port ${port}`);
}
