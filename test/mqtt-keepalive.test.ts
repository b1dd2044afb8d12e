/**
 * The core's MQTT keep-alive (firmware/mqtt/session.ts) on a clock the test moves: PINGREQ
 * exactly one keep-alive interval after the last exchange (a packet each way), none before; an answered ping keeps
 * the session; an unanswered one ends it exactly at the acknowledgement timeout.
 */
import { strict as assert } from "node:assert";
import { HalNetworkError } from "../firmware/contracts";
import { connectMqtt } from "../firmware/mqtt/client";
import { ManualClock, settle } from "./lib/manual-clock";
import { MemoryBroker } from "./lib/memory-broker";

async function connect(keepAliveSeconds: number) {
  const clock = new ManualClock();
  const broker = new MemoryBroker();
  const closes: Array<Error | undefined> = [];
  const connecting = connectMqtt({ socket: broker, clock }, {
    url: "mqtt://127.0.0.1:1", clientId: "dev-1", username: "u", password: "p", keepAliveSeconds, connectTimeoutMs: 5_000,
  }, { onMessage: () => undefined, onClose: (error) => closes.push(error) });
  await settle();
  const session = await connecting;
  return { clock, broker, session, closes };
}

describe("MQTT keep-alive on a controlled clock", () => {
  it("sends PINGREQ exactly one interval after the last packet, and again after each answered one", async () => {
    const { clock, broker, session, closes } = await connect(60);
    assert.equal(broker.connects[0].keepalive, 60);
    await clock.advance(59_999);
    assert.equal(broker.pings, 0, "no ping before the interval");
    await clock.advance(1);
    assert.equal(broker.pings, 1, "a ping at 60 s");
    await clock.advance(59_999);
    assert.equal(broker.pings, 1);
    await clock.advance(1);
    assert.equal(broker.pings, 2, "a ping at 120 s, the first answered");
    assert.deepEqual(closes, []);
    await session.close();
  });

  it("an exchange in between (PUBLISH and its PUBACK) pushes the next ping one interval past it", async () => {
    const { clock, broker, session } = await connect(60);
    await clock.advance(30_000);
    await session.publish("t", new Uint8Array(Buffer.from("{}")), 1);
    await clock.advance(30_000);
    assert.equal(broker.pings, 0, "60 s after connect but only 30 s after the publish");
    await clock.advance(29_999);
    assert.equal(broker.pings, 0);
    await clock.advance(1);
    assert.equal(broker.pings, 1, "60 s after the exchange");
    await session.close();
  });

  it("an unanswered PINGREQ ends the session exactly when the acknowledgement timeout runs out", async () => {
    const { clock, broker, closes } = await connect(60);
    broker.answerPings = false;
    await clock.advance(60_000);
    assert.equal(broker.pings, 1);
    await clock.advance(9_999); // the acknowledgement timeout defaults to 10 s
    assert.deepEqual(closes, []);
    await clock.advance(1);
    assert.equal(closes.length, 1);
    const closed = closes[0] as Error | undefined;
    assert.ok(closed instanceof HalNetworkError && closed.code === "timeout", String(closed));
    assert.match(closed.message, /no PINGRESP within 10000 ms/);
  });
});
