/**
 * The MQTT contract's device side as an XS program: the core's MQTT engine inside XS, its socket
 * bridged to Node. The host plays the broker (test/mqtt-contract/broker.ts) and invokes one
 * scenario at a time by name.
 */
import { runScenarioNamed } from "../test/mqtt-contract/device";
import { bridgeHal } from "./bridge-hal";
import { expose, installCommandHandler } from "./runtime";

expose({
  mqttScenario: (name: string, url: string) => runScenarioNamed(bridgeHal, name, url),
});

installCommandHandler();
