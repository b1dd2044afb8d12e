/**
 * Interop: the mock platform driven with the exact bytes Tencent's embedded C SDK 3.1 sends
 * (test/lib/c-sdk-wire.ts rebuilds them from the SDK's source and checks itself against bytes
 * captured from the SDK's samples): both widths of its never-expiring username, its two PSK cipher
 * suites on the one MQTT TLS port (with `openssl s_client -psk` as a second, independent client),
 * client-certificate and server-auth TLS on the same port, every data-template method, the time
 * service, the default custom topics and the legacy registration ending without a timeout.
 */
import { strict as assert } from "node:assert";
import { execFileSync, spawn } from "node:child_process";
import { createDecipheriv } from "node:crypto";
import { readFileSync } from "node:fs";
import { connect as netConnect, type Socket } from "node:net";
import { join } from "node:path";
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from "node:tls";
import * as mqttPacket from "mqtt-packet";
import type { Packet } from "mqtt-packet";
import { startPlatform, type RunningPlatform } from "../simulator/platform/index";
import { EXPIRY_GRACE_MS } from "../simulator/platform/mqtt-auth";
import {
  CAPTURED_LEGACY_REGISTER, CAPTURED_NOTLS_CONNECT, CAPTURED_TEMPLATE_PAYLOADS, C_SDK_HTTP_FIRST_READ_BYTES, C_SDK_PSK_SUITES,
  C_SDK_TIME_REQUEST, LONG_MAX_32, LONG_MAX_64, cSdkActionReply, cSdkClearControl, cSdkClientToken, cSdkConnectPacket,
  cSdkControlReply, cSdkEventPost, cSdkEventsPost, cSdkGetStatus, cSdkLegacyRegisterRequest, cSdkNoTlsPassword,
  cSdkPublishPacket, cSdkReport, cSdkReportInfo, cSdkSubscribePacket, cSdkUsername,
} from "./lib/c-sdk-wire";
import { tempDir } from "./platform-helpers";

const PSK_PID = "IOPSKPROD1";
const PSK_SECRET = "interopPskSecret0001";
const CERT_PID = "IOCERTPRD1";
const CERT_SECRET = "interopCertSecret001";
const CONN_ID = "kvPQD";

function config() {
  return {
    products: [
      { productId: PSK_PID, productSecret: PSK_SECRET, dynamicRegistration: true, authType: "psk" as const, devices: ["dev001", "dev002", "dev003"] },
      { productId: CERT_PID, productSecret: CERT_SECRET, dynamicRegistration: true, authType: "cert" as const, devices: ["cam001"] },
    ],
  };
}

/** dynreg.c, _parse_devinfo: Base64, AES-128-CBC with the first 16 bytes of the secret and IV "0"*16, zero padding. */
function decryptLikeTheSdk(secret: string, payload: string): any {
  const decipher = createDecipheriv("aes-128-cbc", Buffer.from(secret).subarray(0, 16), Buffer.from("0".repeat(16))).setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(Buffer.from(payload, "base64")), decipher.final()]);
  return JSON.parse(plain.toString("utf8").replace(/\0+$/, ""));
}

// ------------------------------------------------------------------ a byte-level MQTT peer

/** Writes the SDK's bytes as they are and parses what comes back with mqtt-packet. */
class RawMqtt {
  private readonly packets: Packet[] = [];
  private readonly waiters: Array<() => void> = [];
  readonly closed: Promise<void>;

