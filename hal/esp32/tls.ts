/**
 * TLS settings for one connection: Moddable's SecureSocket verifies the server against the one
 * DER trust anchor named for that connection's role (config.registerCa for the registration
 * gateway's HTTPS, config.mqttCa for the broker), each a resource in the build's `data`
 * (manifest.json; docs/ESP32.md says where each comes from and how to check it).
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
    throw new Error(`trust anchor ${caResourceName} is not in this build: add it to manifest.json "data"`);
  }
  return { Socket: SecureSocket, secure: { certificate: new Resource(caResourceName), protocolVersion: TLS_1_2 } };
}
