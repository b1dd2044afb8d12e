/**
 * Moddable `crypt` (Digest, BlockCipher, Mode) on node:crypto, with the documented call shapes:
 * new Digest("SHA256"), write(), close() -> ArrayBuffer; new Mode("CBC", new BlockCipher("AES",
 * key), iv, pad) with encrypt()/decrypt() -> ArrayBuffer.
 */
import { createCipheriv, createDecipheriv, createHash } from "node:crypto";

const HASHES: Record<string, { name: string; block: number }> = { SHA1: { name: "sha1", block: 64 }, SHA256: { name: "sha256", block: 64 } };

function bytes(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === "string") return Buffer.from(data, "utf8");
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  throw new TypeError("the fake takes strings and ArrayBuffers, as the adapters pass");
}

export class Digest {
  #parts: Buffer[] = [];
  #closed = false;
  readonly #hash: { name: string; block: number };
  constructor(type: string) {
    const hash = HASHES[type];
    if (!hash) throw new Error(`unsupported digest ${type}`);
    this.#hash = hash;
  }
  get blockSize(): number {
    return this.#hash.block;
  }
  write(data: string | ArrayBuffer): void {
    if (this.#closed) throw new Error("digest closed");
    this.#parts.push(bytes(data));
  }
  reset(): void {
    this.#parts = [];
    this.#closed = false;
  }
  close(): ArrayBuffer {
    this.#closed = true;
    const out = createHash(this.#hash.name).update(Buffer.concat(this.#parts)).digest();
    return new Uint8Array(out).buffer;
  }
}

export class BlockCipher {
  constructor(readonly cipher: string, readonly key: ArrayBuffer) {
    if (cipher !== "AES" || key.byteLength !== 16) throw new Error("the fake does AES-128 only");
  }
}

export class Mode {
  constructor(readonly mode: string, readonly cipher: BlockCipher, readonly iv: ArrayBuffer, readonly pad?: boolean) {
    if (mode !== "CBC") throw new Error("the fake does CBC only");
  }
  #run(decrypt: boolean, data: string | ArrayBuffer): ArrayBuffer {
    const make = decrypt ? createDecipheriv : createCipheriv;
    const engine = make("aes-128-cbc", Buffer.from(this.cipher.key), Buffer.from(this.iv));
    engine.setAutoPadding(this.pad === true);
    return new Uint8Array(Buffer.concat([engine.update(bytes(data)), engine.final()])).buffer;
  }
  encrypt(data: string | ArrayBuffer): ArrayBuffer {
    return this.#run(false, data);
  }
  decrypt(data: string | ArrayBuffer): ArrayBuffer {
    return this.#run(true, data);
  }
}
