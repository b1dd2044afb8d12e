/**
 * Who may call the mock's Cloud API: TC3 signatures checked as Tencent documents them, with
 * Tencent's error codes for every way a request can be unsigned, mis-signed, stale or malformed;
 * and where the platform's key pair comes from.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { Agent } from "node:https";
import { join } from "node:path";
import { startPlatform, type RunningPlatform } from "../simulator/platform/index";
import { authorizationHeader, utcDate } from "../simulator/platform/cloud-api/tc3";
import { CloudApiError } from "../simulator/platform/cloud-api/errors";
import { unflattenQuery } from "../simulator/platform/cloud-api/params";
import { apiClient, apiFailure, apiTarget, type ApiTarget } from "./cloud-api-helpers";
import { PID, SECRET, post, tempDir, testConfig } from "./platform-helpers";

const API_HEADERS = { "X-TC-Action": "DescribeProductDynamicRegister", "X-TC-Version": "2019-04-23", "X-TC-Region": "ap-guangzhou" };

interface RawCall {
  body?: string;
  timestamp?: number;
  secretId?: string;
  secretKey?: string;
  service?: string;
  headers?: Record<string, string>;
  /** Signed over this host value (default: the Host header without port, as the Node SDK does). */
  signedHost?: string;
  /** Changes the request after signing. */
  tamper?: (request: { body: string; headers: Record<string, string> }) => void;
  omitAuthorization?: boolean;
  path?: string;
  /** Signed over this path (default: the path sent). */
  signedPath?: string;
  /** Headers signed besides content-type and host (as the web console signs X-TC-Action and X-TC-Timestamp). */
  signAlso?: string[];
}

/** A hand-made request, signed with the platform's own signer so every field can be bent. */
async function rawCall(target: ApiTarget, call: RawCall = {}) {
  const url = new URL(target.url);
  const body = call.body ?? JSON.stringify({ ProductId: PID });
  const timestamp = call.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = { "Content-Type": "application/json", Host: url.host, "X-TC-Timestamp": String(timestamp), ...API_HEADERS, ...call.headers };
  if (!call.omitAuthorization) {
    headers.Authorization = authorizationHeader({
      secretId: call.secretId ?? target.secretId, secretKey: call.secretKey ?? target.secretKey, timestamp, service: call.service, path: call.signedPath ?? call.path,
      headers: {
        "content-type": headers["Content-Type"], host: call.signedHost ?? url.hostname,
        ...Object.fromEntries((call.signAlso ?? []).map((name) => [name.toLowerCase(), Object.entries(headers).find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1] ?? ""])),
      }, payload: body,
    });
  }
  const request = { body, headers };
  call.tamper?.(request);
  const answer = await post(target.url, call.path ?? "/", request.body, request.headers);
  return { ...answer, code: answer.json?.Response?.Error?.Code as string | undefined };
}

