/**
 * The device side of the MQTT contract: runs one scenario's steps with the core's MQTT engine
 * over whatever Hal it is given, and reports one outcome per step. Engine-neutral, with the Hal
 * as its only door (socket and clock), so the same runner serves the Node port, the XS lane and
 * Moddable's runtime (a lin app imports it and traces the outcomes as JSON).
 */
import { HalMqttError, HalNetworkError, type Hal } from "../../firmware/contracts";
import { utf8Decode, utf8Encode } from "../../firmware/encoding";
import { connectMqtt } from "../../firmware/mqtt/client";
import { MqttProtocolError } from "../../firmware/mqtt/packet";
import type { MqttSession } from "../../firmware/mqtt/session";
import { CLIENT_ID, CONNECT_DEFAULTS, PASSWORD, USERNAME, scenarioNamed, type ErrorSummary, type Outcome, type Scenario } from "./scenarios";

/** A wait that never ends is reported as this, not hung on: a safety net, never an assertion. */
const STEP_LIMIT_MS = 15_000;

export function summarize(error: unknown): ErrorSummary {
  if (error instanceof MqttProtocolError) return { name: error.name, code: error.code, fault: error.fault };
  if (error instanceof HalNetworkError) return { name: error.name, code: error.code };
  if (error instanceof HalMqttError) return { name: error.name, returnCode: error.returnCode };
  return { name: error instanceof Error ? error.name : typeof error };
}

type Settled = { done: false } | { done: true; outcome: Outcome };

export async function runScenario(hal: Pick<Hal, "socket" | "clock">, scenario: Scenario, url: string): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const messages: Array<{ topic: string; payload: string }> = [];
  const closes: Outcome[] = [];
  let wake: (() => void) | undefined;
  const notify = () => {
    const waiting = wake;
    wake = undefined;
    waiting?.();
  };
  /** Waits until `ready()` or the step limit, re-checking on each message or close. */
  const until = async (ready: () => boolean): Promise<boolean> => {
    let expired = false;
    const limit = hal.clock.setTimer(STEP_LIMIT_MS, () => {
      expired = true;
      notify();
    });
    while (!ready() && !expired) await new Promise<void>((resolve) => (wake = resolve));
    hal.clock.clearTimer(limit);
    return ready();
  };
  const started = new Map<string, Settled>();
  const track = (label: string, promise: Promise<unknown>) => {
    started.set(label, { done: false });
    promise.then(
      () => started.set(label, { done: true, outcome: { ok: true } }),
      (error) => started.set(label, { done: true, outcome: { error: summarize(error) } }),
    ).then(notify);
  };
  const outcomeOf = async (promise: Promise<unknown>): Promise<Outcome> => {
    try {
      await promise;
      return { ok: true };
    } catch (error) {
      return { error: summarize(error) };
    }
  };

  let session: MqttSession | undefined;
  const live = (): MqttSession => {
    if (session === undefined) throw new Error("the scenario used the session before connecting");
    return session;
  };
  for (const step of scenario.device) {
    switch (step.do) {
      case "connect": {
        const options = { ...CONNECT_DEFAULTS, ...step };
        const outcome = await outcomeOf(connectMqtt(hal, {
          url, clientId: CLIENT_ID, username: USERNAME, password: PASSWORD,
          keepAliveSeconds: options.keepAliveSeconds, connectTimeoutMs: options.connectTimeoutMs,
          ackTimeoutMs: options.ackTimeoutMs, maxPacketBytes: options.maxPacketBytes,
        }, {
          onMessage: (topic, payload) => {
            messages.push({ topic, payload: utf8Decode(payload) });
            notify();
          },
          onClose: (error) => {
            closes.push(error === undefined ? { ok: "asked" } : { error: summarize(error) });
            notify();
          },
        }).then((opened) => (session = opened)));
        outcomes.push(outcome);
        break;
      }
      case "subscribe":
      case "publish": {
        const current = live();
        const promise = step.do === "subscribe" ? current.subscribe(step.topic, step.qos) : current.publish(step.topic, utf8Encode(step.payload), step.qos);
        if (step.as !== undefined) {
          track(step.as, promise);
          outcomes.push({ ok: true });
        } else {
          outcomes.push(await outcomeOf(promise));
        }
        break;
      }
      case "await": {
        const ready = await until(() => started.get(step.label)?.done === true);
        const entry = started.get(step.label);
        outcomes.push(ready && entry?.done ? entry.outcome : { error: { name: "StepTimeout" } });
        break;
      }
      case "settled":
        // One turn of the event loop first: a promise already settled has run its reactions then.
        await new Promise<void>((resolve) => hal.clock.setTimer(0, resolve));
        outcomes.push({ ok: started.get(step.label)?.done === true });
        break;
      case "message": {
        const ready = await until(() => messages.length > 0);
        outcomes.push(ready ? { ok: messages.shift() } : { error: { name: "StepTimeout" } });
        break;
      }
      case "closed": {
        const ready = await until(() => closes.length > 0);
        outcomes.push(ready ? closes[0] : { error: { name: "StepTimeout" } });
        break;
      }
      case "close":
        outcomes.push(await outcomeOf(live().close()));
        break;
    }
  }
  if (closes.length > 1) outcomes.push({ error: { name: "ClosedTwice" } });
  await session?.close();
  return outcomes;
}

/** For engines that can only pass names across (the XS lane, a lin app). */
export function runScenarioNamed(hal: Pick<Hal, "socket" | "clock">, name: string, url: string): Promise<Outcome[]> {
  return runScenario(hal, scenarioNamed(name), url);
}
