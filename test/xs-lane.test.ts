/**
 * The XS engine lane: the firmware core bundled and run inside Moddable's XS (xsnap), its HAL
 * bridged to hal/node. Skips loudly where xsnap-worker was not built; fails in CI.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import nacl from "tweetnacl";
import { createNodeHal } from "../hal/node/index";
import { startXsLane, xsLaneUnavailableReason, type XsLane } from "../xs/host";

function requireXsnap(context: Mocha.Context): void {
  const reason = xsLaneUnavailableReason();
  if (reason === undefined) return;
  if (process.env.CI) throw new Error(`XS lane cannot run in CI: ${reason}`);
  console.warn(`\n  !!! XS LANE SKIPPED: ${reason}\n`);
  context.skip();
}

describe("XS lane: engine smoke (encoding and tweetnacl inside XS)", function () {
  let lane: XsLane;
  const storageKey = new Uint8Array(randomBytes(32));

  before(async function () {
    requireXsnap(this);
    lane = await startXsLane({ hal: createNodeHal({ storageKey }), entry: "smoke" });
  });
  after(async () => lane?.close());

  it("runs on an engine without Node's Buffer or process", async () => {
    assert.deepEqual(await lane.invoke("engine"), { hasBuffer: false, hasProcess: false });
  });

  it("encodes Base64 as Node does (RFC 4648 vectors and UTF-8 text)", async () => {
    const texts = ["", "f", "fo", "foo", "foob", "fooba", "foobar", "设备 ✓"];
    assert.deepEqual(await lane.invoke("base64", texts), texts.map((text) => Buffer.from(text, "utf8").toString("base64")));
    assert.deepEqual(await lane.invoke("base64Decode", texts.map((text) => Buffer.from(text).toString("base64"))), texts);
  });

  it("seals with secretbox byte-for-byte as tweetnacl on Node", async () => {
    const message = new Uint8Array(randomBytes(200));
    const nonce = new Uint8Array(randomBytes(24));
    const key = new Uint8Array(randomBytes(32));
    assert.equal(await lane.invoke("secretboxFixed", message, nonce, key), Buffer.from(nacl.secretbox(message, nonce, key)).toString("hex"));
  });

  it("seals in XS with the bridged storage key; Node opens it; a flipped byte does not open", async () => {
    const message = new Uint8Array(randomBytes(120));
    const result = (await lane.invoke("secretbox", message)) as { nonce: Uint8Array; sealed: Uint8Array; opened: Uint8Array; tamperedOpens: boolean };
    assert.deepEqual(result.opened, message);
    assert.equal(result.tamperedOpens, false);
    assert.deepEqual(nacl.secretbox.open(result.sealed, result.nonce, storageKey), message);
  });

  it("carries flash blobs across the bridge and rebuilds a FlashError as the same class", async () => {
    const blob = Uint8Array.from([0, 1, 2, 250, 255]).buffer;
    const result = (await lane.invoke("flashRoundTrip", "ns", "blob", blob)) as { back: ArrayBuffer; error: unknown };
    assert.ok(result.back instanceof ArrayBuffer);
    assert.deepEqual(new Uint8Array(result.back), new Uint8Array(blob));
    assert.deepEqual(result.error, { isFlashError: true, code: "limit" });
  });

  it("reports an unknown function as an error instead of hanging", async () => {
    await assert.rejects(lane.invoke("no-such-function"), /no exposed function/);
  });
});
