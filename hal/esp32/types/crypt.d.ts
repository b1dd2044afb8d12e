/**
 * Minimal ambient declarations for Moddable's `crypt` and `hmac` modules, which
 * @moddable/typings 5.6 lacks. Only what hal/esp32 uses, as documented in the Moddable SDK
 * (documentation/crypt/crypt.md, modules/crypt/digest/crypt.js, modules/crypt/etc/hmac.js).
 */
declare module "crypt" {
  type CryptData = string | ArrayBuffer | ArrayBufferView;

  /** new Digest("SHA1" | "SHA256" | ...): write() any number of times, close() once. */
  export class Digest {
    constructor(type: "MD5" | "SHA1" | "SHA224" | "SHA256" | "SHA384" | "SHA512");
    write(data: CryptData): void;
    /** The hash; frees the digest's resources. */
    close(): ArrayBuffer;
    reset(): void;
    readonly blockSize: number;
    readonly outputSize: number;
  }

  /** A block cipher keyed once: new BlockCipher("AES", key) (16-byte key for AES-128). */
  export class BlockCipher {
    constructor(cipher: "AES" | "DES" | "TDES", key: ArrayBuffer);
    encrypt(data: CryptData, result?: ArrayBuffer): ArrayBuffer;
    decrypt(data: CryptData, result?: ArrayBuffer): ArrayBuffer;
    readonly keySize: number;
    readonly blockSize: number;
  }

  /** A mode of operation over a BlockCipher: new Mode("CBC", cipher, iv, pad). */
  export class Mode {
    constructor(mode: "ECB" | "CBC" | "CTR", cipher: BlockCipher, iv?: ArrayBuffer, pad?: boolean);
    encrypt(data: CryptData, result?: ArrayBuffer, count?: number): ArrayBuffer;
    decrypt(data: CryptData, result?: ArrayBuffer, count?: number): ArrayBuffer;
    setIV(iv: ArrayBuffer): void;
  }
}

declare module "hmac" {
  import type { Digest } from "crypt";

  /** HMAC over a Digest instance: new HMAC(new Digest("SHA256"), key).process(data). */
  export default class HMAC {
    constructor(hash: Digest, key: ArrayBuffer, bitLength?: number);
    update(...data: (string | ArrayBuffer)[]): void;
    close(): ArrayBuffer;
    reset(): void;
    process(...data: (string | ArrayBuffer)[]): ArrayBuffer;
  }
}
