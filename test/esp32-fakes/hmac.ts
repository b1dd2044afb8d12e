/** Moddable `hmac` (RFC 2104 over a crypt Digest instance): new HMAC(digest, key).process(data). */
import type { Digest } from "./crypt";

export default class HMAC {
  readonly #outer: Uint8Array;
  constructor(readonly digest: Digest, key: ArrayBuffer) {
    let k = new Uint8Array(key);
    const block = digest.blockSize;
    if (k.length > block) {
      digest.reset();
      digest.write(k.slice().buffer);
      k = new Uint8Array(digest.close());
    }
    const inner = new Uint8Array(block).fill(0x36);
    this.#outer = new Uint8Array(block).fill(0x5c);
    k.forEach((byte, i) => {
      inner[i] ^= byte;
      this.#outer[i] ^= byte;
    });
    digest.reset();
    digest.write(inner.buffer);
  }
  process(...items: ArrayBuffer[]): ArrayBuffer {
    for (const item of items) this.digest.write(item);
    const innerHash = this.digest.close();
    this.digest.reset();
    this.digest.write(this.#outer.slice().buffer);
    this.digest.write(innerHash);
    return this.digest.close();
  }
}
