/**
 * TC3-HMAC-SHA256 on the platform side (simulator/platform/cloud-api/tc3.ts) against two
 * independent oracles: a vector computed by the steps of Tencent's signature demo
 * (TencentCloud/signature-process-demo, signature-v3/python/demo.py, run with the inputs below),
 * and the signer inside tencentcloud-sdk-nodejs (common/sign.js).
 */
import { strict as assert } from "node:assert";
import { createRequire } from "node:module";
import {
  authorizationHeader, canonicalRequest, parseAuthorization, signature, signaturesEqual, stringToSign, utcDate,
} from "../simulator/platform/cloud-api/tc3";

const require = createRequire(import.meta.url);
const Sign = (require("tencentcloud-sdk-nodejs/tencentcloud/common/sign") as { default: { sign3(input: Record<string, unknown>): string } }).default;

/** Inputs given to Tencent's demo steps; the expected signature is what they printed. */
const DEMO = {
  secretId: "AKIDexplorerXsTestVector000000000000",
  secretKey: "explorerXsTestVectorSecretKey000",
  timestamp: 1551113065,
  host: "iotexplorer.tencentcloudapi.com",
  contentType: "application/json; charset=utf-8",
  action: "DescribeDevice",
  payload: '{"ProductId":"ABCDEFGHIJ","DeviceName":"dev001"}',
  signature: "ff5a5145dd64faa1bbefa6c564f470dee184669c41e462dba1a6e068d62a6dc8",
};

describe("cloud api: TC3-HMAC-SHA256", () => {
  it("reproduces the signature Tencent's demo steps compute (headers and values lower-cased, sorted)", () => {
    const date = utcDate(DEMO.timestamp);
    assert.equal(date, "2019-02-25");
    const canonical = canonicalRequest({
      method: "POST", path: "/", query: "",
      // Header values are lower-cased and trimmed in the canonical form.
      headers: { "content-type": DEMO.contentType, host: ` ${DEMO.host} `, "x-tc-action": DEMO.action },
      signedHeaders: ["content-type", "host", "x-tc-action"], payload: DEMO.payload,
    });
    assert.match(canonical, /\nx-tc-action:describedevice\n/);
    const scope = { date, service: "iotexplorer" };
    assert.equal(signature(DEMO.secretKey, scope, stringToSign(String(DEMO.timestamp), scope, canonical)), DEMO.signature);
    const header = authorizationHeader({
      secretId: DEMO.secretId, secretKey: DEMO.secretKey, timestamp: DEMO.timestamp, payload: DEMO.payload,
      headers: { "content-type": DEMO.contentType, host: DEMO.host, "x-tc-action": DEMO.action },
    });
    assert.equal(header, `TC3-HMAC-SHA256 Credential=${DEMO.secretId}/2019-02-25/iotexplorer/tc3_request, SignedHeaders=content-type;host;x-tc-action, Signature=${DEMO.signature}`);
  });

  it("agrees with the Node SDK's signer, which signs the host without its port", () => {
    for (const [url, payload] of [["http://127.0.0.1:8080/", { ProductId: "ABCDEFGHIJ" }], ["https://iotexplorer.tencentcloudapi.com/", { Limit: 10, Filters: [{ Name: "x" }] }]] as const) {
      const timestamp = 1700000000;
      const service = new URL(url).hostname.split(".")[0];
      const sdk = Sign.sign3({ method: "POST", url, payload, timestamp, service, secretId: DEMO.secretId, secretKey: DEMO.secretKey, headers: { "Content-Type": "application/json" } });
      const ours = authorizationHeader({
        secretId: DEMO.secretId, secretKey: DEMO.secretKey, timestamp, service, payload: JSON.stringify(payload),
        headers: { "content-type": "application/json", host: new URL(url).hostname },
      });
      assert.equal(ours, sdk);
      const parsed = parseAuthorization(sdk);
      assert.ok(typeof parsed !== "string", String(parsed));
      assert.deepEqual([parsed.secretId, parsed.date, parsed.service, parsed.signedHeaders], [DEMO.secretId, utcDate(timestamp), service, ["content-type", "host"]]);
    }
  });

  it("refuses malformed Authorization headers with the reason", () => {
    const good = `TC3-HMAC-SHA256 Credential=AKIDabcdefgh/2024-01-02/iotexplorer/tc3_request, SignedHeaders=content-type;host, Signature=${"a".repeat(64)}`;
    assert.ok(typeof parseAuthorization(good) !== "string");
    const cases: Array<[string | undefined, RegExp]> = [
      [undefined, /missing/],
      ["HMAC-SHA256 Credential=a", /must start with TC3-HMAC-SHA256/],
      [good.replace("Credential=AKIDabcdefgh/2024-01-02", "Credential=AKIDabcdefgh/2024-1-2"), /Credential must be/],
      [good.replace("tc3_request", "tc2_request"), /Credential must be/],
      [good.replace("content-type;host", "host;content-type"), /ascending/],
      [good.replace("content-type;host", "content-type;content-type;host"), /ascending/],
      [good.replace("content-type;host", "host"), /content-type and host/],
      [good.replace("content-type;host", "Content-Type;host"), /lower-case/],
      [good.replace("a".repeat(64), "A".repeat(64)), /64 lower-case hex/],
      [good.replace("a".repeat(64), "a".repeat(63)), /64 lower-case hex/],
      [`${good}, Extra=1`, /exactly Credential, SignedHeaders and Signature/],
      [good.replace("SignedHeaders", "Credential"), /repeats Credential/],
    ];
    for (const [header, reason] of cases) {
      const parsed = parseAuthorization(header);
      assert.equal(typeof parsed, "string", `accepted: ${header}`);
      assert.match(parsed as string, reason);
    }
  });

  it("compares signatures in constant time and only equal ones match", () => {
    assert.equal(signaturesEqual(DEMO.signature, DEMO.signature), true);
    assert.equal(signaturesEqual(DEMO.signature, DEMO.signature.replace(/^f/, "e")), false);
    assert.equal(signaturesEqual(DEMO.signature, "not hex at all"), false);
    assert.equal(signaturesEqual(DEMO.signature, DEMO.signature + "00"), false);
  });
});
