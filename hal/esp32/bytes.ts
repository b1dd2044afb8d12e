/** Uint8Array to a standalone ArrayBuffer (a copy), the form Moddable's native modules take. */
export function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy.buffer;
}
