/**
 * The registry stores the platform suites run against (a test matrix, not a copy): each suite
 * wraps its body in `for (const store of STORES) describe(..., () => ...)` and starts its
 * platforms with `...await store.options()`.
 * - sqlite: the embedded default, in memory;
 * - postgres: a fresh database per platform on one throwaway server for the run (lib/postgres.ts).
 *   Skipped, visibly, when PostgreSQL is not installed; EXPLORER_XS_TEST_POSTGRES=0 leaves it out.
 */
import type { PlatformOptions } from "../../simulator/platform/index";
import { PostgresRegistry } from "../../simulator/platform/postgres-registry";
import { postgresBinaries, sharedPostgres } from "./postgres";

let migrated: Promise<string> | undefined;

/**
 * A fresh database per platform, copied from one the registry has migrated once (CREATE DATABASE
 * ... TEMPLATE): a copy costs a fraction of running the migrations again for every test. The
 * platform still runs its migrations at start, and finds them applied.
 */
async function freshRegistryDatabase(): Promise<string> {
  const server = await sharedPostgres();
  migrated ??= (async () => {
    const url = await server.createDatabase();
    await (await PostgresRegistry.open({ url })).close();
    return new URL(url).pathname.slice(1);
  })();
  return server.createDatabase(await migrated);
}

export interface StoreColumn {
  name: "sqlite" | "postgres";
  /** Platform options that put a fresh, empty registry in this store. */
  options(): Promise<Pick<PlatformOptions, "memory" | "postgres">>;
  /** Options for a registry that outlives the platform (a restart test): start every platform of the test with the same ones. */
  persistentOptions(dataDir: string): Promise<Pick<PlatformOptions, "dataDir" | "postgres">>;
  /** Call in the suite's before hook: skips the suite when the store is unavailable here. */
  available(): boolean;
}

const SQLITE: StoreColumn = {
  name: "sqlite",
  options: async () => ({ memory: true }),
  persistentOptions: async (dataDir) => ({ dataDir }),
  available: () => true,
};

const POSTGRES: StoreColumn = {
  name: "postgres",
  options: async () => ({ memory: true, postgres: await freshRegistryDatabase() }),
  // The data folder still holds the CA and the Cloud API key file; the registry is the database.
  persistentOptions: async (dataDir) => ({ dataDir, postgres: await freshRegistryDatabase() }),
  available: () => postgresBinaries() !== undefined,
};

export const STORES: readonly StoreColumn[] = process.env.EXPLORER_XS_TEST_POSTGRES === "0" ? [SQLITE] : [SQLITE, POSTGRES];

/** A describe per store; its title names the store, and a store missing here skips its copy. */
export function describeStores(title: string, body: (this: Mocha.Suite, store: StoreColumn) => void): void {
  for (const store of STORES) {
    describe(`${title} [${store.name}]`, function () {
      before(function () {
        if (!store.available()) this.skip();
      });
      body.call(this, store);
    });
  }
}
