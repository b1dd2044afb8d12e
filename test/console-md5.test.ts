/**
 * The web console's MD5 (console-web/static/md5.js), which the OTA page sends as UploadFirmware's
 * Md5sum: the same digest as Node's crypto for any bytes, and for every length around the 56- and
 * 64-byte boundaries where the padding takes one block or two.
 */
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import fc from "fast-check";
import { md5Hex } from "../simulator/platform/console-web/static/md5.js";

const nodeMd5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex");

describe("web console: MD5 in the browser's script", () => {
  it("agrees with Node's crypto on random bytes, including views into a larger buffer", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 4096 }), fc.nat(7), (bytes, skip) => {
      const padded = new Uint8Array(bytes.length + skip + 3);
      padded.set(bytes, skip);
      const view = padded.subarray(skip, skip + bytes.length);
      assert.equal(md5Hex(view), nodeMd5(bytes));
    }), { numRuns: 300 });
  });

  it("agrees at every length from 0 to 200 bytes (one or two padding blocks) and on RFC 1321's test suite", () => {
    for (let length = 0; length <= 200; length++) {
      const bytes = Uint8Array.from({ length }, (_, index) => (index * 31 + length) & 0xff);
      assert.equal(md5Hex(bytes), nodeMd5(bytes), `${length} bytes`);
    }
    assert.equal(md5Hex(new TextEncoder().encode("")), "d41d8cd98f00b204e9800998ecf8427e");
    assert.equal(md5Hex(new TextEncoder().encode("message digest")), "f96b697d7cb7938d525a2f31aaf161d0");
    assert.equal(md5Hex(new TextEncoder().encode("1234567890".repeat(8))), "57edf4a22be3c955ac49da2e2107b67a");
  });

  it("takes a 1 MiB image as the page hashes a chosen file", () => {
    const image = new Uint8Array(1024 * 1024 + 17).map((_, index) => (index * 2654435761) >>> 24);
    assert.equal(md5Hex(image), nodeMd5(image));
  });
});
