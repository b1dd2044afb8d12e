/**
 * The one MQTT contract, as data: what a device does (`device`), what the scripted broker does on
 * its side of the wire (`broker`), and what each device step must end with (`expect`). Every
 * port runs the same list: the Node socket, the XS lane, the ESP32 adapter on stand-ins, and
 * Moddable's own runtime (lin). Engine-neutral (no Node, no Moddable): a device-side runner on
 * any engine imports it, while the broker side always runs on Node (broker.ts, mqtt-packet).
 *
 * Timing: only a keep-alive of 1 s and acknowledgement timeouts of a few hundred ms appear, and
 * only where the scenario is about them; no outcome depends on how fast the machine is.
 */

/** What a device step ended with: a value, or an error reduced to what the contract fixes. */
export type Outcome = { ok: unknown } | { error: ErrorSummary };

export interface ErrorSummary {
  name: string;
  /** HalNetworkError's code (MqttProtocolError's too). */
  code?: string;
  /** HalMqttError's CONNACK or SUBACK code. */
  returnCode?: number;
  /** MqttProtocolError's fault. */
  fault?: string;
}

export type DeviceStep =
  /** connectMqtt to the broker; the options not given take the scenario defaults. */
  | { do: "connect"; keepAliveSeconds?: number; ackTimeoutMs?: number; maxPacketBytes?: number; connectTimeoutMs?: number }
  /** With `as`, started without waiting: `await` or `settled` it later. */
  | { do: "subscribe"; topic: string; qos: 0 | 1; as?: string }
  | { do: "publish"; topic: string; payload: string; qos: 0 | 1; as?: string }
  /** The outcome of a step started with `as`. */
  | { do: "await"; label: string }
  /** Whether a step started with `as` has settled yet: { ok: boolean }. */
  | { do: "settled"; label: string }
  /** The next message delivered: { ok: { topic, payload } }. */
  | { do: "message" }
  /** Waits for the session's end: { ok: "asked" } after close(), else the error onClose got. */
  | { do: "closed" }
  | { do: "close" };

/** mqtt-packet's packet names. */
export type PacketName = "connect" | "subscribe" | "publish" | "puback" | "pingreq" | "disconnect";

export type BrokerStep =
  /**
   * The next packet from the device must be `expect` (PINGREQs are answered and skipped unless
   * expected), with the fields in `match` (payload and password compared as UTF-8 text); `save`
   * names its messageId for a later "$name" in `send`.
   */
  | { expect: PacketName; match?: Record<string, unknown>; save?: string }
  /** An mqtt-packet object to generate and send; "$name" stands for a saved messageId. */
  | { send: Record<string, unknown> }
  /** Bytes as they are; with `split`, one byte per write, a little apart (tests reassembly). */
  | { sendRaw: number[]; split?: boolean }
  /** Several packets in one write (tests two packets in one chunk). */
  | { sendTogether: Array<Record<string, unknown>> }
  /** Ends the connection from the broker's side. */
  | { close: true }
  /** From now on PINGREQs get no PINGRESP. */
  | { silent: true };

export interface Scenario {
  name: string;
  /** What the contract says, in a sentence (the test's title). */
  says: string;
  device: DeviceStep[];
  broker: BrokerStep[];
  /** One outcome per device step. */
  expect: Outcome[];
}

export const CLIENT_ID = "PCONTRACTdev1";
export const USERNAME = "PCONTRACTdev1;21010406;abcde;4102444800";
export const PASSWORD = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef;hmacsha256";
/** Defaults of every connect step. */
export const CONNECT_DEFAULTS = { keepAliveSeconds: 60, ackTimeoutMs: 10_000, maxPacketBytes: 64 * 1024, connectTimeoutMs: 10_000 };

