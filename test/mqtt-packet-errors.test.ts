/**
 * The codec's errors as the core and a person read them (firmware/mqtt/packet.ts): each packet
 * type named in the message, the class name kept for logs, and the network code the core's retry
 * logic reads ("too-large" only for a packet past the session's bound). Found by `npm run mutate`:
 * the codec tests accepted any MqttProtocolError.
 */
import assert from "node:assert/strict";
import { HalNetworkError } from "../firmware/contracts";
import { MqttProtocolError, PACKET_NAMES } from "../firmware/mqtt/packet";
import { PacketReader } from "../firmware/mqtt/parse";

const MALFORMED = "malformed MQTT packet from the broker: ";

/** The error a fresh reader throws on these bytes. */
function refusal(bytes: number[], maxPacketBytes = 1024): MqttProtocolError {
  const reader = new PacketReader(maxPacketBytes);
  reader.feed(Uint8Array.from(bytes));
  try {
    reader.next();
  } catch (error) {
    assert.ok(error instanceof MqttProtocolError, String(error));
    return error;
  }
  assert.fail(`the reader accepted ${JSON.stringify(bytes)}`);
}

describe("MQTT codec errors (firmware/mqtt/packet)", () => {
  it("names each packet type in its message: reserved flags on a broker's packet, a client's packet from the broker", () => {
    const brokerTypes: Array<[number, string]> = [[2, "CONNACK"], [4, "PUBACK"], [5, "PUBREC"], [7, "PUBCOMP"], [9, "SUBACK"], [11, "UNSUBACK"], [13, "PINGRESP"]];
    for (const [type, name] of brokerTypes) {
      const error = refusal([(type << 4) | 0x01, 0]);
      assert.equal(error.fault, "malformed");
      assert.equal(error.message, `${MALFORMED}${name} with reserved flags set`);
    }
    const clientTypes: Array<[number, string]> = [[1, "CONNECT"], [8, "SUBSCRIBE"], [10, "UNSUBSCRIBE"], [12, "PINGREQ"], [14, "DISCONNECT"]];
    for (const [type, name] of clientTypes) {
      const error = refusal([type << 4, 0]);
      assert.equal(error.fault, "unexpected");
      assert.equal(error.message, `the broker sent ${name}, which only a client sends`);
    }
    assert.equal(refusal([0x30 | 0x06, 5]).message, `${MALFORMED}PUBLISH with QoS 3`);
    assert.equal(refusal([0x62, 1]).message, `${MALFORMED}PUBREL of 1 bytes, not 2`);
    assert.deepEqual([PACKET_NAMES[0], PACKET_NAMES[15]], ["reserved (0)", "reserved (15)"]);
  });

  it("is a HalNetworkError named MqttProtocolError whose code is too-large only for a packet past the bound", () => {
    const malformed = refusal([0x21, 2, 0, 0]);
    assert.ok(malformed instanceof HalNetworkError);
    assert.equal(malformed.name, "MqttProtocolError");
    assert.equal(malformed.code, "other");
    const unexpected = refusal([0x10, 0]);
    assert.equal(unexpected.code, "other");
    const tooLarge = refusal([0x30, 200, 1], 64);
    assert.equal(tooLarge.fault, "too-large");
    assert.equal(tooLarge.code, "too-large");
    assert.match(tooLarge.message, /^the broker announced a PUBLISH of \d+ bytes; this session accepts at most 64$/);
  });
});
