/** Moddable `securesocket`: only its identity matters to the adapters. */
export default class SecureSocket {}