const OK: Outcome = { ok: true };
const connected: BrokerStep[] = [
  { expect: "connect", match: { clientId: CLIENT_ID, username: USERNAME, password: PASSWORD, protocolId: "MQTT", protocolVersion: 4, clean: true, keepalive: 60 } },
  { send: { cmd: "connack", returnCode: 0, sessionPresent: false } },
];
const subscribed = (topic: string, granted = 1): BrokerStep[] => [
  { expect: "subscribe", match: { subscriptions: [{ topic, qos: 1 }] }, save: "sub" },
  { send: { cmd: "suback", messageId: "$sub", granted: [granted] } },
];
const reset: Outcome = { error: { name: "HalNetworkError", code: "reset" } };
const timeout: Outcome = { error: { name: "HalNetworkError", code: "timeout" } };
const protocolError = (fault: string, code = "other"): Outcome => ({ error: { name: "MqttProtocolError", code, fault } });

const connackRefusals: Scenario[] = [1, 2, 3, 4, 5].map((returnCode) => ({
  name: `connack-refused-${returnCode}`,
  says: `CONNACK ${returnCode} rejects connect with HalMqttError ${returnCode}`,
  device: [{ do: "connect" }],
  broker: [{ expect: "connect" }, { send: { cmd: "connack", returnCode, sessionPresent: false } }],
  expect: [{ error: { name: "HalMqttError", returnCode } }],
}));

