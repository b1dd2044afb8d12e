/**
 * The fleet's ceiling, server side: in one process, as the platform runs its two listeners,
 * the platform's own HTTP server answering every request with a constant body of a
 * registration answer's shape (bench/ceiling/constant-http.ts's answer) and the same aedes
 * version on a plain TCP listener with no authentication, no ACL, no data template and no log.
 * Forked by bench/fleet.ts; sends `{ httpUrl, mqttUrl }` once both listen; stops on SIGTERM or
 * when its parent goes away.
 */
import type { AddressInfo } from "node:net";
import { createBareAedes } from "./bare-aedes";
import { createPlatformHttpServer, DEFAULT_HTTP_LIMITS, readBody, sendJson } from "../../simulator/platform/http-server";
import { CONSTANT_REGISTRATION_ANSWER } from "./constant-answer";

const http = createPlatformHttpServer(async (req, res) => {
  await readBody(req, DEFAULT_HTTP_LIMITS.maxBodyBytes);
  sendJson(res, 200, CONSTANT_REGISTRATION_ANSWER, { date: new Date() });
}, DEFAULT_HTTP_LIMITS);

const broker = await createBareAedes(200_000); // never the limit here: the ceiling measures aedes, not a cap
const mqtt = broker.server;

const listen = (server: { listen(port: number, host: string, cb: () => void): unknown; address(): unknown }) =>
  new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
const [httpPort, mqttPort] = await Promise.all([listen(http), listen(mqtt)]);
process.send?.({ httpUrl: `http://127.0.0.1:${httpPort}`, mqttUrl: `mqtt://127.0.0.1:${mqttPort}` });

const stop = () => {
  http.closeAllConnections();
  http.close();
  broker.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.once("SIGTERM", stop);
process.once("disconnect", stop);
