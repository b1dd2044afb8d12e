/**
 * A real MQTT broker (aedes on loopback) standing in for a platform that lets a device log in
 * and acknowledges its reports, but never answers report_info, get_status or the `$sys` time
 * request: what a device meets on a platform that lacks those services.
 */
import { once } from "node:events";
import net from "node:net";
import { Aedes } from "aedes";

export interface SilentBroker {
  url: string;
  /** Every request the device published, by method (or `$sys` type). */
  requests: string[];
  stop(): Promise<void>;
}

/** `refuse`: topic filters answered with SUBACK 0x80, as a product whose topic permissions lack them. */
export async function startSilentBroker(options: { refuse?: string[] } = {}): Promise<SilentBroker> {
  const refused = new Set(options.refuse ?? []);
  const aedes = await Aedes.createBroker({
    // aedes answers a subscription authorized as null with SUBACK 0x80.
    authorizeSubscribe: (_client, subscription, callback) => callback(null, refused.has(subscription.topic) ? null : subscription),
  });
  const requests: string[] = [];
  aedes.on("publish", (packet, client) => {
    if (!client) return; // the broker's own publishes
    let body: { method?: string; type?: string; clientToken?: string };
    try {
      body = JSON.parse(packet.payload.toString());
    } catch {
      return;
    }
    requests.push(body.method ?? body.type ?? "?");
    if (body.method !== "report" || !packet.topic.startsWith("$thing/up/property/")) return;
    const reply = { method: "report_reply", clientToken: body.clientToken, code: 0, status: "success" };
    aedes.publish({ cmd: "publish", topic: packet.topic.replace("/up/", "/down/"), payload: Buffer.from(JSON.stringify(reply)), qos: 0, dup: false, retain: false }, () => undefined);
  });
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    aedes.handle(socket);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    requests,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    },
  };
}
