/**
 * The one MQTT contract (test/mqtt-contract/scenarios.ts), run against every port the core's
 * MQTT engine runs on here: the Node socket (hal/node/socket.ts) and the XS lane (the engine in
 * xsnap, its socket bridged to Node). The broker is a scripted raw server that reads the device's
 * bytes with mqtt-packet. Moddable's lin runtime runs the same scenarios with the same broker
 * (see docs/MQTT.md).
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { createNodeClock, type NodeClock } from "../hal/node/clock";
import { createNodeHal } from "../hal/node/index";
import { createMemoryLogger } from "../hal/node/logger";
import { createNodeSocketTransport } from "../hal/node/socket";
import { startXsLane, xsLaneSkipReason, type XsLane } from "../xs/host";
import { startScriptedBroker, type ScriptedBroker } from "./mqtt-contract/broker";
import { runScenario } from "./mqtt-contract/device";
import { SCENARIOS, type Outcome, type Scenario } from "./mqtt-contract/scenarios";

/** The device side as an XS program: device.ts inside xsnap, its socket bridged to Node. */
const XS_ENTRY = fileURLToPath(new URL("./mqtt-contract/xs-entry.ts", import.meta.url));

/** A port under test: runs one scenario's device side against the broker at `url`. */
type RunDevice = (scenario: Scenario, url: string) => Promise<Outcome[]>;

function contractSuite(port: string, setup: (context: Mocha.Context) => Promise<{ run: RunDevice; teardown(): Promise<void> }>): void {
  describe(`MQTT contract on ${port}`, function () {
    this.timeout(60_000);
    let broker: ScriptedBroker;
    let run: RunDevice;
    let teardown: (() => Promise<void>) | undefined;

    before(async function () {
      ({ run, teardown } = await setup(this));
      broker = await startScriptedBroker();
    });
    after(async () => {
      await broker?.close();
      await teardown?.();
    });

    for (const scenario of SCENARIOS) {
      it(`${scenario.name}: ${scenario.says}`, async () => {
        broker.arm(scenario);
        let outcomes: Outcome[];
        try {
          outcomes = await run(scenario, broker.url);
        } finally {
          var report = await broker.finish();
        }
        assert.deepEqual(outcomes, scenario.expect, `device outcomes; the broker saw ${JSON.stringify(report.received.map((packet) => packet.cmd))}`);
        assert.deepEqual(report.violations, [], "the broker's side of the script");
      });
    }
  });
}

contractSuite("the Node port (hal/node/socket)", async () => {
  const clock: NodeClock = createNodeClock();
  const hal = { socket: createNodeSocketTransport(), clock };
  return {
    run: (scenario, url) => runScenario(hal, scenario, url),
    async teardown() {
      clock.cancelAll();
    },
  };
});

contractSuite("the XS lane (the engine in xsnap, its socket bridged)", async (context) => {
  const skip = xsLaneSkipReason(); // throws in CI
  if (skip !== undefined) {
    console.warn(`\n  !!! XS LANE SKIPPED: ${skip}\n`);
    context.skip();
  }
  const lane: XsLane = await startXsLane({ hal: createNodeHal({ logger: createMemoryLogger() }), entry: XS_ENTRY });
  return {
    run: async (scenario, url) => (await lane.invoke("mqttScenario", scenario.name, url)) as Outcome[],
    teardown: () => lane.close(),
  };
});
