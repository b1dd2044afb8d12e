/**
 * The fleet runner's split over worker threads (simulator/fleet.ts) and the CLI's default.
 */
import { strict as assert } from "node:assert";
import fc from "fast-check";
import { splitShards } from "../simulator/fleet";
import { defaultWorkers } from "../simulator/commands/fleet";

describe("fleet: shards over worker threads", () => {
  it("every device lands in exactly one shard, in order, and every shard gets at least one boot slot", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 16 }), (count, concurrency, workers) => {
      const shards = splitShards(count, concurrency, workers);
      assert.equal(shards.length, Math.min(workers, count));
      let next = 0;
      for (const shard of shards) {
        assert.equal(shard.first, next);
        assert.ok(shard.count >= 1 && shard.concurrency >= 1);
        next += shard.count;
      }
      assert.equal(next, count);
      const sizes = shards.map((shard) => shard.count);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, "shards differ by at most one device");
      if (concurrency >= shards.length) assert.equal(shards.reduce((sum, shard) => sum + shard.concurrency, 0), concurrency);
    }));
  });

  it("by default the fleet takes the cores a local platform leaves, at least one, and every core against a remote one", () => {
    assert.equal(defaultWorkers(true, 2), 1);
    assert.equal(defaultWorkers(true, 8), 7);
    assert.equal(defaultWorkers(true, 1), 1);
    assert.equal(defaultWorkers(false, 2), 2);
  });
});
