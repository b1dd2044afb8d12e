/**
 * Data-template topic names of docs/PROTOCOL.md §7: `$thing/<up|down>/<property|event|action>/<pid>/<dn>`.
 * A device may publish and subscribe only its own topics.
 */
export type TopicDirection = "up" | "down";
export type TopicKind = "property" | "event" | "action";

export function thingTopic(direction: TopicDirection, kind: TopicKind, productId: string, deviceName: string): string {
  return `$thing/${direction}/${kind}/${productId}/${deviceName}`;
}

export interface ThingTopics {
  propertyUp: string;
  propertyDown: string;
  eventUp: string;
  eventDown: string;
  actionUp: string;
  actionDown: string;
}

export function thingTopics(productId: string, deviceName: string): ThingTopics {
  return {
    propertyUp: thingTopic("up", "property", productId, deviceName),
    propertyDown: thingTopic("down", "property", productId, deviceName),
    eventUp: thingTopic("up", "event", productId, deviceName),
    eventDown: thingTopic("down", "event", productId, deviceName),
    actionUp: thingTopic("up", "action", productId, deviceName),
    actionDown: thingTopic("down", "action", productId, deviceName),
  };
}

export interface ParsedThingTopic {
  direction: TopicDirection;
  kind: TopicKind;
  productId: string;
  deviceName: string;
}

/** The parts of a data-template topic, or undefined when the topic is not one. */
export function parseThingTopic(topic: string): ParsedThingTopic | undefined {
  const match = /^\$thing\/(up|down)\/(property|event|action)\/([^/+#]+)\/([^/+#]+)$/.exec(topic);
  if (!match) return undefined;
  return { direction: match[1] as TopicDirection, kind: match[2] as TopicKind, productId: match[3], deviceName: match[4] };
}
