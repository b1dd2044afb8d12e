/**
 * Incremental MD5 (RFC 1321), for checking a firmware image against update_firmware's `md5sum`
 * while it streams in (docs/PROTOCOL.md §14): the CryptoHal has no MD5, and neither engine's
 * one-shot digest can take an image that never sits in memory whole. Plain ECMAScript.
 */
import type { Bytes } from "./contracts";

/** Per-round shift amounts and the sine-derived constants of RFC 1321 §3.4. */
const SHIFTS = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
const K = new Uint32Array(64);
for (let i = 0; i < 64; i++) K[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0;

export class Md5 {
  private readonly state = Uint32Array.of(0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476);
  private readonly block = new Uint8Array(64);
  private readonly words = new Uint32Array(16);
  private blockLength = 0;
  /** Total bytes hashed; a float stays exact far beyond any image size. */
  private length = 0;
  private finished = false;

  update(bytes: Bytes): this {
    if (this.finished) throw new Error("md5: update after digest");
    this.length += bytes.length;
    let offset = 0;
    while (offset < bytes.length) {
      const take = Math.min(64 - this.blockLength, bytes.length - offset);
      this.block.set(bytes.subarray(offset, offset + take), this.blockLength);
      this.blockLength += take;
      offset += take;
      if (this.blockLength === 64) {
        this.compress();
        this.blockLength = 0;
      }
    }
    return this;
  }

  /** The 16-byte digest; the object cannot be updated afterwards. */
  digest(): Bytes {
    if (this.finished) throw new Error("md5: digest twice");
    const bits = this.length * 8;
    const padding = new Uint8Array((this.blockLength < 56 ? 56 : 120) - this.blockLength + 8);
    padding[0] = 0x80;
    const end = padding.length - 8;
    for (let i = 0; i < 8; i++) padding[end + i] = Math.floor(bits / 2 ** (8 * i)) & 0xff;
    this.update(padding);
    this.finished = true;
    const out = new Uint8Array(16);
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) out[i * 4 + j] = (this.state[i] >>> (8 * j)) & 0xff;
    }
    return out;
  }

  /** The digest as 32 lower-case hexadecimal digits, as `md5sum` carries it. */
  hex(): string {
    let text = "";
    for (const byte of this.digest()) text += (byte < 16 ? "0" : "") + byte.toString(16);
    return text;
  }

  private compress(): void {
    const { block, words, state } = this;
    for (let i = 0; i < 16; i++) {
      words[i] = (block[i * 4] | (block[i * 4 + 1] << 8) | (block[i * 4 + 2] << 16) | (block[i * 4 + 3] << 24)) >>> 0;
    }
    let a = state[0], b = state[1], c = state[2], d = state[3];
    for (let i = 0; i < 64; i++) {
      let f: number;
      let g: number;
      if (i < 16) { f = (b & c) | (~b & d); g = i; }
      else if (i < 32) { f = (d & b) | (~d & c); g = (5 * i + 1) % 16; }
      else if (i < 48) { f = b ^ c ^ d; g = (3 * i + 5) % 16; }
      else { f = c ^ (b | ~d); g = (7 * i) % 16; }
      const sum = (a + f + K[i] + words[g]) >>> 0;
      const shift = SHIFTS[(i >> 4) * 4 + (i % 4)];
      a = d;
      d = c;
      c = b;
      b = (b + ((sum << shift) | (sum >>> (32 - shift)))) >>> 0;
    }
    state[0] = (state[0] + a) >>> 0;
    state[1] = (state[1] + b) >>> 0;
    state[2] = (state[2] + c) >>> 0;
    state[3] = (state[3] + d) >>> 0;
  }
}
