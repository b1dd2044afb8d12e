/**
 * TLS settings shared by HTTPS and MQTTS: Moddable's SecureSocket verifies the server against
 * the DER root certificate named in config.tlsCa, which manifest.json puts in the build's
 * `data` (see docs/ESP32.md: the certificate file itself is not in this repository).
 */
import Resource from "Resource";
import SecureSocket from "securesocket";

/** TLS 1.2, the newest version Moddable's SecureSocket negotiates. */
const TLS_1_2 = 0x0303;

export interface TlsSettings {
  Socket: typeof SecureSocket;
  secure: { certificate: InstanceType<typeof Resource>; protocolVersion: number };
}

export function tlsSettings(caResourceName: string): TlsSettings {
  if (!Resource.exists(caResourceName)) {
    throw new Error(`root certificate ${caResourceName} is not in this build: add it to manifest.json "data"`);
  }
  return { Socket: SecureSocket, secure: { certificate: new Resource(caResourceName), protocolVersion: TLS_1_2 } };
}