  constructor(readonly socket: Socket) {
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on("packet", (packet: Packet) => { this.packets.push(packet); this.waiters.splice(0).forEach((wake) => wake()); });
    socket.on("data", (chunk: Buffer) => parser.parse(chunk));
    this.closed = new Promise((resolve) => socket.once("close", () => { resolve(); this.waiters.splice(0).forEach((wake) => wake()); }));
    socket.on("error", () => undefined);
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next packet matching `match`, consumed; rejects if the connection closes first. */
  async next(match: (packet: Packet) => boolean, what = "packet"): Promise<Packet> {
    for (;;) {
      const index = this.packets.findIndex(match);
      if (index !== -1) return this.packets.splice(index, 1)[0];
      if (this.socket.destroyed) throw new Error(`connection closed while waiting for ${what}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async connack(): Promise<number> {
    const packet = await this.next((p) => p.cmd === "connack", "CONNACK");
    return (packet as { returnCode: number }).returnCode;
  }

  async subscribe(packetId: number, topic: string): Promise<number> {
    this.send(cSdkSubscribePacket(packetId, topic, 0));
    const suback = await this.next((p) => p.cmd === "suback" && p.messageId === packetId, "SUBACK") as { granted: number[] };
    return suback.granted[0];
  }

  /** The next message on `topic`, as JSON. */
  async message(topic: string): Promise<any> {
    const packet = await this.next((p) => p.cmd === "publish" && p.topic === topic, `a message on ${topic}`) as { payload: Buffer };
    return JSON.parse(packet.payload.toString("utf8"));
  }

  end(): void {
    this.socket.destroy();
  }
}

function tcpSocket(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = netConnect(Number(port), hostname, () => resolve(socket));
    socket.once("error", reject);
  });
}

function tlsSocket(url: string, options: ConnectionOptions): Promise<TLSSocket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: hostname, port: Number(port), ...options }, () => resolve(socket));
    socket.once("error", reject);
  });
}

/** A TLS-PSK handshake offering exactly one of the SDK's suites, as mbedtls does (TLS 1.2). */
function pskSocket(url: string, suite: string, identity: string, key: Buffer): Promise<TLSSocket> {
  return tlsSocket(url, {
    ciphers: suite, minVersion: "TLSv1.2", maxVersion: "TLSv1.2",
    checkServerIdentity: () => undefined,
    pskCallback: () => ({ identity, psk: key }),
  });
}

// ------------------------------------------------------------------ HTTP the way utils_httpc.c reads it

interface RawHttpAnswer {
  bytes: Buffer;
  headerEnd: number;           // index just past "\r\n\r\n"
  headers: string;
  body: string;
  /** The server closed its side after the body. */
  ended: boolean;
}

/**
 * Sends the SDK's request (header block and body in two writes, as _http_client_send_header and
 * _http_client_send_userdata do) and reads the response until its Content-Length is complete;
 * `ended` tells whether the server then closed (awaited only when it said Connection: close).
 */
async function legacyExchange(socket: Socket, request: { head: string; body: string }): Promise<RawHttpAnswer> {
  const chunks: Buffer[] = [];
  let ended = false;
  const endSeen = new Promise<void>((resolve) => socket.once("end", () => { ended = true; resolve(); }));
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.write(request.head);
  socket.write(request.body);
  for (;;) {
    const bytes = Buffer.concat(chunks);
    const text = bytes.toString("latin1");
    const headerEnd = text.indexOf("\r\n\r\n");
    // strstr(data, "Content-Length"): the SDK looks for this exact spelling (_http_client_response_parse).
    const length = /Content-Length: (\d+)/.exec(text.slice(0, headerEnd));
    if (headerEnd !== -1 && length && bytes.length >= headerEnd + 4 + Number(length[1])) {
      const headers = text.slice(0, headerEnd + 4);
      if (/\r\nConnection: close\r\n/i.test(headers)) await endSeen;
      return { bytes, headerEnd: headerEnd + 4, headers, body: bytes.subarray(headerEnd + 4, headerEnd + 4 + Number(length[1])).toString("utf8"), ended };
    }
    if (ended) throw new Error(`the server closed before the response was complete: ${JSON.stringify(text.slice(0, 300))}`);
    await Promise.race([new Promise((resolve) => socket.once("data", resolve)), endSeen]);
  }
}

// ------------------------------------------------------------------ the tests

describe("interop: Tencent's C SDK 3.1 bytes against the mock platform", function () {
  this.timeout(30_000);
  let platform: RunningPlatform;
  let temp: ReturnType<typeof tempDir>;
  let serverCert: string;
  let clock: number;
  const events: Array<Record<string, unknown>> = [];
  const open: Array<{ end(): void }> = [];

  before(() => {
    temp = tempDir("explorer-xs-interop-");
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", join(temp.dir, "server.key"), "-out", join(temp.dir, "server.pem"), "-days", "2",
      "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
    serverCert = readFileSync(join(temp.dir, "server.pem"), "utf8");
  });
  after(() => temp.remove());

  beforeEach(async () => {
    clock = Date.now();
    events.length = 0;
    platform = await startPlatform({
      memory: true, config: config(), now: () => clock, log: (event) => events.push(event),
      tls: { key: readFileSync(join(temp.dir, "server.key")), cert: serverCert },
    });
  });
  afterEach(async () => {
    open.splice(0).forEach((peer) => peer.end());
    await platform.close();
  });

  /** Registers through the legacy endpoint exactly as IOT_DynReg_Device does, over plain HTTP. */
  async function registerLikeTheSdk(productId: string, secret: string, deviceName: string, nonce = 1_000_000 + Math.floor(Math.random() * 1e9)): Promise<any> {
    const socket = await tcpSocket(platform.httpUrl);
    open.push(socket);
    const answer = await legacyExchange(socket, cSdkLegacyRegisterRequest({ productSecret: secret, productId, deviceName, nonce, timestamp: Math.floor(clock / 1000) }));
    const json = JSON.parse(answer.body);
    assert.equal(json.code, 0, answer.body);
    return decryptLikeTheSdk(secret, json.payload);
  }

  async function mqttPeer(socket: Socket): Promise<RawMqtt> {
    const peer = new RawMqtt(socket);
    open.push(peer);
    return peer;
  }

  describe("the wire builders reproduce the SDK's captured bytes", () => {
    it("CONNECT of mqtt_sample (NOTLS), legacy registration request of dynreg_dev_sample, data-template payloads", () => {
      const clientId = "NOTLSPROD1dev001";
      const username = cSdkUsername(clientId, CAPTURED_NOTLS_CONNECT.connId, LONG_MAX_64);
      assert.equal(username, "NOTLSPROD1dev001;21010406;kvPQD;92233720368547758", "the SDK's buffer cuts LONG_MAX to 17 digits");
      const connect = cSdkConnectPacket({ clientId, username, password: cSdkNoTlsPassword(username, CAPTURED_NOTLS_CONNECT.psk) });
      assert.equal(connect.toString("hex"), CAPTURED_NOTLS_CONNECT.hex);
      const { head, body } = cSdkLegacyRegisterRequest(CAPTURED_LEGACY_REGISTER);
      assert.equal(head + body, CAPTURED_LEGACY_REGISTER.text);
      const p = "NOTLSPROD1";
      assert.equal(cSdkReportInfo(cSdkClientToken(p, 0), `{"module_hardinfo":"ESP8266","module_softinfo":"V1.0","fw_ver":"3.1.5","imei":"11-22-33-44","lat":"22.546015","lon":"113.941125"}`,
        `{"append_info":"your self define info"}`), CAPTURED_TEMPLATE_PAYLOADS.reportInfo);
      assert.equal(cSdkGetStatus(cSdkClientToken(p, 1)), CAPTURED_TEMPLATE_PAYLOADS.getStatus);
      assert.equal(cSdkClearControl(cSdkClientToken(p, 1)), CAPTURED_TEMPLATE_PAYLOADS.clearControl);
      assert.equal(cSdkReport(cSdkClientToken(p, 2), `{"power_switch":0,"color":0,"brightness":0,"name":"dev001","position":{"longitude":1,"latitude":1}}`), CAPTURED_TEMPLATE_PAYLOADS.report);
      assert.equal(cSdkControlReply("ctl-5230e32c-6c00-48b2-87f2-f74abf41ec03", 0), CAPTURED_TEMPLATE_PAYLOADS.controlReply);
      assert.equal(cSdkEventPost(cSdkClientToken(p, 4), "status_report", "info", `{"status":0,"message":"light off"}`, 1796032382), CAPTURED_TEMPLATE_PAYLOADS.eventPost);
      assert.equal(cSdkActionReply("act-c347d497-c9be-40e6-b9b1-cdbb2ecf34eb", 0, "action execute success!", `{"err_code":1}`), CAPTURED_TEMPLATE_PAYLOADS.actionReply);
      assert.equal(C_SDK_TIME_REQUEST, CAPTURED_TEMPLATE_PAYLOADS.timeRequest);
    });
  });

  describe("MQTT login with the SDK's never-expiring username", () => {
    const widths = [
      ["64-bit host, as sent (LONG_MAX cut to 17 digits by the SDK's buffer)", LONG_MAX_64, true],
      ["64-bit LONG_MAX in full (19 digits)", LONG_MAX_64, false],
      ["32-bit MCU (LONG_MAX 2147483647)", LONG_MAX_32, true],
    ] as const;
    for (const [label, longMax, truncate] of widths) {
      it(`accepts the NOTLS CONNECT of a ${label}`, async () => {
        const { psk } = await registerLikeTheSdk(PSK_PID, PSK_SECRET, "dev001");
        const clientId = `${PSK_PID}dev001`;
        const username = cSdkUsername(clientId, CONN_ID, longMax, { truncate });
        const peer = await mqttPeer(await tcpSocket(platform.mqttUrl));
        peer.send(cSdkConnectPacket({ clientId, username, password: cSdkNoTlsPassword(username, psk) }));
        assert.equal(await peer.connack(), 0);
        assert.equal((await platform.registry.getDevice(PSK_PID, "dev001"))?.state, "activated");
      });
    }

    it("still refuses an expiry past the 300 s grace, in seconds and in milliseconds, compared exactly", async () => {
      const { psk } = await registerLikeTheSdk(PSK_PID, PSK_SECRET, "dev002");
      const clientId = `${PSK_PID}dev002`;
      for (const expiry of [String(Math.floor((clock - EXPIRY_GRACE_MS) / 1000) - 1), String(clock - EXPIRY_GRACE_MS - 1)]) {
        const username = `${clientId};21010406;${CONN_ID};${expiry}`;
        const peer = await mqttPeer(await tcpSocket(platform.mqttUrl));
        peer.send(cSdkConnectPacket({ clientId, username, password: cSdkNoTlsPassword(username, psk) }));
        assert.equal(await peer.connack(), 4, expiry);
      }
    });
  });

  describe("the one MQTT TLS port", () => {
    for (const suite of C_SDK_PSK_SUITES) {
      it(`serves a TLS-PSK device offering only ${suite} (identity ProductId+DeviceName, no password)`, async () => {
        const { psk } = await registerLikeTheSdk(PSK_PID, PSK_SECRET, "dev001");
        const socket = await pskSocket(platform.mqttTlsUrl!, suite, `${PSK_PID}dev001`, Buffer.from(psk, "base64"));
        assert.equal(socket.getCipher().name, suite);
        assert.equal(socket.getProtocol(), "TLSv1.2");
        const peer = await mqttPeer(socket);
        const clientId = `${PSK_PID}dev001`;
        peer.send(cSdkConnectPacket({ clientId, username: cSdkUsername(clientId, CONN_ID, LONG_MAX_64) }));
        assert.equal(await peer.connack(), 0);
        assert.ok(events.some((e) => e.event === "connect" && e.transport === "tls-psk" && e.outcome === "accepted"));
      });
    }

    it("refuses a TLS-PSK handshake with the wrong key, and a PSK identity used for another client id", async () => {
      const { psk } = await registerLikeTheSdk(PSK_PID, PSK_SECRET, "dev001");
      await assert.rejects(pskSocket(platform.mqttTlsUrl!, C_SDK_PSK_SUITES[0], `${PSK_PID}dev001`, Buffer.alloc(16, 9)));
      const { psk: other } = await registerLikeTheSdk(PSK_PID, PSK_SECRET, "dev002");
      const socket = await pskSocket(platform.mqttTlsUrl!, C_SDK_PSK_SUITES[0], `${PSK_PID}dev002`, Buffer.from(other, "base64"));
      const peer = await mqttPeer(socket);
      const clientId = `${PSK_PID}dev001`; // dev002's handshake, dev001's CONNECT
      peer.send(cSdkConnectPacket({ clientId, username: cSdkUsername(clientId, CONN_ID, LONG_MAX_64) }));
      assert.equal(await peer.connack(), 4, "the handshake proved dev002, not dev001: a password would be needed");
      assert.ok(psk.length > 0);
    });

    it("serves the same PSK suite to `openssl s_client -psk`, an independent TLS stack", async () => {
      const { psk } = await registerLikeTheSdk(PSK_PID, PSK_SECRET, "dev001");
      const { port } = new URL(platform.mqttTlsUrl!);
      const clientId = `${PSK_PID}dev001`;
      const child = spawn("openssl", ["s_client", "-connect", `127.0.0.1:${port}`, "-tls1_2", "-cipher", C_SDK_PSK_SUITES[0],
        "-psk", Buffer.from(psk, "base64").toString("hex"), "-psk_identity", clientId, "-quiet"], { stdio: ["pipe", "pipe", "pipe"] });
      try {
        const stdout: Buffer[] = [];
        const connack = new Promise<Buffer>((resolve, reject) => {
          child.stdout.on("data", (chunk: Buffer) => {
            stdout.push(chunk);
            const all = Buffer.concat(stdout);
            if (all.length >= 4) resolve(all);
          });
          child.once("exit", (code) => reject(new Error(`openssl exited (${code}) before CONNACK`)));
        });
        child.stdin.write(cSdkConnectPacket({ clientId, username: cSdkUsername(clientId, CONN_ID, LONG_MAX_64) }));
        assert.equal((await connack).subarray(0, 4).toString("hex"), "20020000");
      } finally {
        child.kill();
      }
    });

    it("serves a certificate device its client certificate on the same port (no password)", async () => {
      const { encryptionType, clientCert, clientKey } = await registerLikeTheSdk(CERT_PID, CERT_SECRET, "cam001");
      assert.equal(encryptionType, 1);
      const socket = await tlsSocket(platform.mqttTlsUrl!, { ca: serverCert, cert: clientCert, key: clientKey, maxVersion: "TLSv1.2" });
      const peer = await mqttPeer(socket);
      const clientId = `${CERT_PID}cam001`;
      peer.send(cSdkConnectPacket({ clientId, username: cSdkUsername(clientId, CONN_ID, LONG_MAX_64) }));
      assert.equal(await peer.connack(), 0);
      assert.ok(events.some((e) => e.event === "connect" && e.transport === "tls-cert" && e.outcome === "accepted"));
      // A look-alike certificate (same subject, not from the mock CA) proves nothing.
      execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", join(temp.dir, "fake.key"), "-out", join(temp.dir, "fake.pem"), "-days", "2", "-subj", `/O=${CERT_PID}/CN=${clientId}`], { stdio: "ignore" });
      const fake = await mqttPeer(await tlsSocket(platform.mqttTlsUrl!, {
        ca: serverCert, cert: readFileSync(join(temp.dir, "fake.pem")), key: readFileSync(join(temp.dir, "fake.key")), maxVersion: "TLSv1.2",
      }));
      fake.send(cSdkConnectPacket({ clientId, username: cSdkUsername(clientId, CONN_ID, LONG_MAX_64) }));
      assert.equal(await fake.connack(), 5);
    });

    it("serves server-auth TLS with the §5 username and password on the same port (Python SDK style)", async () => {
      const { psk } = await registerLikeTheSdk(PSK_PID, PSK_SECRET, "dev003");
      const socket = await tlsSocket(platform.mqttTlsUrl!, { ca: serverCert });
      const peer = await mqttPeer(socket);
      const clientId = `${PSK_PID}dev003`;
      const username = `${clientId};21010406;${CONN_ID};${clock + 60_000}`; // milliseconds, as Tencent's Python SDK sends
      const { createHmac } = await import("node:crypto");
      const password = createHmac("sha256", Buffer.from(psk, "base64")).update(username).digest("hex") + ";hmacsha256";
      peer.send(cSdkConnectPacket({ clientId, username, password }));
      assert.equal(await peer.connack(), 0);
      // Without the password, server-auth TLS proves nothing about the device.
      const bare = await mqttPeer(await tlsSocket(platform.mqttTlsUrl!, { ca: serverCert }));
      bare.send(cSdkConnectPacket({ clientId, username }));
      assert.equal(await bare.connack(), 4);
    });
  });

  describe("the data-template protocol, every method as the SDK sends it", () => {
    const dn = "dev001";
    const clientId = `${PSK_PID}${dn}`;
    const topic = (path: string) => `${path}/${PSK_PID}/${dn}`;
    let peer: RawMqtt;

    beforeEach(async () => {
      const { psk } = await registerLikeTheSdk(PSK_PID, PSK_SECRET, dn);
      peer = await mqttPeer(await tcpSocket(platform.mqttUrl));
      // The SDK as built for a 32-bit MCU such as the ESP32: LONG_MAX is 2147483647.
      const username = cSdkUsername(clientId, CONN_ID, LONG_MAX_32);
      peer.send(cSdkConnectPacket({ clientId, username, password: cSdkNoTlsPassword(username, psk) }));
      assert.equal(await peer.connack(), 0);
      // IOT_Template_Construct, IOT_Event_Init, IOT_Action_Init: the down topics at QoS 0.
      for (const [id, down] of [[1, "$thing/down/property"], [2, "$thing/down/event"], [3, "$thing/down/action"]] as const) {
        assert.equal(await peer.subscribe(id, topic(down)), 0, down);
      }
    });

    it("report_info → report_info_reply, and the module and firmware info kept on the device's record", async () => {
      const reply = peer.message(topic("$thing/down/property"));
      peer.send(cSdkPublishPacket(topic("$thing/up/property"), cSdkReportInfo(cSdkClientToken(PSK_PID, 0),
        `{"module_hardinfo":"ESP8266","module_softinfo":"V1.0","fw_ver":"3.1.5","imei":"11-22-33-44","lat":"22.546015","lon":"113.941125"}`,
        `{"append_info":"your self define info"}`)));
      assert.deepEqual(await reply, { method: "report_info_reply", clientToken: `${PSK_PID}-0`, code: 0, status: "success" });
      const info = (await platform.thing.deviceInfo(PSK_PID, dn))!;
      assert.equal(info.info.fw_ver, "3.1.5");
      assert.equal(info.info.module_hardinfo, "ESP8266");
      assert.deepEqual(info.info.device_label, { append_info: "your self define info" });
    });

    it("get_status → get_status_reply with data.reported and data.control; clear_control → clear_control_reply", async () => {
      const down = topic("$thing/down/property");
      let reply = peer.message(down);
      peer.send(cSdkPublishPacket(topic("$thing/up/property"), cSdkGetStatus(cSdkClientToken(PSK_PID, 1))));
      assert.deepEqual(await reply, { method: "get_status_reply", clientToken: `${PSK_PID}-1`, code: 0, status: "success", data: {} });

      reply = peer.message(down);
      peer.send(cSdkPublishPacket(topic("$thing/up/property"), cSdkReport(cSdkClientToken(PSK_PID, 2), `{"power_switch":0,"color":0,"brightness":0,"name":"dev001"}`)));
      assert.deepEqual(await reply, { method: "report_reply", clientToken: `${PSK_PID}-2`, code: 0, status: "success" });
      // A control the device has not acknowledged stays pending (the sample's comment: "otherwise server ... retain the msg which would be get by get status").
      await platform.broker.disconnect(PSK_PID, dn);
      await peer.closed;
      await platform.thing.control(PSK_PID, dn, { brightness: 42 });
      assert.deepEqual(await platform.thing.pendingControl(PSK_PID, dn), { brightness: 42 });

      const { psk } = { psk: (await platform.registry.getDevice(PSK_PID, dn))!.psk! };
      peer = await mqttPeer(await tcpSocket(platform.mqttUrl));
      const username = cSdkUsername(clientId, CONN_ID, LONG_MAX_32);
      peer.send(cSdkConnectPacket({ clientId, username, password: cSdkNoTlsPassword(username, psk) }));
      assert.equal(await peer.connack(), 0);
      assert.equal(await peer.subscribe(1, down), 0);
      reply = peer.message(down);
      peer.send(cSdkPublishPacket(topic("$thing/up/property"), cSdkGetStatus(cSdkClientToken(PSK_PID, 1))));
      const status = await reply;
      assert.deepEqual(status, {
        method: "get_status_reply", clientToken: `${PSK_PID}-1`, code: 0, status: "success",
        data: { reported: { brightness: 0, color: 0, name: "dev001", power_switch: 0 }, control: { brightness: 42 } },
      });
      // _get_status_reply_ack_cb: control found, so the SDK clears it with the get_status token.
      reply = peer.message(down);
      peer.send(cSdkPublishPacket(topic("$thing/up/property"), cSdkClearControl(cSdkClientToken(PSK_PID, 1))));
      assert.deepEqual(await reply, { method: "clear_control_reply", clientToken: `${PSK_PID}-1`, code: 0, status: "success" });
      assert.equal(await platform.thing.pendingControl(PSK_PID, dn), undefined);
    });

    it("control from the platform → the device's control_reply recorded, and the control no longer pending", async () => {
      const control = peer.message(topic("$thing/down/property"));
      const sent = await platform.thing.control(PSK_PID, dn, { power_switch: 1, color: 2 });
      assert.equal(sent.delivered, true);
      assert.deepEqual(await control, { method: "control", clientToken: sent.clientToken, params: { power_switch: 1, color: 2 } });
      peer.send(cSdkPublishPacket(topic("$thing/up/property"), cSdkControlReply(sent.clientToken, 0)));
      await waitFor(async () => (await platform.registry.getControl(sent.clientToken))?.reply !== undefined);
      assert.deepEqual((await platform.registry.getControl(sent.clientToken))?.reply?.code, 0);
      assert.equal(await platform.thing.pendingControl(PSK_PID, dn), undefined);
    });

    it("event_post → event_reply and events_post → events_reply on the event down topic", async () => {
      const down = topic("$thing/down/event");
      let reply = peer.message(down);
      peer.send(cSdkPublishPacket(topic("$thing/up/event"), cSdkEventPost(cSdkClientToken(PSK_PID, 4), "status_report", "info", `{"status":0,"message":"light off"}`)));
      assert.deepEqual(await reply, { method: "event_reply", clientToken: `${PSK_PID}-4`, code: 0, status: "", data: {} });
      reply = peer.message(down);
      peer.send(cSdkPublishPacket(topic("$thing/up/event"), cSdkEventsPost(cSdkClientToken(PSK_PID, 5), [
        { eventId: "status_report", type: "info", paramsJson: `{"status":1,"message":"on"}` },
        { eventId: "low_voltage", type: "alert", paramsJson: `{"voltage":2.8}` },
      ])));
      assert.deepEqual(await reply, { method: "events_reply", clientToken: `${PSK_PID}-5`, code: 0, status: "", data: {} });
    });

    it("an action call from the platform carries what the SDK parses, and its action_reply answers the call", async () => {
      const request = peer.message(topic("$thing/down/action"));
      const call = platform.thing.callAction(PSK_PID, dn, "light_blink", { time: 3, color: 1, total_time: 9 }, 10_000);
      const action = await request;
      // _on_action_handle_callback gives up without any of method, clientToken, actionId, timestamp, params.
      assert.equal(action.method, "action");
      assert.equal(action.actionId, "light_blink");
      assert.equal(action.timestamp, Math.floor(clock / 1000));
      assert.deepEqual(action.params, { time: 3, color: 1, total_time: 9 });
      peer.send(cSdkPublishPacket(topic("$thing/up/action"), cSdkActionReply(action.clientToken, 0, "action execute success!", `{"err_code":1}`), 1, 7));
      const answered = await call;
      assert.deepEqual(answered.reply.response, { err_code: 1 });
      assert.equal(answered.reply.status, "action execute success!");
      assert.equal((await platform.registry.getAction(action.clientToken))?.reply?.code, 0);
    });

    it("$sys/operation get time → $sys/operation/result with time, ntptime1 and ntptime2 from the platform's clock", async () => {
      assert.equal(await peer.subscribe(4, topic("$sys/operation/result")), 0);
      const result = peer.message(topic("$sys/operation/result"));
      peer.send(cSdkPublishPacket(topic("$sys/operation"), C_SDK_TIME_REQUEST));
      assert.deepEqual(await result, { type: "get", time: Math.floor(clock / 1000), ntptime1: clock, ntptime2: clock });
    });

    it("the default custom topics: data both ways, event up, control down; nothing else, and no other device's", async () => {
      const data = `${PSK_PID}/${dn}/data`;
      assert.equal(await peer.subscribe(5, data), 0);
      assert.equal(await peer.subscribe(6, `${PSK_PID}/${dn}/control`), 0);
      for (const [id, refused] of [[7, `${PSK_PID}/${dn}/event`], [8, `${PSK_PID}/dev002/data`], [9, `${PSK_PID}/+/data`], [10, "#"],
        [11, `$ota/update/${PSK_PID}/dev002`], [12, `${PSK_PID}/${dn}/other`], [13, `$sys/operation/result/${PSK_PID}/dev002`]] as const) {
        assert.equal(await peer.subscribe(id, refused), 0x80, refused);
      }
      const echoed = peer.message(data);
      peer.send(cSdkPublishPacket(data, `{"hello":1}`));
      assert.deepEqual(await echoed, { hello: 1 });
      peer.send(cSdkPublishPacket(`${PSK_PID}/${dn}/event`, `{"e":1}`));
      const controlled = peer.message(`${PSK_PID}/${dn}/control`);
      assert.deepEqual(await platform.thing.publish(PSK_PID, dn, `${PSK_PID}/${dn}/control`, `{"open":true}`, 1), { delivered: true });
      assert.deepEqual(await controlled, { open: true });
      await assert.rejects(platform.thing.publish(PSK_PID, dn, `${PSK_PID}/${dn}/event`, "{}"), { code: "topic-not-allowed" });
      // Publishing to another device's topic ends the session.
      peer.send(cSdkPublishPacket(`${PSK_PID}/dev002/data`, "{}"));
      await peer.closed;
    });
  });

  describe("legacy registration ends when the body does (no wait for the SDK's 2 s read timeout)", () => {
    it("over HTTP: the response says Connection: close and the server closes after the body", async () => {
      const socket = await tcpSocket(platform.httpUrl);
      open.push(socket);
      const answer = await legacyExchange(socket, cSdkLegacyRegisterRequest({ productSecret: PSK_SECRET, productId: PSK_PID, deviceName: "dev001", nonce: 42, timestamp: Math.floor(clock / 1000) }));
      assert.match(answer.headers, /\r\nConnection: close\r\n/);
      assert.equal(answer.ended, true, "HAL_TCP_Read returns what it read once the peer closes");
      assert.equal(JSON.parse(answer.body).code, 0);
    });

    it("over HTTPS: the response fills the SDK's first 1024-byte read, headers ending inside it, without a close", async () => {
      const answers: RawHttpAnswer[] = [];
      for (const [deviceName, secret] of [["dev002", PSK_SECRET], ["dev003", "wrong-secret-wrong-secret"]] as const) {
        const socket = await tlsSocket(platform.httpsUrl!, { ca: serverCert });
        open.push(socket);
        answers.push(await legacyExchange(socket, cSdkLegacyRegisterRequest({ productSecret: secret, productId: PSK_PID, deviceName, nonce: 43, timestamp: Math.floor(clock / 1000) })));
      }
      for (const answer of answers) {
        assert.ok(answer.bytes.length >= C_SDK_HTTP_FIRST_READ_BYTES, `${answer.bytes.length} bytes: HAL_TLS_Read would wait for its timeout`);
        assert.ok(answer.headerEnd <= C_SDK_HTTP_FIRST_READ_BYTES, "the header block ends within the first read");
        assert.doesNotMatch(answer.headers, /\r\nConnection: close\r\n/i, "a close_notify is fatal to HAL_TLS_Read");
        assert.ok(Buffer.byteLength(answer.body) < 255, "the body fits the SDK's 256-byte PSK response buffer (DYN_RESPONSE_BUFF_LEN)");
      }
      assert.equal(decryptLikeTheSdk(PSK_SECRET, JSON.parse(answers[0].body).payload).encryptionType, 2);
      assert.deepEqual([JSON.parse(answers[1].body).code, JSON.parse(answers[1].body).message], [1010, "Check signature failed"]);
    });
  });
});

async function waitFor(condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500 && !(await condition()); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(await condition(), "condition not met");
}
