/**
 * The Node port of the byte-socket contract (hal/node/socket.ts) on loopback: bytes both ways,
 * who reports an end and when, every connect failure as a typed HalNetworkError, and TLS as the
 * contract asks: the server verified against the given CA and the endpoint's server name, and a
 * client certificate presented when the endpoint carries one.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { createNodeSocketTransport } from "../hal/node/socket";
import { HalNetworkError, type ByteSocket, type SocketEndpoint, type SocketHandlers } from "../firmware/contracts";

interface Server {
  port: number;
  sockets: Set<net.Socket>;
  stop(): Promise<void>;
}

async function serve(server: net.Server, onSocket: (socket: net.Socket) => void): Promise<Server> {
  const sockets = new Set<net.Socket>();
  server.on(server instanceof tls.Server ? "secureConnection" : "connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    onSocket(socket);
  });
  server.on("tlsClientError", () => undefined);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as net.AddressInfo).port,
    sockets,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Handlers that record what the port reports. */
function recorder() {
  const chunks: Buffer[] = [];
  const closes: Array<HalNetworkError | undefined> = [];
  let waiter: (() => void) | undefined;
  const handlers: SocketHandlers = {
    onData(bytes) {
      assert.ok(bytes instanceof Uint8Array && !Buffer.isBuffer(bytes), "a plain Uint8Array, not a Buffer");
      chunks.push(Buffer.from(bytes));
      waiter?.();
    },
    onClose(error) {
      closes.push(error);
      waiter?.();
    },
  };
  const until = async (ready: () => boolean) => {
    while (!ready()) await new Promise<void>((resolve) => (waiter = resolve));
  };
  return { handlers, chunks, closes, until, text: () => Buffer.concat(chunks).toString() };
}

