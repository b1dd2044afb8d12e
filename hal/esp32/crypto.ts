/**
 * CryptoHal on Moddable's `crypt` (Digest SHA1/SHA256, BlockCipher AES, Mode CBC without
 * padding) and `hmac` modules, with randomness from the hardware RNG.
 */
import { BlockCipher, Digest, Mode } from "crypt";
import HMAC from "hmac";
import type { Bytes, CryptoHal, HashAlgorithm } from "../../firmware/contracts";
import { toArrayBuffer } from "./bytes";
import { hardwareRandomBytes } from "./random";

const DIGEST_NAMES: Record<HashAlgorithm, "SHA1" | "SHA256"> = { sha1: "SHA1", sha256: "SHA256" };
const AES_BLOCK = 16;

function newDigest(algorithm: HashAlgorithm): Digest {
  const name = DIGEST_NAMES[algorithm];
  if (!name) throw new RangeError(`unsupported hash algorithm ${JSON.stringify(algorithm)}`);
  return new Digest(name);
}

function checkAesInput(key: Bytes, iv: Bytes, data: Bytes): void {
  if (key.length !== AES_BLOCK) throw new RangeError(`AES-128 key must be 16 bytes, not ${key.length}`);
  if (iv.length !== AES_BLOCK) throw new RangeError(`AES-CBC IV must be 16 bytes, not ${iv.length}`);
  if (data.length % AES_BLOCK !== 0) throw new RangeError(`AES-CBC data must be a multiple of 16 bytes, not ${data.length}`);
}

function cbc(key: Bytes, iv: Bytes): Mode {
  // pad = false: the core handles Tencent's zero padding (and PKCS#7) itself.
  return new Mode("CBC", new BlockCipher("AES", toArrayBuffer(key)), toArrayBuffer(iv), false);
}

export class CryptHal implements CryptoHal {
  digest(algorithm: HashAlgorithm, data: Bytes): Bytes {
    const digest = newDigest(algorithm);
    digest.write(toArrayBuffer(data));
    return new Uint8Array(digest.close());
  }

  hmac(algorithm: HashAlgorithm, key: Bytes, data: Bytes): Bytes {
    return new Uint8Array(new HMAC(newDigest(algorithm), toArrayBuffer(key)).process(toArrayBuffer(data)));
  }

  aes128CbcEncrypt(key: Bytes, iv: Bytes, data: Bytes): Bytes {
    checkAesInput(key, iv, data);
    if (data.length === 0) return new Uint8Array(0);
    return new Uint8Array(cbc(key, iv).encrypt(toArrayBuffer(data)));
  }

  aes128CbcDecrypt(key: Bytes, iv: Bytes, data: Bytes): Bytes {
    checkAesInput(key, iv, data);
    if (data.length === 0) return new Uint8Array(0);
    return new Uint8Array(cbc(key, iv).decrypt(toArrayBuffer(data)));
  }

  randomBytes(length: number): Bytes {
    return hardwareRandomBytes(length);
  }
}