export const SCENARIOS: Scenario[] = [
  {
    name: "connack-accepted",
    says: "CONNACK 0 resolves connect; CONNECT carries the client id, user name, password, keep-alive and a clean session; close() sends DISCONNECT",
    device: [{ do: "connect" }, { do: "close" }, { do: "closed" }],
    broker: [...connected, { expect: "disconnect" }],
    expect: [OK, OK, { ok: "asked" }],
  },
  ...connackRefusals,
  {
    name: "suback-granted",
    says: "subscribe resolves on SUBACK with the granted QoS",
    device: [{ do: "connect" }, { do: "subscribe", topic: "$thing/down/property/P/d", qos: 1 }, { do: "close" }],
    broker: [...connected, ...subscribed("$thing/down/property/P/d"), { expect: "disconnect" }],
    expect: [OK, OK, OK],
  },
  {
    name: "suback-refused",
    says: "SUBACK 0x80 rejects subscribe with HalMqttError 0x80 and the session stays usable",
    device: [{ do: "connect" }, { do: "subscribe", topic: "forbidden/x", qos: 1 }, { do: "subscribe", topic: "allowed/x", qos: 1 }, { do: "close" }],
    broker: [...connected, ...subscribed("forbidden/x", 0x80), ...subscribed("allowed/x"), { expect: "disconnect" }],
    expect: [OK, { error: { name: "HalMqttError", returnCode: 0x80 } }, OK, OK],
  },
  {
    name: "suback-timeout",
    says: "a SUBACK that never comes rejects subscribe with a timeout and the session stays usable",
    device: [{ do: "connect", ackTimeoutMs: 300 }, { do: "subscribe", topic: "t/late", qos: 1 }, { do: "publish", topic: "t/after", payload: "still here", qos: 0 }, { do: "close" }],
    broker: [...connected, { expect: "subscribe" }, { expect: "publish", match: { topic: "t/after", payload: "still here", qos: 0 } }, { expect: "disconnect" }],
    expect: [OK, timeout, OK, OK],
  },
  {
    name: "publish-qos0",
    says: "a QoS 0 publish resolves once written, and reaches the broker as QoS 0",
    device: [{ do: "connect" }, { do: "publish", topic: "$thing/up/property/P/d", payload: '{"method":"report"}', qos: 0 }, { do: "close" }],
    broker: [...connected, { expect: "publish", match: { topic: "$thing/up/property/P/d", payload: '{"method":"report"}', qos: 0, retain: false, dup: false } }, { expect: "disconnect" }],
    expect: [OK, OK, OK],
  },
  {
    name: "puback-awaited",
    says: "a QoS 1 publish stays pending until its PUBACK, then resolves",
    device: [
      { do: "connect" },
      { do: "publish", topic: "t/q1", payload: "first", qos: 1, as: "first" },
      { do: "settled", label: "first" },
      { do: "publish", topic: "t/go", payload: "go", qos: 0 },
      { do: "await", label: "first" },
      { do: "close" },
    ],
    broker: [
      ...connected,
      { expect: "publish", match: { topic: "t/q1", payload: "first", qos: 1 }, save: "first" },
      // The PUBACK waits for the device's next packet, which it sends after checking "settled".
      { expect: "publish", match: { topic: "t/go", qos: 0 } },
      { send: { cmd: "puback", messageId: "$first" } },
      { expect: "disconnect" },
    ],
    expect: [OK, OK, { ok: false }, OK, OK, OK],
  },
  {
    name: "puback-timeout",
    says: "a PUBACK that never comes rejects the publish with a timeout and the session stays usable",
    device: [{ do: "connect", ackTimeoutMs: 300 }, { do: "publish", topic: "t/q1", payload: "lost", qos: 1 }, { do: "publish", topic: "t/q0", payload: "after", qos: 0 }, { do: "close" }],
    broker: [...connected, { expect: "publish", match: { qos: 1 } }, { expect: "publish", match: { topic: "t/q0", qos: 0 } }, { expect: "disconnect" }],
    expect: [OK, timeout, OK, OK],
  },
  {
    name: "puback-pending-link-drops",
    says: "a QoS 1 publish pending when the link drops rejects, and onClose reports the drop once",
    device: [{ do: "connect" }, { do: "publish", topic: "t/q1", payload: "pending", qos: 1, as: "pending" }, { do: "closed" }, { do: "await", label: "pending" }],
    broker: [...connected, { expect: "publish", match: { qos: 1 } }, { close: true }],
    expect: [OK, OK, reset, reset],
  },
  {
    name: "inbound-qos1-acknowledged",
    says: "messages arrive in order; an inbound QoS 1 PUBLISH is acknowledged with its packet identifier, a QoS 0 one is not",
    device: [{ do: "connect" }, { do: "subscribe", topic: "$thing/down/property/P/d", qos: 1 }, { do: "message" }, { do: "message" }, { do: "close" }],
    broker: [
      ...connected,
      ...subscribed("$thing/down/property/P/d"),
      { send: { cmd: "publish", topic: "$thing/down/property/P/d", payload: "zero", qos: 0, dup: false, retain: false } },
      { send: { cmd: "publish", topic: "$thing/down/property/P/d", payload: '{"method":"control"}', qos: 1, messageId: 7777, dup: false, retain: false } },
      { expect: "puback", match: { messageId: 7777 } },
      { expect: "disconnect" },
    ],
    expect: [OK, OK, { ok: { topic: "$thing/down/property/P/d", payload: "zero" } }, { ok: { topic: "$thing/down/property/P/d", payload: '{"method":"control"}' } }, OK],
  },
  {
    name: "keepalive-ping",
    says: "with nothing else to send, the device sends PINGREQ each keep-alive interval and an answered ping keeps the session",
    device: [{ do: "connect", keepAliveSeconds: 1 }, { do: "closed" }],
    broker: [
      { expect: "connect", match: { keepalive: 1 } },
      { send: { cmd: "connack", returnCode: 0, sessionPresent: false } },
      { expect: "pingreq" },
      { send: { cmd: "pingresp" } },
      { expect: "pingreq" },
      { close: true },
    ],
    expect: [OK, reset],
  },
  {
    name: "silent-broker",
    says: "a PINGREQ left unanswered ends the session with a timeout (dead-peer detection)",
    device: [{ do: "connect", keepAliveSeconds: 1, ackTimeoutMs: 500 }, { do: "closed" }],
    broker: [{ silent: true }, { expect: "connect" }, { send: { cmd: "connack", returnCode: 0, sessionPresent: false } }, { expect: "pingreq" }],
    expect: [OK, timeout],
  },
  {
    name: "oversized-packet",
    says: "a packet announced beyond maxPacketBytes ends the session with a typed too-large error, before its body arrives",
    device: [{ do: "connect", maxPacketBytes: 1024 }, { do: "subscribe", topic: "t/big", qos: 1 }, { do: "closed" }],
    broker: [
      ...connected,
      ...subscribed("t/big"),
      // The fixed header of a 4 KiB PUBLISH, and no more: the header alone must be refused.
      { sendRaw: [0x30, 0x86, 0x20, 0x00, 0x05, 0x74, 0x2f, 0x62, 0x69, 0x67] },
    ],
    expect: [OK, OK, protocolError("too-large", "too-large")],
  },
  {
    name: "malformed-packet",
    says: "a malformed packet from the broker ends the session with a typed error",
    device: [{ do: "connect" }, { do: "closed" }],
    broker: [...connected, { sendRaw: [0x00, 0x02, 0xff, 0xff] }],
    expect: [OK, protocolError("malformed")],
  },
  {
    name: "garbage-before-connack",
    says: "a server that answers CONNECT with something that is not MQTT rejects connect with a typed error",
    device: [{ do: "connect" }],
    broker: [{ expect: "connect" }, { sendRaw: [...Array.from("HTTP/1.1 400 Bad Request\r\n\r\n", (c) => c.charCodeAt(0))] }],
    expect: [protocolError("malformed")],
  },
  {
    name: "unexpected-packet",
    says: "a packet a broker never sends (a second CONNACK) ends the session with a typed error",
    device: [{ do: "connect" }, { do: "closed" }],
    broker: [...connected, { send: { cmd: "connack", returnCode: 0, sessionPresent: false } }],
    expect: [OK, protocolError("unexpected")],
  },
  {
    name: "close-during-connect",
    says: "the broker closing the connection before CONNACK rejects connect with HalNetworkError reset",
    device: [{ do: "connect" }],
    broker: [{ expect: "connect" }, { close: true }],
    expect: [reset],
  },
  {
    name: "connect-timeout",
    says: "no CONNACK within connectTimeoutMs rejects connect with a timeout",
    device: [{ do: "connect", connectTimeoutMs: 400 }],
    broker: [{ expect: "connect" }],
    expect: [timeout],
  },
  {
    name: "split-and-coalesced",
    says: "packets split byte by byte and packets sharing one chunk are both read whole",
    device: [{ do: "connect" }, { do: "subscribe", topic: "t/s", qos: 1 }, { do: "message" }, { do: "message" }, { do: "close" }],
    broker: [
      { expect: "connect" },
      { sendRaw: [0x20, 0x02, 0x00, 0x00], split: true },
      { expect: "subscribe", save: "sub" },
      {
        sendTogether: [
          { cmd: "suback", messageId: "$sub", granted: [1] },
          { cmd: "publish", topic: "t/s", payload: "one", qos: 0, dup: false, retain: false },
          { cmd: "publish", topic: "t/s", payload: "two", qos: 0, dup: false, retain: false },
        ],
      },
      { expect: "disconnect" },
    ],
    expect: [OK, OK, { ok: { topic: "t/s", payload: "one" } }, { ok: { topic: "t/s", payload: "two" } }, OK],
  },
  {
    name: "use-after-close",
    says: "after close() every call rejects with HalNetworkError and onClose is not called again",
    device: [{ do: "connect" }, { do: "close" }, { do: "publish", topic: "t/x", payload: "late", qos: 0 }, { do: "subscribe", topic: "t/x", qos: 1 }, { do: "closed" }],
    broker: [...connected, { expect: "disconnect" }],
    expect: [OK, OK, reset, reset, { ok: "asked" }],
  },
];

export function scenarioNamed(name: string): Scenario {
  const scenario = SCENARIOS.find((candidate) => candidate.name === name);
  if (scenario === undefined) throw new Error(`no MQTT contract scenario named ${name}`);
  return scenario;
}
