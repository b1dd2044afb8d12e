/**
 * What the web console watches (simulator/platform/events.ts): platform log events turned into
 * console events, bounded batches however fast a fleet goes, and last logins for the Cloud API.
 */
import { strict as assert } from "node:assert";
import { PlatformEvents, type ConsoleBatch } from "../simulator/platform/events";

describe("platform events for the web console", () => {
  let clock = 1_000_000;
  let online = 0;
  let events: PlatformEvents;

  beforeEach(() => {
    clock = 1_000_000;
    events = new PlatformEvents({
      now: () => clock,
      onlineCount: () => online,
      identify: (clientId) => (clientId.startsWith("PID0000001") ? { productId: "PID0000001", deviceName: clientId.slice(10) } : undefined),
      controlReply: (token) => (token === "ctl-1" ? { code: 0, status: "done" } : undefined),
    });
  });
  afterEach(() => events.stop());

  function nextBatch(): ConsoleBatch {
    let batch: ConsoleBatch | undefined;
    const stop = events.subscribe((received) => { batch = received; })!;
    events.flush();
    stop();
    assert.ok(batch, "a batch");
    return batch;
  }

  it("turns registrations, logins, refusals and control replies into events with their reason, never more", () => {
    events.fromLog({ event: "register", productId: "PID0000001", deviceName: "d1", outcome: "ok", state: 0, requestId: "r" });
    events.fromLog({ event: "register", productId: "PID0000001", deviceName: "d2", outcome: "AuthFailure.SignatureFailure" });
    events.fromLog({ event: "connect", clientId: "PID0000001d1", transport: "tcp", outcome: "accepted", activated: true });
    events.fromLog({ event: "connect", clientId: "PID0000001d2", transport: "tcp", outcome: "refused", returnCode: 5, reason: "device is disabled" });
    events.fromLog({ event: "thing", clientId: "PID0000001d1", kind: "property", method: "control_reply", clientToken: "ctl-1", outcome: "recorded" });
    events.fromLog({ event: "thing", clientId: "PID0000001d1", kind: "property", method: "report", clientToken: "r1", outcome: "ok" });
    events.fromLog({ event: "thing", clientId: "PID0000001d1", kind: "property", method: "report", clientToken: "r2", outcome: "params must be an object" });
    events.fromLog({ event: "acl", clientId: "PID0000001d1", action: "publish", topic: "$thing/up/property/OTHER/x", outcome: "denied" });
    events.fromLog({ event: "cloudapi", action: "DescribeDevice", outcome: "ok" });
    const batch = nextBatch();
    assert.deepEqual(batch.events.map((event) => [event.kind, event.ok, event.deviceName, event.reason ?? event.detail]), [
      ["register", true, "d1", "secret issued"],
      ["register", false, "d2", "AuthFailure.SignatureFailure"],
      ["login", true, "d1", "tcp, first login: activated"],
      ["login", false, "d2", "device is disabled (CONNACK 5)"],
      ["control_reply", true, "d1", "code 0, done"],
      ["refusal", false, "d1", "report: params must be an object"],
      ["refusal", false, "d1", "publish to $thing/up/property/OTHER/x denied"],
    ]);
    assert.equal(batch.events[4].clientToken, "ctl-1");
    assert.equal(events.lastLogin("PID0000001", "d1"), clock);
    assert.equal(events.lastLogin("PID0000001", "d2"), undefined, "a refused login is no login");
  });

  it("shows a property report with its values, and keeps batches and history bounded under a storm", () => {
    events.onDevicePublish("PID0000001d1", "$thing/up/property/PID0000001/d1", Buffer.from(JSON.stringify({ method: "report", clientToken: "x", params: { power_switch: 1 } })));
    events.onDevicePublish("PID0000001d1", "$thing/up/event/PID0000001/d1", Buffer.from("{}"));
    const first = nextBatch();
    assert.deepEqual(first.events.map((event) => [event.kind, event.detail]), [["report", '{"power_switch":1}']]);
    assert.equal(events.lastSeen("PID0000001", "d1"), clock);
    for (let i = 0; i < 10_000; i++) events.fromLog({ event: "connect", clientId: `PID0000001n${i}`, transport: "tcp", outcome: "accepted" });
    online = 10_000;
    const storm = nextBatch();
    assert.equal(storm.events.length, 60, "a browser gets at most 60 events a batch");
    assert.equal(storm.skipped, 10_000 - 60);
    assert.equal(storm.events.at(-1)?.deviceName, "n9999", "the newest are kept");
    assert.equal(storm.online, 10_000);
    assert.equal(events.recent().length, 200);
    assert.equal(nextBatch().events.length, 0, "a batch is sent once");
  });

  it("refuses a seventeenth watcher", () => {
    const stops = Array.from({ length: 16 }, () => events.subscribe(() => undefined));
    assert.ok(stops.every(Boolean));
    assert.equal(events.subscribe(() => undefined), undefined);
    stops[0]!();
    assert.ok(events.subscribe(() => undefined));
  });
});
