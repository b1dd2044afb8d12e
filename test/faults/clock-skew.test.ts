/**
 * Clock skew on the device, both directions, with and without a reachable SNTP server: the
 * device must come online (SNTP, or the platform's HTTP Date after a refused timestamp) on its
 * first registration and on normal boots, keeping its secret.
 */
import { strict as assert } from "node:assert";
import { recordCase } from "./lib/results";
import {
  bootBoard, canaryOnline, checkInvariants, platformDevice, DEVICE_NAMES, newBoard, platformSecret, startFaultPlatform,
  storedSecret, PSK_PRODUCT, type FaultPlatform,
} from "./lib/harness";
import { createNodeClock } from "../../hal/node/clock";

const SKEWS_SECONDS = [-10 * 365 * 86400, -86400, -3600, -301, 301, 3600, 86400, 10 * 365 * 86400];

describe("fault matrix: device clock skew", function () {
  this.timeout(120_000);
  let env: FaultPlatform;
  const names = [...DEVICE_NAMES];
  before(async () => (env = await startFaultPlatform()));
  after(async () => env && (await env.close()));

  const spec = () => ({ registerUrl: `${env.platform.httpUrl}/device/register`, mqttUrl: env.platform.mqttUrl });

  it("first registration and a normal boot with the clock off either way, SNTP reachable or not", async () => {
    const problems: string[] = [];
    for (const skew of SKEWS_SECONDS) {
      for (const sntp of [true, false]) {
        const board = newBoard("psk", names.shift()!);
        const label = `skew ${skew > 0 ? "+" : ""}${skew} s, sntp ${sntp ? "up" : "down"}`;
        const first = await bootBoard(board, { ...spec(), clock: createNodeClock({ skewMs: skew * 1000, sntpReachable: sntp }) });
        const secrets = [PSK_PRODUCT.productSecret, platformSecret(await platformDevice(env.platform, PSK_PRODUCT.productId, board.deviceName))].filter((s): s is string => !!s);
        const v1 = checkInvariants(first, { secrets });
        const activated = storedSecret(first);
        const again = await bootBoard(board, { ...spec(), clock: createNodeClock({ skewMs: skew * 1000, sntpReachable: sntp }) });
        const v2 = checkInvariants(again, { secrets, activatedSecret: activated });
        const canary = await canaryOnline(env.platform);
        const violations = [...v1.violations.map((v) => `registration: ${v}`), ...v2.violations.map((v) => `normal boot: ${v}`), ...(canary ? [canary] : [])];
        recordCase({ family: "clock skew", label, survived: violations.length === 0, dataLost: v2.dataLost, detail: violations.join("; ") });
        if (violations.length) problems.push(`${label}: ${violations.join("; ")}`);
      }
    }
    assert.deepEqual(problems, []);
  });
});
