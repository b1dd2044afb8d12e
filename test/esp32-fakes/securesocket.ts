/**
 * Moddable `securesocket`: the adapters pass its class to Request and construct it for mqtts://
 * with a `secure` dictionary (certificate, clientCertificates, clientKey, tls_server_name). This
 * stand-in records that dictionary and speaks the plain stand-in Socket's callback protocol
 * (SecureSocket reports "connected" only after its handshake; here there is none).
 */
import { Socket } from "./socket";

export default class SecureSocket extends Socket {}
