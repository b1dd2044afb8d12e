/**
 * CryptoHal on node:crypto. AES runs without padding, as the contract says: the core strips
 * zero or PKCS#7 padding itself so the ESP32 port (Moddable's crypt) behaves the same.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac } from "node:crypto";
import { pooledRandomBytes } from "./random-pool";
import type { Bytes, CryptoHal, HashAlgorithm } from "../../firmware/contracts";

/** A plain Uint8Array view of a Buffer, so results compare equal to the core's own bytes. */
function bytes(buffer: Buffer): Bytes {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function checkAesArguments(key: Bytes, iv: Bytes, data: Bytes): void {
  if (key.length !== 16) throw new RangeError(`AES-128 key must be 16 bytes, not ${key.length}`);
  if (iv.length !== 16) throw new RangeError(`AES IV must be 16 bytes, not ${iv.length}`);
  if (data.length % 16 !== 0) throw new RangeError(`AES-CBC data must be whole 16-byte blocks, not ${data.length} bytes`);
}

function aes(mode: "encrypt" | "decrypt", key: Bytes, iv: Bytes, data: Bytes): Bytes {
  checkAesArguments(key, iv, data);
  const cipher = mode === "encrypt" ? createCipheriv("aes-128-cbc", key, iv) : createDecipheriv("aes-128-cbc", key, iv);
  cipher.setAutoPadding(false);
  return bytes(Buffer.concat([cipher.update(data), cipher.final()]));
}

export const nodeCrypto: CryptoHal = {
  digest(algorithm: HashAlgorithm, data: Bytes): Bytes {
    return bytes(createHash(algorithm).update(data).digest());
  },
  hmac(algorithm: HashAlgorithm, key: Bytes, data: Bytes): Bytes {
    return bytes(createHmac(algorithm, key).update(data).digest());
  },
  aes128CbcEncrypt(key: Bytes, iv: Bytes, data: Bytes): Bytes {
    return aes("encrypt", key, iv, data);
  },
  aes128CbcDecrypt(key: Bytes, iv: Bytes, data: Bytes): Bytes {
    return aes("decrypt", key, iv, data);
  },
  randomBytes(length: number): Bytes {
    if (!Number.isInteger(length) || length < 0 || length > 65536) throw new RangeError(`randomBytes length ${length} is out of range`);
    return new Uint8Array(pooledRandomBytes(length)); // its own memory, not a view into a shared slab
  },
};
