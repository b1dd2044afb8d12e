/**
 * The MQTT contract's device side as an XS program: the core's MQTT engine inside XS, its socket
 * bridged to Node. The host plays the broker (broker.ts) and invokes one scenario at a time by
 * name. It lives with the contract, not in xs/, because the XS lane must not import tests
 * (docs/ARCHITECTURE.md); test/mqtt-contract.test.ts hands its path to the lane.
 */
import { bridgeHal } from "../../xs/bridge-hal";
import { expose, installCommandHandler } from "../../xs/runtime";
import { runScenarioNamed } from "./device";

expose({
  mqttScenario: (name: string, url: string) => runScenarioNamed(bridgeHal, name, url),
});

installCommandHandler();
