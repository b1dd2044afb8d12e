/**
 * What Tencent's embedded C SDK (tencentyun/qcloud-iot-explorer-sdk-embedded-c, 3.1.x, commit
 * 810ac68) puts on the wire, rebuilt here byte for byte the way its source builds it, for the
 * interop tests. Each builder names the C file and function it follows. Written apart from the
 * platform and from firmware/, so neither can share a mistake with it; mqtt-packet parses what
 * comes back.
 *
 * The fixtures at the end were captured from that SDK's own samples (built for Linux x86-64) on
 * loopback; the tests check the builders against them.
 */
import { createHmac } from "node:crypto";

// ------------------------------------------------------------------------------------------ MQTT

/** qcloud_iot_common.h: QCLOUD_IOT_DEVICE_SDK_APPID. */
export const SDK_APP_ID = "21010406";
/** C `long` LONG_MAX on a 64-bit host and on a 32-bit MCU. */
export const LONG_MAX_64 = "9223372036854775807";
export const LONG_MAX_32 = "2147483647";

/**
 * mqtt_client_connect.c, _serialize_connect_packet: with MAX_ACCESS_EXPIRE_TIMEOUT 0 the expiry
 * is LONG_MAX, printed with "%s;%s;%s;%ld" into a buffer of
 * strlen(client_id) + QCLOUD_IOT_DEVICE_SDK_APPID_LEN (8) + MAX_CONN_ID_LEN (6) + 20 bytes.
 * HAL_Snprintf truncates to that size less the NUL, so a 64-bit LONG_MAX loses its last two
 * digits: the SDK really sends 17 digits, 92233720368547758. Pass `truncate: false` for the
 * untruncated text (a build with a larger buffer).
 */
export function cSdkUsername(clientId: string, connId: string, longMax: string, options: { truncate?: boolean } = {}): string {
  const full = `${clientId};${SDK_APP_ID};${connId};${longMax}`;
  const bufferBytes = clientId.length + SDK_APP_ID.length + 6 + 20;
  return options.truncate === false ? full : full.slice(0, bufferBytes - 1);
}

/**
 * The password, sent only with AUTH_WITH_NOTLS and AUTH_MODE_KEY (_serialize_connect_packet):
 * utils_hmac_sha1 (lower-case hex, utils_md5.c utils_hb2hex) of the username, keyed by the
 * Base64-decoded PSK (mqtt_client.c, IOT_MQTT_Construct), then ";hmacsha1".
 */
export function cSdkNoTlsPassword(username: string, pskBase64: string): string {
  return createHmac("sha1", Buffer.from(pskBase64, "base64")).update(username).digest("hex") + ";hmacsha1";
}

function remainingLength(length: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) byte |= 0x80;
    bytes.push(byte);
  } while (length > 0);
  return Buffer.from(bytes);
}

function utf8String(text: string): Buffer {
  const body = Buffer.from(text, "utf8");
  const length = Buffer.alloc(2);
  length.writeUInt16BE(body.length);
  return Buffer.concat([length, body]);
}

export interface CSdkConnect {
  clientId: string;
  username: string;
  /** Present only in NOTLS key mode; TLS-PSK and certificate devices send no password flag. */
  password?: string;
  /** DEFAULT_MQTTINIT_PARAMS: 240 s (QCLOUD_IOT_MQTT_KEEP_ALIVE_INTERNAL) and clean session 1. */
  keepAliveSeconds?: number;
}

/** mqtt_client_connect.c, _serialize_connect_packet: MQTT 3.1.1 ("MQTT", level 4). */
export function cSdkConnectPacket(connect: CSdkConnect): Buffer {
  const flags = 0x02 /* clean session */ | 0x80 /* username */ | (connect.password !== undefined ? 0x40 : 0);
  const keepAlive = Buffer.alloc(2);
  keepAlive.writeUInt16BE(connect.keepAliveSeconds ?? 240);
  const variable = Buffer.concat([
    utf8String("MQTT"), Buffer.from([4, flags]), keepAlive,
    utf8String(connect.clientId), utf8String(connect.username),
    ...(connect.password !== undefined ? [utf8String(connect.password)] : []),
  ]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(variable.length), variable]);
}

/** mqtt_client_subscribe.c, _serialize_subscribe_packet: one topic filter. */
export function cSdkSubscribePacket(packetId: number, topic: string, qos: 0 | 1): Buffer {
  const id = Buffer.alloc(2);
  id.writeUInt16BE(packetId);
  const variable = Buffer.concat([id, utf8String(topic), Buffer.from([qos])]);
  return Buffer.concat([Buffer.from([0x82]), remainingLength(variable.length), variable]);
}

