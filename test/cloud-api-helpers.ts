/**
 * Tencent's own Cloud API client (tencentcloud-sdk-nodejs, iotexplorer v20190423) pointed at a
 * mock platform, as a backend team would point it: httpProfile endpoint and protocol.
 */
import { strict as assert } from "node:assert";
import { Client } from "tencentcloud-sdk-nodejs/tencentcloud/services/iotexplorer/v20190423/iotexplorer_client";

export type IotExplorerClient = InstanceType<typeof Client>;

export interface ApiTarget {
  /** The platform's HTTP or HTTPS base URL. */
  url: string;
  secretId: string;
  secretKey: string;
}

export function apiTarget(platform: { httpUrl: string; apiCredentials: { secretId: string; secretKey: string } }): ApiTarget {
  return { url: platform.httpUrl, secretId: platform.apiCredentials.secretId, secretKey: platform.apiCredentials.secretKey };
}

export function apiClient(target: ApiTarget, options: { reqMethod?: "POST" | "GET"; region?: string; token?: string } = {}): IotExplorerClient {
  const url = new URL(target.url);
  return new Client({
    credential: { secretId: target.secretId, secretKey: target.secretKey, token: options.token },
    region: options.region ?? "ap-guangzhou",
    profile: { httpProfile: { endpoint: url.host, protocol: `${url.protocol}//`, reqMethod: options.reqMethod ?? "POST", reqTimeout: 30 } },
  });
}

export interface ApiFailure {
  code: string;
  message: string;
  requestId: string;
}

/** Awaits a call that must fail with Tencent's error envelope; returns its code and message. */
export async function apiFailure(call: Promise<unknown>): Promise<ApiFailure> {
  try {
    await call;
  } catch (error) {
    const failure = error as { code?: string; message: string; requestId?: string };
    assert.equal(typeof failure.code, "string", `not a Tencent error: ${failure.message}`);
    return { code: failure.code!, message: failure.message, requestId: failure.requestId ?? "" };
  }
  assert.fail("the call succeeded");
}
