/**
 * `npm start` is the product's first impression: it must run on a fresh checkout and exit 0.
 */
import { strict as assert } from "node:assert";
import { runProcess } from "./lib/run-process";
import { DEMO_PRODUCT_SECRET } from "../simulator/demo";


const warmOf = (stdout: string) => stdout.split("Boot 2:")[1] ?? "";

describe("npm start (explorer-xs demo)", function () {
  this.timeout(60_000);

  it("exits 0 after a cold boot that registers and a warm boot that writes nothing", async () => {
    const result = await runProcess("npm", ["start", "--silent"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /request signed\s+POST http:\/\/127\.0\.0\.1:\d+\/device\/register/);
    assert.match(result.stdout, /secret stored\s+PSK \*+[A-Za-z0-9+/=]{4} /);
    assert.match(result.stdout, /report acknowledged/);
    assert.match(result.stdout, /warm boot 0 registration requests, 0 flash writes, 1 MQTT connect\. OK/);
    // The data template past the first report: pending control, report_info, time, an event, an action.
    assert.match(warmOf(result.stdout), /pending control\s+\{"power_switch":0\} applied, cleared \(clear_control\) and reported/);
    assert.match(warmOf(result.stdout), /report_info\s+firmware and module info sent/);
    assert.match(warmOf(result.stdout), /platform time\s+device clock within \d+ ms/);
    assert.match(warmOf(result.stdout), /event posted\s+status_report, event_reply code 0/);
    assert.match(warmOf(result.stdout), /action\s+blink \{"times":3\} from the platform: done, action_reply code 0/);
    assert.match(result.stdout, /Data template: the warm boot applied the pending control/);
    const warm = result.stdout.split("Boot 2:")[1];
    assert.ok(warm && !/request signed|flash commit/.test(warm), "the warm boot neither registers nor writes flash");
    assert.ok(!result.stdout.includes(DEMO_PRODUCT_SECRET), "the product secret is never printed");
  });
});