/** mqtt_client_publish.c, _serialize_publish_packet: the data template publishes QoS 0. */
export function cSdkPublishPacket(topic: string, payload: string, qos: 0 | 1 = 0, packetId = 1): Buffer {
  const id = Buffer.alloc(2);
  id.writeUInt16BE(packetId);
  const variable = Buffer.concat([utf8String(topic), ...(qos > 0 ? [id] : []), Buffer.from(payload, "utf8")]);
  return Buffer.concat([Buffer.from([0x30 | (qos << 1)]), remainingLength(variable.length), variable]);
}

/** HAL_TLS_mbedtls.c, `ciphersuites`: all a PSK device offers, in OpenSSL's names. */
export const C_SDK_PSK_SUITES = ["PSK-AES128-CBC-SHA", "PSK-AES256-CBC-SHA"] as const;

// ------------------------------------------------------------------------------ data template

/** data_template_client_json.c, build_empty_json: `{"clientToken":"<ProductId>-<n>"}`. */
export function cSdkClientToken(productId: string, n: number): string {
  return `${productId}-${n}`;
}

/**
 * data_template_client_manager.c, _set_template_json_type: inserts `"method":"<m>", ` right after
 * the opening brace of the document the caller built.
 */
function withMethod(method: string, document: string): string {
  return `{"method":"${method}", ${document.slice(1)}`;
}

/** IOT_Template_JSON_ConstructReportArray (data_template_client.c) then IOT_Template_Report. */
export function cSdkReport(clientToken: string, paramsJson: string): string {
  return withMethod("report", `{"clientToken":"${clientToken}", "params":${paramsJson}}`);
}

/**
 * IOT_Template_JSON_ConstructSysInfo (data_template_client.c), as data_template_sample.c's
 * _get_sys_info fills it. Its snprintf steps put the self-defined "device_label" object inside
 * params, after the platform fields.
 */
export function cSdkReportInfo(clientToken: string, platformInfoJson: string, labelJson?: string): string {
  const params = labelJson === undefined ? platformInfoJson : `${platformInfoJson.slice(0, -1)}, "device_label":${labelJson}}`;
  return withMethod("report_info", `{"clientToken":"${clientToken}", "params":${params}}`);
}

/** IOT_Template_GetStatus (data_template_client.c): the bare clientToken document. */
export function cSdkGetStatus(clientToken: string): string {
  return withMethod("get_status", `{"clientToken":"${clientToken}"}`);
}

/** IOT_Template_ClearControl: sent with the get_status request's clientToken (_get_status_reply_ack_cb). */
export function cSdkClearControl(clientToken: string): string {
  return withMethod("clear_control", `{"clientToken":"${clientToken}"}`);
}

/**
 * _template_ConstructControlReply (data_template_client.c): `{"code":%d, "clientToken":"%s",`
 * then `"status":"%s"}`, or, with an empty status, the trailing comma overwritten by `}`.
 */
export function cSdkControlReply(controlToken: string, code: number, status = ""): string {
  const head = `{"code":${code}, "clientToken":"${controlToken}",`;
  return withMethod("control_reply", status.length > 0 ? `${head}"status":"${status}"}` : `${head.slice(0, -1)}}`);
}

/**
 * data_template_event.c, _iot_construct_event_json, one event: timestamp 0 when the device has no
 * UTC time, else seconds followed by "000".
 */
export function cSdkEventPost(clientToken: string, eventId: string, type: string, paramsJson: string, timestampSeconds = 0): string {
  const timestamp = timestampSeconds === 0 ? "0" : `${timestampSeconds}000`;
  return `{"method":"event_post", "clientToken":"${clientToken}", "eventId":"${eventId}", "type":"${type}", "timestamp":${timestamp}, "params":${paramsJson}}`;
}

/** The same function with several events: method events_post and an "events" array. */
export function cSdkEventsPost(clientToken: string, events: Array<{ eventId: string; type: string; paramsJson: string }>): string {
  const items = events.map((e) => `{"eventId":"${e.eventId}", "type":"${e.type}", "timestamp":0, "params":${e.paramsJson}}`).join(",");
  return `{"method":"events_post", "clientToken":"${clientToken}", "events":[${items}]}`;
}

/** data_template_action.c, _iot_construct_action_json. */
export function cSdkActionReply(clientToken: string, code: number, status: string, responseJson: string): string {
  return `{"method":"action_reply", "clientToken":"${clientToken}", "code":${code}, "status":"${status}", "response":${responseJson}}`;
}

/** system_mqtt.c, _iot_resource_get_publish, eRESOURCE_TIME. */
export const C_SDK_TIME_REQUEST = `{"type": "get", "resource": ["time"]}`;

// ------------------------------------------------------------------------- legacy registration

/**
 * dynreg.c, _cal_dynreg_sign: Base64 of the lower-case hex HMAC-SHA1 of
 * "deviceName=%s&nonce=%d&productId=%s&timestamp=%d", keyed by the ProductSecret.
 */