describe("cloud api: authentication", function () {
  let platform: RunningPlatform;
  let target: ApiTarget;
  let clockOffsetMs = 0;

  beforeEach(async () => {
    clockOffsetMs = 0;
    platform = await startPlatform({ memory: true, config: testConfig(), now: () => Date.now() + clockOffsetMs });
    target = apiTarget(platform);
  });
  afterEach(async () => platform.close());

  it("answers a call signed by Tencent's Node SDK, over POST and over GET", async () => {
    for (const reqMethod of ["POST", "GET"] as const) {
      const answer = await apiClient(target, { reqMethod }).DescribeProductDynamicRegister({ ProductId: PID });
      assert.deepEqual({ ...answer, RequestId: undefined }, { RegisterType: 1, ProductSecret: SECRET, RegisterLimit: 0, RequestId: undefined });
      assert.match(answer.RequestId!, /^[0-9a-f-]{36}$/);
    }
  });

  it("answers Tencent's Node SDK pointed at localhost:PORT, which names the service \"localhost:PORT\" (no dot to split at)", async () => {
    const port = new URL(target.url).port;
    const answer = await apiClient({ ...target, url: `http://localhost:${port}` }).DescribeProductDynamicRegister({ ProductId: PID });
    assert.equal(answer.RegisterType, 1);
    assert.equal((await rawCall(target, { service: `localhost:${port}`, headers: { Host: `localhost:${port}` }, signedHost: "localhost" })).code, undefined);
    assert.equal((await rawCall(target, { service: `localhost:${Number(port) + 1}`, headers: { Host: `localhost:${port}` }, signedHost: "localhost" })).code, "AuthFailure.SignatureFailure");
  });

  it("accepts the host signed with or without its port, and the service named iotexplorer or after the host", async () => {
    const url = new URL(target.url);
    assert.equal((await rawCall(target, { signedHost: url.host })).code, undefined);
    assert.equal((await rawCall(target, { signedHost: url.hostname })).code, undefined);
    assert.equal((await rawCall(target, { service: "iotexplorer" })).code, undefined);
    assert.equal((await rawCall(target, { service: "127" })).code, undefined);
    assert.equal((await rawCall(target, { service: "cvm" })).code, "AuthFailure.SignatureFailure");
    assert.equal((await rawCall(target, { signedHost: "iotexplorer.tencentcloudapi.com" })).code, "AuthFailure.SignatureFailure");
  });

  it("refuses a wrong SecretKey, an unknown SecretId and an unsigned request with Tencent's codes", async () => {
    assert.equal((await apiFailure(apiClient({ ...target, secretKey: "wrongwrongwrongwrongwrongwrong12" }).GetStudioProductList({}))).code, "AuthFailure.SignatureFailure");
    assert.equal((await apiFailure(apiClient({ ...target, secretId: "AKIDnobodyHasThisId000000000000000" }).GetStudioProductList({}))).code, "AuthFailure.SecretIdNotFound");
    assert.equal((await rawCall(target, { omitAuthorization: true })).code, "AuthFailure.InvalidAuthorization");
    assert.equal((await rawCall(target, { tamper: (r) => { r.headers.Authorization = "Bearer x"; } })).code, "AuthFailure.InvalidAuthorization");
  });

  it("refuses a request changed after signing: body, method path, or a signed header", async () => {
    assert.equal((await rawCall(target, { tamper: (r) => { r.body = JSON.stringify({ ProductId: "AUTOCREATE" }); } })).code, "AuthFailure.SignatureFailure");
    assert.equal((await rawCall(target, { tamper: (r) => { r.headers["Content-Type"] = "application/json; charset=utf-8"; } })).code, "AuthFailure.SignatureFailure");
    assert.equal((await rawCall(target, { path: "/?x=1", signedPath: "/" })).code, "AuthFailure.SignatureFailure");
  });

  it("refuses a signature older or newer than five minutes (AuthFailure.SignatureExpire), and a credential date not the timestamp's", async () => {
    const now = Math.floor(Date.now() / 1000);
    assert.equal((await rawCall(target, { timestamp: now - 290 })).code, undefined);
    assert.equal((await rawCall(target, { timestamp: now - 400 })).code, "AuthFailure.SignatureExpire");
    assert.equal((await rawCall(target, { timestamp: now + 400 })).code, "AuthFailure.SignatureExpire");
    // The SDK signs with the real clock; a platform clock 10 minutes ahead refuses it.
    clockOffsetMs = 10 * 60 * 1000;
    const stale = await apiFailure(apiClient(target).GetStudioProductList({}));
    assert.equal(stale.code, "AuthFailure.SignatureExpire");
    clockOffsetMs = 0;
    const midnight = Math.floor(Date.now() / 86_400_000) * 86_400;
    const yesterday = utcDate(midnight - 1);
    const wrongDate = await rawCall(target, {
      tamper: (r) => { r.headers.Authorization = r.headers.Authorization.replace(/\d{4}-\d{2}-\d{2}/, yesterday === utcDate(now) ? "2000-01-01" : yesterday); },
    });
    assert.equal(wrongDate.code, "AuthFailure.SignatureFailure");
    assert.match(wrongDate.json.Response.Error.Message, /not the UTC date of X-TC-Timestamp/);
    assert.equal((await rawCall(target, { headers: { "X-TC-Timestamp": "soon" } })).code, "InvalidParameter");
  });

  it("refuses an unknown action or version, a missing action, and bad parameters, once signed", async () => {
    const client = apiClient(target);
    assert.equal((await apiFailure(client.request("DescribeEverything", {}))).code, "InvalidAction");
    assert.equal((await apiFailure(client.request("__proto__", {}))).code, "InvalidAction");
    assert.equal((await rawCall(target, { headers: { "X-TC-Version": "2021-04-08" } })).code, "NoSuchVersion");
    assert.equal((await rawCall(target, { tamper: (r) => { delete r.headers["X-TC-Action"]; } })).code, "MissingParameter");
    assert.equal((await rawCall(target, { headers: { "X-TC-Region": "moon base" } })).code, "UnsupportedRegion");
    assert.equal((await apiFailure(client.request("DescribeProductDynamicRegister", {}))).code, "MissingParameter");
    assert.equal((await apiFailure(client.request("DescribeProductDynamicRegister", { ProductId: 7 }))).code, "InvalidParameter");
    assert.equal((await apiFailure(client.request("DescribeProductDynamicRegister", { ProductId: PID, Extra: 1 }))).code, "UnknownParameter");
    assert.equal((await rawCall(target, { body: "{not json" })).code, "InvalidParameter");
    assert.equal((await rawCall(target, { body: "x".repeat(200 * 1024) })).code, "RequestSizeLimitExceeded");
    const put = await post(target.url, "/", "{}", { "Content-Type": "application/json" }, "PUT");
    assert.equal(put.json.Response.Error.Code, "UnsupportedProtocol");
  });

  it("serves the Cloud API on the HTTPS port too", async function () {
    const temp = tempDir("exs-cloudapi-tls-");
    try {
      execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", join(temp.dir, "key.pem"), "-out", join(temp.dir, "cert.pem"), "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
      const tls = await startPlatform({ memory: true, config: testConfig(), tls: { key: readFileSync(join(temp.dir, "key.pem")), cert: readFileSync(join(temp.dir, "cert.pem")) } });
      try {
        const client = apiClient({ ...apiTarget(tls), url: tls.httpsUrl! });
        // The SDK takes an agent through its httpProfile: this one trusts the test certificate.
        (client as unknown as { profile: { httpProfile: { agent: Agent } } }).profile.httpProfile.agent = new Agent({ ca: readFileSync(join(temp.dir, "cert.pem")) });
        const answer = await client.DescribeProductDynamicRegister({ ProductId: PID });
        assert.equal(answer.ProductSecret, SECRET);
      } finally {
        await tls.close();
      }
    } finally {
      temp.remove();
    }
  });

  it("lets a one-time console link open one session of temporary keys that need their X-TC-Token", async () => {
    const link = new URL(platform.consoleLoginUrl());
    const token = link.hash.replace("#login=", "");
    const exchange = () => post(target.url, "/console/session", JSON.stringify({ Token: token }), { "Content-Type": "application/json" });
    const first = await exchange();
    assert.equal(first.status, 200);
    const session = first.json as { SecretId: string; SecretKey: string; Token: string; ExpiresAt: number };
    assert.match(session.SecretId, /^AKIDtmp/);
    const again = await exchange();
    assert.equal(again.status, 403, "a link works once");
    assert.equal(again.json.Response.Error.Code, "AuthFailure.TokenFailure");
    const temporary = { url: target.url, secretId: session.SecretId, secretKey: session.SecretKey };
    const consoleSigned = { signAlso: ["X-TC-Action", "X-TC-Timestamp"] };
    const described = await rawCall(temporary, { ...consoleSigned, headers: { "X-TC-Token": session.Token } });
    assert.equal(described.json.Response.ProductSecret, SECRET, described.text);
    assert.equal((await rawCall(temporary, consoleSigned)).code, "AuthFailure.TokenFailure");
    assert.equal((await rawCall(temporary, { ...consoleSigned, headers: { "X-TC-Token": "not-it" } })).code, "AuthFailure.TokenFailure");
    // The temporary keys lapse with their session.
    clockOffsetMs = 13 * 60 * 60 * 1000;
    const lapsed = await rawCall(temporary, { timestamp: Math.floor((Date.now() + clockOffsetMs) / 1000), headers: { "X-TC-Token": session.Token } });
    assert.equal(lapsed.code, "AuthFailure.SecretIdNotFound");
  });

  it("holds a console session's key to signing X-TC-Action and X-TC-Timestamp: a captured request replayed with another action fails; the permanent pair still serves Tencent's SDK", async () => {
    const token = new URL(platform.consoleLoginUrl()).hash.replace("#login=", "");
    const session = (await post(target.url, "/console/session", JSON.stringify({ Token: token }), { "Content-Type": "application/json" })).json as { SecretId: string; SecretKey: string; Token: string };
    const temporary = { url: target.url, secretId: session.SecretId, secretKey: session.SecretKey };
    const withToken = { "X-TC-Token": session.Token };
    // Signed as Tencent's SDKs sign (content-type;host): refused for these keys, before any action runs.
    const sdkStyle = await rawCall(temporary, { headers: withToken });
    assert.equal(sdkStyle.code, "AuthFailure.InvalidAuthorization");
    assert.match(sdkStyle.json.Response.Error.Message, /must sign x-tc-action and x-tc-timestamp/);
    assert.equal((await apiFailure(apiClient(temporary, { token: session.Token }).GetStudioProductList({}))).code, "AuthFailure.InvalidAuthorization");
    assert.equal((await rawCall(temporary, { headers: withToken, signAlso: ["X-TC-Action"] })).code, "AuthFailure.InvalidAuthorization", "the timestamp too");
    // The attack: a captured DescribeDevice replayed with X-TC-Action: DeleteDevice.
    const body = JSON.stringify({ ProductId: PID, DeviceName: "dev001" });
    const describe = { body, signAlso: ["X-TC-Action", "X-TC-Timestamp"], headers: { ...withToken, "X-TC-Action": "DescribeDevice" } };
    const described = await rawCall(temporary, describe);
    assert.equal(described.json.Response.Device?.DeviceName, "dev001", described.text);
    const replayed = await rawCall(temporary, { ...describe, tamper: (request) => { request.headers["X-TC-Action"] = "DeleteDevice"; } });
    assert.equal(replayed.code, "AuthFailure.SignatureFailure");
    assert.ok(await platform.registry.getDevice(PID, "dev001"), "the device is still there");
    // The permanent pair keeps working with Tencent's Node SDK, which signs content-type;host only.
    assert.equal((await apiClient(target).DescribeProductDynamicRegister({ ProductId: PID })).ProductSecret, SECRET);
  });

  it("revokes a console session's key at sign-out; the permanent pair cannot be signed out", async () => {
    const token = new URL(platform.consoleLoginUrl()).hash.replace("#login=", "");
    const session = (await post(target.url, "/console/session", JSON.stringify({ Token: token }), { "Content-Type": "application/json" })).json as { SecretId: string; SecretKey: string; Token: string };
    const temporary = { url: target.url, secretId: session.SecretId, secretKey: session.SecretKey };
    const signOut = (who: ApiTarget, headers: Record<string, string> = {}) => rawCall(who, { path: "/console/signout", body: "{}", headers, signAlso: ["X-TC-Timestamp"] });
    assert.equal((await rawCall(temporary, { signAlso: ["X-TC-Action", "X-TC-Timestamp"], headers: { "X-TC-Token": session.Token } })).code, undefined);
    const out = await signOut(temporary, { "X-TC-Token": session.Token });
    assert.deepEqual([out.status, out.json], [200, { Revoked: true }]);
    assert.equal((await rawCall(temporary, { signAlso: ["X-TC-Action", "X-TC-Timestamp"], headers: { "X-TC-Token": session.Token } })).code, "AuthFailure.SecretIdNotFound");
    assert.equal((await signOut(temporary, { "X-TC-Token": session.Token })).status, 401, "gone");
    assert.deepEqual((await signOut(target)).json, { Revoked: false });
    assert.equal((await apiClient(target).DescribeProductDynamicRegister({ ProductId: PID })).ProductSecret, SECRET);
    assert.equal((await rawCall(temporary, { path: "/console/signout", body: "{}", omitAuthorization: true })).status, 401, "unsigned sign-out is refused");
  });

  it("never puts the SecretKey, a PSK or the ProductSecret in a refusal", async () => {
    const answers = await Promise.all([
      rawCall(target, { secretKey: "wrongwrongwrongwrongwrongwrong12" }),
      rawCall(target, { timestamp: 1 }),
      rawCall(target, { omitAuthorization: true }),
      rawCall(target, { headers: { "X-TC-Action": "Nope" } }),
    ]);
    for (const answer of answers) {
      assert.ok(answer.code, answer.text);
      for (const secret of [target.secretKey, SECRET]) assert.ok(!answer.text.includes(secret), answer.text);
    }
  });
});

