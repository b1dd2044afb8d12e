/**
 * The fleet's ceiling, server side: the same aedes version the platform runs, on a plain TCP
 * listener with no authentication, no ACL and no data template. Forked by bench/fleet.ts;
 * sends `{ mqttUrl }` once listening and stops on SIGTERM or when its parent goes away.
 */
import { Aedes } from "aedes";
import { createServer, type AddressInfo, type Socket } from "node:net";

const aedes = await Aedes.createBroker({ maxClientsIdLength: 128 });
const sockets = new Set<Socket>();
const server = createServer((socket) => {
  socket.setNoDelay(true); // as the platform's listener does
  sockets.add(socket);
  socket.once("close", () => sockets.delete(socket));
  socket.on("error", () => socket.destroy());
  aedes.handle(socket);
});
// The fleet keeps every client connected; the platform allows 10,000 per listener, so do we.
server.maxConnections = 20_000;
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  process.send?.({ mqttUrl: `mqtt://127.0.0.1:${port}` });
});

const stop = () => {
  for (const socket of sockets) socket.destroy();
  server.close();
  aedes.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.once("SIGTERM", stop);
process.once("disconnect", stop);