const isNetworkError = (code: string) => (error: unknown) => error instanceof HalNetworkError && error.code === code;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("Node socket port (hal/node/socket)", () => {
  const transport = createNodeSocketTransport();
  let stops: Array<() => Promise<void>> = [];
  let open: ByteSocket[] = [];
  afterEach(async () => {
    for (const socket of open) socket.close();
    for (const stop of stops.reverse()) await stop();
    stops = [];
    open = [];
  });
  async function server(onSocket: (socket: net.Socket) => void, make: () => net.Server = () => net.createServer()): Promise<Server> {
    const started = await serve(make(), onSocket);
    stops.push(() => started.stop());
    return started;
  }
  const tcp = (port: number): SocketEndpoint => ({ host: "127.0.0.1", port });

  it("carries bytes both ways in order, and reports the peer's clean close once, without an error", async () => {
    const echo = await server((socket) => socket.on("data", (data) => (data.toString().includes("bye") ? socket.end(data) : socket.write(data))));
    const rec = recorder();
    const socket = await transport.connect(tcp(echo.port), rec.handlers, 2000);
    open.push(socket);
    socket.write(Uint8Array.from(Buffer.from("hello ")));
    socket.write(Uint8Array.from(Buffer.from("world bye")));
    await rec.until(() => rec.closes.length > 0);
    assert.equal(rec.text(), "hello world bye");
    await pause(20);
    assert.deepEqual(rec.closes, [undefined]);
    assert.throws(() => socket.write(Uint8Array.of(1)), isNetworkError("reset"));
  });

  it("reports a reset by the peer as HalNetworkError, and nothing after close()", async () => {
    const peers: net.Socket[] = [];
    const target = await server((socket) => peers.push(socket));
    const first = recorder();
    open.push(await transport.connect(tcp(target.port), first.handlers, 2000));
    await pause(20);
    peers[0].resetAndDestroy();
    await first.until(() => first.closes.length > 0);
    assert.ok(first.closes[0] instanceof HalNetworkError, String(first.closes[0]));

    const second = recorder();
    const socket = await transport.connect(tcp(target.port), second.handlers, 2000);
    await pause(20);
    socket.close();
    socket.close(); // idempotent
    peers[1].resetAndDestroy();
    await pause(50);
    assert.deepEqual(second.closes, [], "no handler is called after close()");
    assert.throws(() => socket.write(Uint8Array.of(1)), HalNetworkError);
  });

  it("close() sends what was queued before the FIN", async () => {
    let received = "";
    const ended = new Promise<void>((resolve) => {
      void server((socket) => {
        socket.on("data", (data) => (received += data.toString()));
        socket.on("end", () => resolve());
      }).then((started) => {
        void transport.connect(tcp(started.port), recorder().handlers, 2000).then((socket) => {
          socket.write(Uint8Array.from(Buffer.from("last words")));
          socket.close();
        });
      });
    });
    await ended;
    assert.equal(received, "last words");
  });

  it("rejects with 'refused' when nothing listens, and never calls the handlers", async () => {
    const probe = await serve(net.createServer(), () => undefined);
    await probe.stop();
    const rec = recorder();
    await assert.rejects(transport.connect(tcp(probe.port), rec.handlers, 2000), isNetworkError("refused"));
    assert.deepEqual(rec.closes, []);
  });

  it("rejects with 'timeout' when the connection is not usable in time (a TLS server that never answers the handshake)", async () => {
    const mute = await server(() => undefined);
    const rec = recorder();
    await assert.rejects(transport.connect({ host: "127.0.0.1", port: mute.port, tls: {} }, rec.handlers, 300), isNetworkError("timeout"));
    await pause(20);
    assert.deepEqual(rec.closes, []);
  });

  it("rejects a malformed endpoint or timeout with 'other'", async () => {
    await assert.rejects(transport.connect({ host: "", port: 1883 }, recorder().handlers, 1000), isNetworkError("other"));
    await assert.rejects(transport.connect({ host: "127.0.0.1", port: 70000 }, recorder().handlers, 1000), isNetworkError("other"));
    await assert.rejects(transport.connect({ host: "127.0.0.1", port: 1883 }, recorder().handlers, 0), isNetworkError("other"));
  });

  describe("TLS", () => {
    let dir: string;
    const read = (name: string) => fs.readFileSync(path.join(dir, name), "utf8");
    let ca: string;
    let serverKey: string;
    let serverCert: string;
    let clientKey: string;
    let clientCert: string;

    before(() => {
      // A throwaway CA, a server certificate for 127.0.0.1 and broker.test, and a client certificate.
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "explorer-socket-tls-"));
      const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
      const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
      openssl("req", "-x509", ...ec, "-days", "1", "-subj", "/CN=Test CA", "-keyout", "ca.key", "-out", "ca.pem");
      openssl("req", ...ec, "-subj", "/CN=broker.test", "-keyout", "server.key", "-out", "server.csr");
      fs.writeFileSync(path.join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:broker.test\n");
      openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-extfile", "server.ext", "-out", "server.pem");
      openssl("req", ...ec, "-subj", "/CN=PCERTdev1", "-keyout", "client.key", "-out", "client.csr");
      openssl("x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-out", "client.pem");
      [ca, serverKey, serverCert, clientKey, clientCert] = ["ca.pem", "server.key", "server.pem", "client.key", "client.pem"].map(read);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** A TLS echo server that asks for a client certificate and records who presented one. */
    async function tlsServer() {
      const peers: Array<string | undefined> = [];
      const started = await server((socket) => {
        const peer = (socket as tls.TLSSocket).getPeerCertificate();
        peers.push(peer && peer.subject ? String(peer.subject.CN) : undefined);
        socket.on("data", (data) => socket.write(data));
      }, () => tls.createServer({ key: serverKey, cert: `${serverCert}${ca}`, ca, requestCert: true, rejectUnauthorized: false }));
      return { ...started, peers };
    }

    async function echoes(socket: ByteSocket, rec: ReturnType<typeof recorder>) {
      open.push(socket);
      socket.write(Uint8Array.from(Buffer.from("over tls")));
      await rec.until(() => rec.text() === "over tls");
    }

    it("connects when the server's chain leads to the given CA and matches the host", async () => {
      const target = await tlsServer();
      const rec = recorder();
      await echoes(await createNodeSocketTransport({ ca }).connect({ host: "127.0.0.1", port: target.port, tls: {} }, rec.handlers, 3000), rec);
      assert.deepEqual(target.peers, [undefined], "no client certificate was presented");
    });

    it("rejects with 'tls' when the server's certificate is not trusted, unless verification is off", async () => {
      const target = await tlsServer();
      await assert.rejects(transport.connect({ host: "127.0.0.1", port: target.port, tls: {} }, recorder().handlers, 3000), isNetworkError("tls"));
      const rec = recorder();
      await echoes(await createNodeSocketTransport({ rejectUnauthorized: false }).connect({ host: "127.0.0.1", port: target.port, tls: {} }, rec.handlers, 3000), rec);
    });

    it("checks the certificate against serverName when given: a DNS SAN matches, another name is refused", async () => {
      const target = await tlsServer();
      const trusting = createNodeSocketTransport({ ca });
      const rec = recorder();
      await echoes(await trusting.connect({ host: "127.0.0.1", port: target.port, tls: { serverName: "broker.test" } }, rec.handlers, 3000), rec);
      await assert.rejects(trusting.connect({ host: "127.0.0.1", port: target.port, tls: { serverName: "other.test" } }, recorder().handlers, 3000), isNetworkError("tls"));
    });

    it("presents the endpoint's client certificate in the handshake", async () => {
      const target = await tlsServer();
      const rec = recorder();
      const endpoint: SocketEndpoint = { host: "127.0.0.1", port: target.port, tls: { clientCertificate: { certPem: clientCert, keyPem: clientKey } } };
      await echoes(await createNodeSocketTransport({ ca }).connect(endpoint, rec.handlers, 3000), rec);
      assert.deepEqual(target.peers, ["PCERTdev1"]);
    });

    it("rejects with 'credentials' (not worth a retry) a client certificate or key it cannot load", async () => {
      const target = await tlsServer();
      const broken: SocketEndpoint = { host: "127.0.0.1", port: target.port, tls: { clientCertificate: { certPem: clientCert, keyPem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" } } };
      await assert.rejects(createNodeSocketTransport({ ca }).connect(broken, recorder().handlers, 3000), (error: unknown) => isNetworkError("credentials")(error) && /client certificate or key/.test((error as Error).message));
    });
  });
});
