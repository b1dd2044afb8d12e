/**
 * device-order.ts: a device's messages are handled in arrival order even when their handlers
 * await for different lengths of time; devices do not wait for each other; the queue is bounded.
 */
import { strict as assert } from "node:assert";
import { DeviceOrder } from "../simulator/platform/device-order";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("platform: each device's messages in order (device-order.ts)", () => {
  it("runs one device's handlers one after another, in arrival order, whatever each awaits", async () => {
    const order = new DeviceOrder(16, (_key, error) => { throw error; });
    const seen: string[] = [];
    // The first handler waits longest: without the queue it would finish last.
    for (const [name, ms] of [["report", 30], ["get_status", 0], ["clear_control", 10]] as const) {
      order.run("dev1", async () => { await sleep(ms); seen.push(name); });
    }
    await order.idle();
    assert.deepEqual(seen, ["report", "get_status", "clear_control"]);
  });

  it("lets other devices run meanwhile, and reports a failed handler without stopping the queue", async () => {
    const errors: string[] = [];
    const order = new DeviceOrder(16, (key, error) => errors.push(`${key}: ${(error as Error).message}`));
    const seen: string[] = [];
    order.run("slow", async () => { await sleep(40); seen.push("slow"); });
    order.run("fast", async () => { seen.push("fast"); });
    order.run("fast", async () => { throw new Error("broken message"); });
    order.run("fast", async () => { seen.push("fast again"); });
    await order.idle();
    assert.deepEqual(seen, ["fast", "fast again", "slow"]);
    assert.deepEqual(errors, ["fast: broken message"]);
  });

  it("refuses a device's message past the bound, and takes more once its queue drains", async () => {
    const order = new DeviceOrder(2, () => undefined);
    let ran = 0;
    assert.equal(order.run("dev1", async () => { await sleep(10); ran++; }), true);
    assert.equal(order.run("dev1", async () => { ran++; }), true);
    assert.equal(order.run("dev1", async () => { ran++; }), false, "a third waiting message is dropped");
    assert.equal(order.run("dev2", async () => { ran++; }), true, "another device has its own bound");
    await order.idle();
    assert.equal(ran, 3);
    assert.equal(order.run("dev1", async () => { ran++; }), true);
    await order.idle();
    assert.equal(ran, 4);
  });
});
