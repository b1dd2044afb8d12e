/**
 * A bare aedes broker, the ceilings' MQTT side: the platform's aedes version on a plain TCP
 * listener with no authentication, no ACL, no data template and no log, sockets set up as the
 * platform's listener sets them. Shared by bench/ceiling/bare-broker.ts and bare-platform.ts.
 */
import { Aedes } from "aedes";
import { createServer, type Server, type Socket } from "node:net";

export async function createBareAedes(maxConnections: number): Promise<{ server: Server; close(done: () => void): void }> {
  const aedes = await Aedes.createBroker({ maxClientsIdLength: 128 });
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    socket.setNoDelay(true); // as the platform's listener does
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    aedes.handle(socket);
  });
  server.maxConnections = maxConnections;
  return {
    server,
    close(done) {
      for (const socket of sockets) socket.destroy();
      server.close();
      aedes.close(done);
    },
  };
}
