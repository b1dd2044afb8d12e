/**
 * CryptoHal on node:crypto. AES runs without padding, as the contract says: the core strips
 * zero or PKCS#7 padding itself so the ESP32 port (Moddable's crypt) behaves the same.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from "node:crypto";
import type { Bytes, CryptoHal, HashAlgorithm } from "../types";

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

/**
 * Small random requests are served from a block of CSPRNG output, each byte handed out once
 * and wiped from the block as it goes (as Node caches randomUUID): a call into OpenSSL per
 * request cost about 16 µs here, three of them per fleet device.
 */
const RANDOM_BLOCK_BYTES = 4096;
let randomBlock = Buffer.alloc(0);
let randomOffset = 0;

function pooledRandomBytes(length: number): Bytes {
  if (length > RANDOM_BLOCK_BYTES / 4) return bytes(randomBytes(length));
  if (randomOffset + length > randomBlock.length) {
    randomBlock = randomBytes(RANDOM_BLOCK_BYTES);
    randomOffset = 0;
  }
  const out = Uint8Array.from(randomBlock.subarray(randomOffset, randomOffset + length));
  randomBlock.fill(0, randomOffset, randomOffset + length);
  randomOffset += length;
  return out;
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
    return pooledRandomBytes(length);
  },
};
