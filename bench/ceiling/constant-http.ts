/**
 * The registration ceiling: the platform's own HTTP server (createPlatformHttpServer, same
 * limits and timeouts) answering every request with one constant body of the same shape and
 * size as a registration answer, after reading the request body as the platform does. No
 * signature check, no registry, no encryption: what Node's HTTP stack alone sustains.
 * Forked by bench/http-ceiling.ts; sends `{ httpUrl }` once listening; stops on SIGTERM.
 */
import type { AddressInfo } from "node:net";
import { createPlatformHttpServer, DEFAULT_HTTP_LIMITS, readBody, sendJson } from "../../simulator/platform/http-server";
import { CONSTANT_REGISTRATION_ANSWER as CONSTANT } from "./constant-answer";

const server = createPlatformHttpServer(async (req, res) => {
  await readBody(req, DEFAULT_HTTP_LIMITS.maxBodyBytes);
  sendJson(res, 200, CONSTANT, { date: new Date() });
}, DEFAULT_HTTP_LIMITS);
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  process.send?.({ httpUrl: `http://127.0.0.1:${port}` });
});

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
};
process.once("SIGTERM", stop);
process.once("disconnect", stop);
