/**
 * MQTT 3.1.1 packets as the client sees them: control packet types, the packets a broker sends
 * (what the parser yields), and the codec's typed error. OASIS MQTT 3.1.1, section 2-3.
 */
import { HalNetworkError, nameErrorClass } from "../contracts";

export const CONNECT = 1;
export const CONNACK = 2;
export const PUBLISH = 3;
export const PUBACK = 4;
export const PUBREC = 5;
export const PUBREL = 6;
export const PUBCOMP = 7;
export const SUBSCRIBE = 8;
export const SUBACK = 9;
export const UNSUBSCRIBE = 10;
export const UNSUBACK = 11;
export const PINGREQ = 12;
export const PINGRESP = 13;
export const DISCONNECT = 14;

/** Packet type names, for messages. */
export const PACKET_NAMES = [
  "reserved (0)", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP",
  "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "reserved (15)",
];

/** The largest Remaining Length the four-byte encoding can carry (MQTT 3.1.1, 2.2.3). */
export const MAX_REMAINING_LENGTH = 268_435_455;

/** SUBACK return code for a refused subscription. */
export const SUBACK_FAILURE = 0x80;

export type QoS = 0 | 1 | 2;

export interface ConnackPacket {
  type: typeof CONNACK;
  sessionPresent: boolean;
  /** 0 accepted, 1..5 refused (the codec rejects the reserved 6..255). */
  returnCode: number;
}

export interface PublishPacket {
  type: typeof PUBLISH;
  topic: string;
  /** A copy: the caller may keep it. */
  payload: Uint8Array;
  qos: QoS;
  dup: boolean;
  retain: boolean;
  /** 1..65535 for QoS 1 and 2, 0 for QoS 0. */
  packetId: number;
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP and UNSUBACK: a packet identifier and nothing else. */
export interface AckPacket {
  type: typeof PUBACK | typeof PUBREC | typeof PUBREL | typeof PUBCOMP | typeof UNSUBACK;
  packetId: number;
}

export interface SubackPacket {
  type: typeof SUBACK;
  packetId: number;
  /** One per topic filter of the SUBSCRIBE: 0, 1, 2 granted, 0x80 refused. */
  returnCodes: number[];
}

export interface PingrespPacket {
  type: typeof PINGRESP;
}

/** What a broker may send a client. */
export type InboundPacket = ConnackPacket | PublishPacket | AckPacket | SubackPacket | PingrespPacket;

/**
 * Why bytes from the broker are not MQTT the client accepts:
 * - "malformed": breaks the MQTT 3.1.1 wire format (reserved flags, bad lengths, invalid UTF-8);
 * - "too-large": announces a packet beyond the session's bound;
 * - "unexpected": well-formed, but not what a broker may send now (a CONNECT, a second CONNACK,
 *   a QoS 2 PUBLISH on a QoS 1 session).
 * A HalNetworkError, so the core treats it as any other broken link: close and retry later.
 */
export type MqttProtocolFault = "malformed" | "too-large" | "unexpected";

export class MqttProtocolError extends HalNetworkError {
  static {
    nameErrorClass(this, "MqttProtocolError");
  }
  readonly fault: MqttProtocolFault;
  constructor(fault: MqttProtocolFault, message: string) {
    super(fault === "too-large" ? "too-large" : "other", message);
    this.fault = fault;
  }
}
