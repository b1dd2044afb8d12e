// @ts-check
/**
 * MD5 (RFC 1321) in the browser: UploadFirmware takes the image's MD5 (Md5sum), and Web Crypto's
 * digest has no MD5. One pass over the bytes, 64 at a time, without copying the image; only the
 * last one or two blocks (the padding and the bit length) are built apart.
 */

/** Per-round left-rotation amounts, four per round (RFC 1321 §3.4). */
const SHIFTS = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
/** T[i] = floor(2^32 * |sin(i + 1)|). */
const T = new Uint32Array(64);
for (let i = 0; i < 64; i++) T[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0;

/**
 * Mixes one 64-byte block of `view` at `offset` into `state`.
 * @param {Uint32Array} state a, b, c, d
 * @param {DataView} view
 * @param {number} offset
 * @param {Uint32Array} x sixteen words of scratch
 */
function block(state, view, offset, x) {
  for (let i = 0; i < 16; i++) x[i] = view.getUint32(offset + i * 4, true);
  let a = state[0];
  let b = state[1];
  let c = state[2];
  let d = state[3];
  for (let i = 0; i < 64; i++) {
    const round = i >> 4;
    let f;
    let g;
    if (round === 0) { f = (b & c) | (~b & d); g = i; }
    else if (round === 1) { f = (d & b) | (~d & c); g = (5 * i + 1) & 15; }
    else if (round === 2) { f = b ^ c ^ d; g = (3 * i + 5) & 15; }
    else { f = c ^ (b | ~d); g = (7 * i) & 15; }
    const sum = (a + f + T[i] + x[g]) | 0;
    const shift = SHIFTS[round * 4 + (i & 3)];
    a = d;
    d = c;
    c = b;
    b = (b + ((sum << shift) | (sum >>> (32 - shift)))) | 0;
  }
  state[0] = (state[0] + a) | 0;
  state[1] = (state[1] + b) | 0;
  state[2] = (state[2] + c) | 0;
  state[3] = (state[3] + d) | 0;
}

/**
 * The MD5 of `bytes` as 32 lower-case hexadecimal digits, as Tencent's Md5sum is written.
 * @param {Uint8Array} bytes
 */
export function md5Hex(bytes) {
  const state = Uint32Array.of(0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476);
  const x = new Uint32Array(16);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const whole = bytes.length - (bytes.length % 64);
  for (let offset = 0; offset < whole; offset += 64) block(state, view, offset, x);
  // The tail, a 1 bit, zeros to 56 mod 64, then the length in bits as 64 bits little-endian.
  const rest = bytes.length - whole;
  const tail = new Uint8Array(rest < 56 ? 64 : 128);
  tail.set(bytes.subarray(whole));
  tail[rest] = 0x80;
  const tailView = new DataView(tail.buffer);
  const bits = bytes.length * 8;
  tailView.setUint32(tail.length - 8, bits >>> 0, true);
  tailView.setUint32(tail.length - 4, Math.floor(bits / 2 ** 32), true);
  for (let offset = 0; offset < tail.length; offset += 64) block(state, tailView, offset, x);
  const out = new DataView(new ArrayBuffer(16));
  for (let i = 0; i < 4; i++) out.setUint32(i * 4, state[i], true);
  return Array.from(new Uint8Array(out.buffer), (byte) => byte.toString(16).padStart(2, "0")).join("");
}