export function cSdkLegacySignature(productSecret: string, deviceName: string, nonce: number, productId: string, timestamp: number): string {
  const hex = createHmac("sha1", productSecret).update(`deviceName=${deviceName}&nonce=${nonce}&productId=${productId}&timestamp=${timestamp}`).digest("hex");
  return Buffer.from(hex).toString("base64");
}

/**
 * The request IOT_DynReg_Device sends: its JSON body (para_format) under the form content type of
 * _post_reg_request_by_http, with the header lines of utils_httpc.c _http_client_send_header.
 * The SDK writes the header block and the body in two writes.
 */
export function cSdkLegacyRegisterRequest(input: { productSecret: string; productId: string; deviceName: string; nonce: number; timestamp: number; host?: string }): { head: string; body: string } {
  const signature = cSdkLegacySignature(input.productSecret, input.deviceName, input.nonce, input.productId, input.timestamp);
  const body = `{"deviceName":"${input.deviceName}","nonce":${input.nonce},"productId":"${input.productId}","timestamp":${input.timestamp},"signature":"${signature}"}`;
  const head = `POST /register/dev HTTP/1.1\r\nHost: ${input.host ?? "gateway.tencentdevices.com"}\r\n` +
    "Accept: text/xml,application/json;*/*\r\n" +
    `Content-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n`;
  return { head, body };
}

/** utils_httpc.c: the first read of a response asks for HTTP_CLIENT_CHUNK_SIZE - 1 bytes. */
export const C_SDK_HTTP_FIRST_READ_BYTES = 1024;

// -------------------------------------------------------------------------------- fixtures

/**
 * Captured on loopback from the SDK's mqtt_sample (AUTH_WITH_NOTLS, Linux x86-64) after
 * dynreg_dev_sample registered NOTLSPROD1/dev001 with a throwaway mock platform: the CONNECT
 * packet, with the PSK the mock had issued and the connid the SDK drew.
 */
export const CAPTURED_NOTLS_CONNECT = {
  psk: "bTMzK54UlLuZ/LM3GPUHrg==",
  connId: "kvPQD",
  hex: "10820100044d51545404c200f000104e4f544c5350524f443164657630303100314e4f544c5350524f44316465763030313b32313031303430363b6b765051443b39323233333732303336383534373735380031626561316236363737353534643564313133666164633631343436353463646634636438666637353b686d616373686131",
};

/** Captured from the SDK's dynreg_dev_sample (AUTH_WITH_NOTLS): the legacy registration request. */
export const CAPTURED_LEGACY_REGISTER = {
  productSecret: "notlsProductSecret01",
  productId: "NOTLSPROD1",
  deviceName: "dev001",
  nonce: 1976927868,
  timestamp: 1796032559,
  text: "POST /register/dev HTTP/1.1\r\nHost: gateway.tencentdevices.com\r\nAccept: text/xml,application/json;*/*\r\nContent-Length: 161\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n{\"deviceName\":\"dev001\",\"nonce\":1976927868,\"productId\":\"NOTLSPROD1\",\"timestamp\":1796032559,\"signature\":\"ZmE0YWNiMmNiZGFiZGUyNGU1NGE5ZjVhYjVkYzk3NDQzOGFlNWJiNw==\"}",
};

/** Payloads the data-template samples published, as the SDK logged them (same run). */
export const CAPTURED_TEMPLATE_PAYLOADS = {
  reportInfo: `{"method":"report_info", "clientToken":"NOTLSPROD1-0", "params":{"module_hardinfo":"ESP8266","module_softinfo":"V1.0","fw_ver":"3.1.5","imei":"11-22-33-44","lat":"22.546015","lon":"113.941125", "device_label":{"append_info":"your self define info"}}}`,
  getStatus: `{"method":"get_status", "clientToken":"NOTLSPROD1-1"}`,
  clearControl: `{"method":"clear_control", "clientToken":"NOTLSPROD1-1"}`,
  report: `{"method":"report", "clientToken":"NOTLSPROD1-2", "params":{"power_switch":0,"color":0,"brightness":0,"name":"dev001","position":{"longitude":1,"latitude":1}}}`,
  controlReply: `{"method":"control_reply", "code":0, "clientToken":"ctl-5230e32c-6c00-48b2-87f2-f74abf41ec03"}`,
  eventPost: `{"method":"event_post", "clientToken":"NOTLSPROD1-4", "eventId":"status_report", "type":"info", "timestamp":1796032382000, "params":{"status":0,"message":"light off"}}`,
  actionReply: `{"method":"action_reply", "clientToken":"act-c347d497-c9be-40e6-b9b1-cdbb2ecf34eb", "code":0, "status":"action execute success!", "response":{"err_code":1}}`,
  timeRequest: `{"type": "get", "resource": ["time"]}`,
};