describe("cloud api: the platform's key pair", () => {
  it("is made on the first start in the data folder (mode 0600), kept across restarts, and refused when malformed", async () => {
    const temp = tempDir("exs-cloudapi-keys-");
    try {
      const first = await startPlatform({ dataDir: temp.dir });
      await first.close();
      const file = join(temp.dir, "cloud-api-credentials.json");
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.deepEqual(first.apiCredentials.source, { kind: "file", file, created: true });
      const stored = JSON.parse(readFileSync(file, "utf8"));
      assert.deepEqual(stored, { SecretId: first.apiCredentials.secretId, SecretKey: first.apiCredentials.secretKey });
      assert.match(stored.SecretId, /^AKID[A-Za-z0-9]{32}$/);
      const second = await startPlatform({ dataDir: temp.dir });
      try {
        assert.deepEqual(second.apiCredentials.source, { kind: "file", file, created: false });
        assert.equal(second.apiCredentials.secretKey, first.apiCredentials.secretKey);
        await apiClient(apiTarget(second)).GetStudioProductList({});
      } finally {
        await second.close();
      }
    } finally {
      temp.remove();
    }
  });

  it("comes from the options or the config file when given; each memory run makes its own", async () => {
    const pair = { secretId: "AKIDgivenByTheOptions0000000000000000", secretKey: "givenKeyGivenKeyGivenKey00000000" };
    const fromOptions = await startPlatform({ memory: true, apiCredentials: pair, config: { products: [], cloudApi: { secretId: "AKIDfromconfig01", secretKey: "fromConfigFromConfig01" } } });
    const fromConfig = await startPlatform({ memory: true, config: { products: [], cloudApi: { secretId: "AKIDfromconfig01", secretKey: "fromConfigFromConfig01" } } });
    const memoryA = await startPlatform({ memory: true });
    const memoryB = await startPlatform({ memory: true });
    try {
      assert.deepEqual(fromOptions.apiCredentials, { ...pair, source: { kind: "options" } });
      await apiClient(apiTarget(fromOptions)).GetStudioProductList({});
      assert.deepEqual(fromConfig.apiCredentials, { secretId: "AKIDfromconfig01", secretKey: "fromConfigFromConfig01", source: { kind: "config" } });
      await apiClient(apiTarget(fromConfig)).GetStudioProductList({});
      assert.notEqual(memoryA.apiCredentials.secretKey, memoryB.apiCredentials.secretKey);
      assert.equal(memoryA.apiCredentials.source.kind, "generated");
    } finally {
      await Promise.all([fromOptions, fromConfig, memoryA, memoryB].map((platform) => platform.close()));
    }
    await assert.rejects(startPlatform({ memory: true, apiCredentials: { secretId: "a/b", secretKey: "shortshortshortshort" } }), /SecretId must be/);
    await assert.rejects(startPlatform({ memory: true, config: { products: [], cloudApi: { secretId: "AKIDfromconfig01", secretKey: "short" } } }), /SecretKey must be/);
  });
});

describe("cloud api: GET query parameters", () => {
  it("refuses a list position given twice, or as a value and a structure, as InvalidParameter", () => {
    for (const query of ["A.0=x&A.0.B=y", "A.0.B=x&A.0=y", "A.0=x&A.0=y", "A.B=x&A.B.C=y", "A=x&A=y"]) {
      assert.throws(() => unflattenQuery(new URLSearchParams(query)), (error: unknown) => error instanceof CloudApiError && error.code === "InvalidParameter", query);
    }
    assert.deepEqual(unflattenQuery(new URLSearchParams("A.0.B=x&A.0.C=y&A.1=z")), { A: [{ B: "x", C: "y" }, "z"] });
  });
});
