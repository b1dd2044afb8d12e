/**
 * The connect ceiling's server: a bare aedes (bench/ceiling/bare-aedes.ts) in its own process.
 * Forked by bench/connect-ceiling.ts; sends `{ mqttUrl }` once listening and stops on SIGTERM or
 * when its parent goes away.
 */
import type { AddressInfo } from "node:net";
import { createBareAedes } from "./bare-aedes";

// The platform allows 10,000 connections per listener; the ceiling is never the one to refuse.
const broker = await createBareAedes(20_000);
broker.server.listen(0, "127.0.0.1", () => {
  const { port } = broker.server.address() as AddressInfo;
  process.send?.({ mqttUrl: `mqtt://127.0.0.1:${port}` });
});

const stop = () => {
  broker.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.once("SIGTERM", stop);
process.once("disconnect", stop);
