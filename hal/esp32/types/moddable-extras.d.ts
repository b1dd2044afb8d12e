/**
 * What the Moddable SDK's own typings (`$MODDABLE/typings`, the ones mcconfig compiles with)
 * leave out and this port uses, declared from the SDK's sources. Listed in manifest.json
 * `typescript.tsconfig.compilerOptions.types`, so mcconfig's per-file programs and
 * `npm run typecheck:esp32` load it beside the SDK's declarations and these merge with them.
 */

// modules/crypt/digest/crypt.js: typings/crypt.d.ts declares Digest only.
declare module "crypt" {
  type CryptData = string | ArrayBuffer | ArrayBufferView;

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

// modules/crypt/etc/hmac.js: no typings in the SDK.
declare module "hmac" {
  /** HMAC over a Digest instance: new HMAC(new Digest("SHA256"), key).process(data). */
  export default class HMAC {
    /** `hash`: a crypt Digest (structural here, so this file needs no "crypt" in the program). */
    constructor(hash: { readonly blockSize: number; readonly outputSize: number; write(data: string | ArrayBuffer): void; close(): ArrayBuffer; reset(): void }, key: ArrayBuffer, bitLength?: number);
    update(...data: (string | ArrayBuffer)[]): void;
    close(): ArrayBuffer;
    reset(): void;
    process(...data: (string | ArrayBuffer)[]): ArrayBuffer;
  }
}

// node_modules/tweetnacl/nacl-fast.js, loaded unchanged for its side effect (hal/esp32/tweetnacl).
declare module "tweetnacl-raw" {}

// build/devices/esp32/modules/ota/ota.js: no typings in the SDK.
declare module "ota" {
  /** new OTA(): esp_ota_begin on esp_ota_get_next_update_partition(NULL), sequential writes. */
  export default class OTA {
    constructor();
    /** esp_ota_write: appends the bytes. */
    write(data: ArrayBuffer | ArrayBufferView): void;
    /** esp_ota_end without switching partitions: the image is dropped. */
    cancel(): void;
    /** esp_ota_end (the image is verified) then esp_ota_set_boot_partition. */
    complete(): void;
  }
}
