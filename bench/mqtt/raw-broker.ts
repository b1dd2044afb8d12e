/**
 * The MQTT engine bench's broker: a raw responder on loopback, the same for every client under
 * test, in a process of its own so its CPU is not counted against the client. Per connection:
 * CONNECT -> CONNACK 0; SUBSCRIBE -> SUBACK granted; a QoS 1 PUBLISH -> PUBACK, then one QoS 1
 * PUBLISH to the client on the topic it subscribed to; a client's PUBACK and PINGREQ as MQTT
 * says. Sends `{ mqttUrl }` once listening; stops on SIGTERM or when its parent goes away.
 */
import { createServer, type AddressInfo, type Socket } from "node:net";
import mqttPacket from "mqtt-packet";

const CONNACK = mqttPacket.generate({ cmd: "connack", returnCode: 0, sessionPresent: false });
const PINGRESP = mqttPacket.generate({ cmd: "pingresp" });
const DOWN_PAYLOAD = Buffer.from(JSON.stringify({ method: "control", clientToken: "bench-1", params: { power_switch: 1 } }));

const sockets = new Set<Socket>();
const server = createServer((socket) => {
  socket.setNoDelay(true);
  sockets.add(socket);
  socket.once("close", () => sockets.delete(socket));
  socket.on("error", () => socket.destroy());
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  let downTopic = "bench/down";
  parser.on("packet", (packet: mqttPacket.Packet) => {
    switch (packet.cmd) {
      case "connect":
        socket.write(CONNACK);
        return;
      case "subscribe":
        downTopic = packet.subscriptions[0]?.topic ?? downTopic;
        socket.write(mqttPacket.generate({ cmd: "suback", messageId: packet.messageId!, granted: packet.subscriptions.map((s) => s.qos) }));
        return;
      case "publish":
        if (packet.qos === 1) {
          socket.write(Buffer.concat([
            mqttPacket.generate({ cmd: "puback", messageId: packet.messageId! }),
            mqttPacket.generate({ cmd: "publish", topic: downTopic, payload: DOWN_PAYLOAD, qos: 1, messageId: 4242, dup: false, retain: false }),
          ]));
        }
        return;
      case "pingreq":
        socket.write(PINGRESP);
        return;
      case "disconnect":
        socket.end();
        return;
    }
  });
  parser.on("error", () => socket.destroy());
  socket.on("data", (chunk) => parser.parse(chunk));
});
server.maxConnections = 20_000;
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  process.send?.({ mqttUrl: `mqtt://127.0.0.1:${port}` });
});

const stop = () => {
  for (const socket of sockets) socket.destroy();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.once("SIGTERM", stop);
process.once("disconnect", stop);
