/**
 * The PostgreSQL registry on a real, throwaway PostgreSQL (lib/postgres.ts): migrations at open
 * (versioned, idempotent, safe when nodes start together), RegisterLimit exact under concurrent
 * registrations from two nodes, and typed connection errors that never show the password.
 */
import { strict as assert } from "node:assert";
import pg from "pg";
import { PostgresConnectError, PostgresRegistry } from "../simulator/platform/postgres-registry";
import { MIGRATIONS, SchemaError } from "../simulator/platform/postgres-schema";
import { startPlatform } from "../simulator/platform/index";
import { postgresBinaries, sharedPostgres } from "./lib/postgres";
import { testConfig } from "./platform-helpers";

const LIMIT = 100;
const WORKERS_PER_NODE = 16;
const DEVICES = 300;

async function query<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

describe("registry: PostgreSQL store (postgres-registry.ts)", function () {
  this.timeout(60_000);
  const opened: PostgresRegistry[] = [];
  const open = async (url: string) => {
    const registry = await PostgresRegistry.open({ url, poolSize: WORKERS_PER_NODE });
    opened.push(registry);
    return registry;
  };

  before(function () {
    if (!postgresBinaries()) this.skip();
  });
  afterEach(async () => {
    for (const registry of opened.splice(0)) await registry.close();
  });

  it("migrates a new database once, even with two nodes opening it together, and reopens without changes", async () => {
    const url = await (await sharedPostgres()).createDatabase();
    await Promise.all([open(url), open(url)]);
    const applied = await query<{ version: number }>(url, "SELECT version FROM schema_migrations ORDER BY version");
    assert.deepEqual(applied.map((row) => row.version), MIGRATIONS.map((migration) => migration.version));
    await open(url);
    assert.equal((await query(url, "SELECT version FROM schema_migrations")).length, MIGRATIONS.length, "a reopen applies nothing");
  });

  it("refuses a database migrated by a newer platform", async () => {
    const url = await (await sharedPostgres()).createDatabase();
    await open(url);
    await query(url, "INSERT INTO schema_migrations (version, name) VALUES (9999, 'from the future')");
    await assert.rejects(PostgresRegistry.open({ url }), (error: Error) => error instanceof SchemaError && /version 9999, newer/.test(error.message));
  });

  it(`RegisterLimit holds exactly: two nodes, ${WORKERS_PER_NODE} concurrent registrations each, limit ${LIMIT}`, async () => {
    const url = await (await sharedPostgres()).createDatabase();
    const setup = await open(url);
    await setup.createProduct({ productId: "RACE000001", productSecret: "raceProductSecret0123" });
    for (let i = 0; i < DEVICES; i++) await setup.createDevice("RACE000001", `dev${i}`);
    await setup.setDynamicRegistration("RACE000001", 1, LIMIT);
    const nodes = [await open(url), await open(url)];
    // Each node's workers take the next unclaimed device of its half, as registrations would arrive.
    let claimed = 0;
    await Promise.all(nodes.map(async (node, nodeIndex) => {
      let next = nodeIndex * (DEVICES / 2);
      const end = next + DEVICES / 2;
      await Promise.all(Array.from({ length: WORKERS_PER_NODE }, async () => {
        while (next < end) {
          const device = (await node.getDevice("RACE000001", `dev${next++}`))!;
          if (await node.claimDynamicRegistration(device, LIMIT)) claimed++;
        }
      }));
    }));
    assert.equal(claimed, LIMIT, "claims granted");
    assert.equal(await nodes[0].dynamicRegistrationCount("RACE000001"), LIMIT);
    const [marked] = await query<{ n: number }>(url, "SELECT COUNT(*)::int AS n FROM devices WHERE dynreg_at IS NOT NULL");
    assert.equal(marked.n, LIMIT, "devices counted against the limit");
    // Deleting a counted device frees its place, on every node.
    const counted = (await nodes[0].listDevices("RACE000001")).find((device) => device.dynamicRegisteredAt !== undefined)!;
    await nodes[0].deleteDevice("RACE000001", counted.deviceName);
    const waiting = (await nodes[1].listDevices("RACE000001")).find((device) => device.dynamicRegisteredAt === undefined)!;
    assert.equal(await nodes[1].claimDynamicRegistration(waiting, LIMIT), true);
    assert.equal(await nodes[1].claimDynamicRegistration((await nodes[1].listDevices("RACE000001")).find((device) => device.dynamicRegisteredAt === undefined)!, LIMIT), false);
  });

  it("keeps each node's device keys for TLS-PSK: loaded at open, updated by its own writes", async () => {
    const url = await (await sharedPostgres()).createDatabase();
    const first = await open(url);
    await first.createProduct({ productId: "KEYS000001", productSecret: "keysProductSecret0123" });
    await first.createDevice("KEYS000001", "dev1");
    assert.equal(await first.setCredentials("KEYS000001", "dev1", { psk: "AAECAwQFBgcICQoLDA0ODw==" }), true);
    assert.equal(first.deviceKeys.psk("KEYS000001dev1"), "AAECAwQFBgcICQoLDA0ODw==");
    const second = await open(url);
    assert.equal(second.deviceKeys.psk("KEYS000001dev1"), "AAECAwQFBgcICQoLDA0ODw==", "loaded at open");
    await second.deleteDevices([{ productId: "KEYS000001", deviceName: "dev1" }]);
    assert.equal(second.deviceKeys.get("KEYS000001dev1"), undefined);
  });

  it("answers a wrong URL or a refusing server with a typed error that names the server, never the password", async () => {
    const server = await sharedPostgres();
    const password = "s3cretPassw0rd";
    await assert.rejects(PostgresRegistry.open({ url: `mysql://root:${password}@127.0.0.1/db` }),
      (error: Error) => error instanceof PostgresConnectError && /postgres:\/\//.test(error.message) && !error.message.includes(password));
    await assert.rejects(PostgresRegistry.open({ url: `not a url ${password}` }),
      (error: Error) => error instanceof PostgresConnectError && !error.message.includes(password));
    await assert.rejects(PostgresRegistry.open({ url: `postgres://postgres:${password}@127.0.0.1:${server.port}/no_such_database` }),
      (error: Error) => error instanceof PostgresConnectError && /no_such_database/.test(error.message) && !error.message.includes(password));
    const closedPort = server.port === 1 ? 2 : 1;
    await assert.rejects(PostgresRegistry.open({ url: `postgres://postgres:${password}@127.0.0.1:${closedPort}/db`, connectTimeoutMs: 2_000 }),
      (error: Error) => error instanceof PostgresConnectError && /127\.0\.0\.1:1\b|ECONNREFUSED/.test(error.message) && !error.message.includes(password));
  });

  it("a platform started with postgres keeps its registry there: a second platform on the same database sees it", async () => {
    const url = await (await sharedPostgres()).createDatabase();
    const first = await startPlatform({ memory: true, postgres: url, config: testConfig() });
    const second = await startPlatform({ memory: true, postgres: url });
    try {
      const product = (await first.registry.listProducts())[0];
      assert.ok(product, "seeded by the first");
      assert.deepEqual(await second.registry.getProduct(product.productId), product);
    } finally {
      await first.close();
      await second.close();
    }
  });
});
