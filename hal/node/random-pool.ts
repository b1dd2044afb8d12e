/**
 * Random bytes from node:crypto's CSPRNG, served in small pieces from a 4 KiB block: each
 * byte is handed out once and wiped from the block as it goes (Node caches randomUUID the same
 * way). In this VM a call into OpenSSL cost 16-20 µs whatever its size; a fleet device asks
 * three times, a registration on the mock platform once.
 */
import { randomBytes } from "node:crypto";

const BLOCK_BYTES = 4096;
let block = Buffer.alloc(0);
let offset = 0;

/** `length` fresh random bytes, in a Buffer of their own. */
export function pooledRandomBytes(length: number): Buffer {
  if (length > BLOCK_BYTES / 4) return randomBytes(length);
  if (offset + length > block.length) {
    block = randomBytes(BLOCK_BYTES);
    offset = 0;
  }
  const out = Buffer.from(block.subarray(offset, offset + length)); // a copy: the block is wiped next
  block.fill(0, offset, offset + length);
  offset += length;
  return out;
}
