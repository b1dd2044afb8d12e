/**
 * Power cut at every flash write (before and after it commits) and torn writes (a flipped byte,
 * a truncated flash file) during first registration, re-registration and normal boots, in PSK
 * and certificate mode, against the mock platform over real sockets.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { apiClient, apiTarget } from "../cloud-api-helpers";
import { recordCase } from "./lib/results";
import {
  bootBoard, canaryOnline, checkInvariants, platformDevice, DEVICE_NAMES, factoryInfo, newBoard, platformSecret,
  startFaultPlatform, storedSecret, PSK_PRODUCT, CERT_PRODUCT, type Board, type BootSpec, type FaultPlatform, type Mode,
} from "./lib/harness";
import { openFlashFile, truncateFlashFile, type PowerCutWhen } from "../../hal/node/flash";
import { FlashError } from "../../firmware/contracts";
import { createNodeHal } from "../../hal/node/index";
import { nodeCrypto } from "../../hal/node/crypto";
import { RECORD_NAMESPACE, setDevInfo, inspectFlash, loadDevInfo } from "../../firmware/record-store";

const FAMILY = "power cut / torn write";

for (const mode of ["psk", "cert"] as Mode[]) {
  describe(`fault matrix: power cuts and torn writes (${mode})`, function () {
    this.timeout(240_000);
    let env: FaultPlatform;
    let names: string[];
    const product = mode === "psk" ? PSK_PRODUCT : CERT_PRODUCT;

    before(async () => {
      env = await startFaultPlatform({ tls: mode === "cert" });
      names = [...DEVICE_NAMES];
    });
    after(async () => env && (await env.close()));

    const spec = (): BootSpec => ({
      registerUrl: `${env.platform.httpUrl}/device/register`,
      mqttUrl: mode === "cert" ? env.platform.mqttTlsUrl! : env.platform.mqttUrl,
      ca: env.serverCert,
    });

    async function secretsOf(board: Board): Promise<string[]> {
      return [product.productSecret, platformSecret(await platformDevice(env.platform, product.productId, board.deviceName))].filter((s): s is string => typeof s === "string");
    }

    /** One case: the given cut boot, then a clean boot; both checked, the last one must be online. */
    async function cutCase(label: string, board: Board, cut: { at: number; when: PowerCutWhen }, activatedSecret?: string): Promise<string[]> {
      const problems: string[] = [];
      const cutRun = await bootBoard(board, { ...spec(), flash: board.flash.reboot({ powerCutAtWrite: cut.at, powerCutWhen: cut.when }) });
      const secrets = await secretsOf(board);
      const first = checkInvariants(cutRun, { activatedSecret, secrets, allowFatal: true });
      if (cutRun.outcome !== "online" && cutRun.outcome !== "failed:storage") first.violations.push(`a power cut ended in ${cutRun.outcome}`);
      const recovery = await bootBoard(board, spec());
      const secretsAfter = await secretsOf(board);
      const second = checkInvariants(recovery, { activatedSecret, secrets: secretsAfter });
      const platformHeld = secretsAfter[1];
      if (recovery.outcome === "online" && storedSecret(recovery) !== platformHeld) second.violations.push("the device holds a secret the platform did not issue");
      const canary = await canaryOnline(env.platform);
      const violations = [...first.violations.map((v) => `cut boot: ${v}`), ...second.violations.map((v) => `recovery: ${v}`), ...(canary ? [canary] : [])];
      recordCase({ family: `${FAMILY} (${mode})`, label, survived: violations.length === 0, dataLost: first.dataLost || second.dataLost, detail: violations.join("; ") });
      if (violations.length) problems.push(`${label}: ${violations.join("; ")}`);
      return problems;
    }

    /** Writes a clean first registration makes, counted on a throwaway device. */
    async function writesOfFirstRegistration(): Promise<number> {
      const board = newBoard(mode, names.shift()!);
      const run = await bootBoard(board, spec());
      assert.equal(run.outcome, "online");
      return board.flash.stats().writesSinceOpen;
    }

    it("first registration: a cut at every write, before and after it commits, then a clean boot comes online", async () => {
      const writes = await writesOfFirstRegistration();
      assert.ok(writes >= 2, `a registration mirrors the record: ${writes} writes`);
      const problems: string[] = [];
      for (let at = 1; at <= writes + 1; at++) {
        for (const when of ["before", "after"] as PowerCutWhen[]) {
          problems.push(...(await cutCase(`first registration, cut ${when} write ${at}/${writes}`, newBoard(mode, names.shift()!), { at, when })));
        }
      }
      assert.deepEqual(problems, []);
    });

    it("first registration over a provisioned factory record: a cut at every write", async () => {
      const probe = newBoard(mode, names.shift()!);
      provision(probe);
      await bootBoard(probe, spec());
      const writes = probe.flash.stats().writesSinceOpen;
      const problems: string[] = [];
      for (let at = 1; at <= writes + 1; at++) {
        for (const when of ["before", "after"] as PowerCutWhen[]) {
          const board = newBoard(mode, names.shift()!);
          provision(board);
          problems.push(...(await cutCase(`provisioned registration, cut ${when} write ${at}/${writes}`, board, { at, when })));
        }
      }
      assert.deepEqual(problems, []);
    });

    it("re-registration (registered, nothing stored, not activated): a cut at every write", async () => {
      const problems: string[] = [];
      const writes = 2 + (mode === "cert" ? 0 : 0);
      for (let at = 1; at <= writes + 1; at++) {
        for (const when of ["before", "after"] as PowerCutWhen[]) {
          const board = newBoard(mode, names.shift()!);
          // The platform answers, the first write never commits: registered but not activated.
          const lost = await bootBoard(board, { ...spec(), flash: board.flash.reboot({ powerCutAtWrite: 1, powerCutWhen: "before" }) });
          assert.equal(lost.outcome, "failed:storage");
          problems.push(...(await cutCase(`re-registration, cut ${when} write ${at}`, board, { at, when })));
        }
      }
      assert.deepEqual(problems, []);
    });

    it("normal boots of an activated device: a cut at every write index never touches the secret", async () => {
      const board = newBoard(mode, names.shift()!);
      const first = await bootBoard(board, spec());
      assert.equal(first.outcome, "online");
      const activated = storedSecret(first)!;
      const problems: string[] = [];
      for (let at = 1; at <= 2; at++) {
        for (const when of ["before", "after"] as PowerCutWhen[]) {
          problems.push(...(await cutCase(`normal boot, cut ${when} write ${at}`, board, { at, when }, activated)));
        }
      }
      assert.equal(board.flash.stats().writesSinceOpen, 0, "a normal boot writes nothing");
      assert.deepEqual(problems, []);
    });

    it("torn writes: a flipped byte in any one record key of an activated device; the secret survives", async () => {
      const problems: string[] = [];
      const probe = newBoard(mode, names.shift()!);
      await bootBoard(probe, spec());
      const keys = probe.flash.keys(RECORD_NAMESPACE);
      for (const key of keys) {
        for (const offset of [0, 30, -1]) {
          const board = newBoard(mode, names.shift()!);
          const online = await bootBoard(board, spec());
          const activated = storedSecret(online)!;
          const flash = board.flash.reboot();
          const length = valueLength(flash.get(RECORD_NAMESPACE, key));
          flash.corruptByte(RECORD_NAMESPACE, key, offset < 0 ? length - 1 : Math.min(offset, length - 1), 0x5a);
          board.flash = flash;
          const run = await bootBoard(board, spec());
          const verdict = checkInvariants(run, { activatedSecret: activated, secrets: await secretsOf(board) });
          const canary = await canaryOnline(env.platform);
          if (canary) verdict.violations.push(canary);
          const label = `flipped byte in ${key} at ${offset}`;
          recordCase({ family: `${FAMILY} (${mode})`, label, survived: verdict.violations.length === 0, dataLost: verdict.dataLost, detail: verdict.violations.join("; ") });
          if (verdict.violations.length) problems.push(`${label}: ${verdict.violations.join("; ")}`);
        }
      }
      assert.deepEqual(problems, []);
    });

    it("torn write during registration: the first slot committed then flipped; the next boot registers again", async () => {
      const board = newBoard(mode, names.shift()!);
      const cut = await bootBoard(board, { ...spec(), flash: board.flash.reboot({ powerCutAtWrite: 1, powerCutWhen: "after" }) });
      assert.equal(cut.outcome, "failed:storage");
      const flash = board.flash.reboot();
      for (const key of flash.keys(RECORD_NAMESPACE)) flash.corruptByte(RECORD_NAMESPACE, key, 5, 0xff);
      board.flash = flash;
      const run = await bootBoard(board, spec());
      const verdict = checkInvariants(run, { secrets: await secretsOf(board) });
      const canary = await canaryOnline(env.platform);
      if (canary) verdict.violations.push(canary);
      recordCase({ family: `${FAMILY} (${mode})`, label: "torn first write", survived: verdict.violations.length === 0, detail: verdict.violations.join("; ") });
      assert.deepEqual(verdict.violations, []);
      assert.equal(run.outcome, "online");
    });

    it("a device that recovered from a cut between its two mirrored writes is mirrored again, so one flipped slot loses nothing", async () => {
      const board = newBoard(mode, names.shift()!);
      await bootBoard(board, { ...spec(), flash: board.flash.reboot({ powerCutAtWrite: 1, powerCutWhen: "after" }) });
      const online = await bootBoard(board, spec());
      assert.equal(online.outcome, "online");
      const activated = storedSecret(online)!;
      const current = inspectFlash(online.committed);
      const flash = board.flash.reboot();
      const headKey = `rec.${current.current!.toLowerCase()}`;
      flash.corruptByte(RECORD_NAMESPACE, headKey, 3, 0x01);
      board.flash = flash;
      const run = await bootBoard(board, spec());
      const verdict = checkInvariants(run, { activatedSecret: activated, secrets: await secretsOf(board), allowUnreadable: false });
      recordCase({ family: `${FAMILY} (${mode})`, label: "unmirrored record after a cut, then one slot flipped", survived: verdict.violations.length === 0, dataLost: verdict.dataLost, detail: verdict.violations.join("; ") });
      assert.deepEqual(verdict.violations, []);
    });

    it("normal boot of a device whose record is in one slot only: a cut at every write of the mirror repair, then the mirror is restored", async () => {
      const problems: string[] = [];
      for (const when of ["before", "after"] as PowerCutWhen[]) {
        for (let at = 1; at <= 2; at++) {
          const board = newBoard(mode, names.shift()!);
          // The registration's mirror write never happened: the record is in one slot only.
          await bootBoard(board, { ...spec(), flash: board.flash.reboot({ powerCutAtWrite: 1, powerCutWhen: "after" }) });
          // The next boot repairs the mirror (write 1) and comes online; the cut hits that repair.
          problems.push(...(await cutCase(`unmirrored normal boot, cut ${when} write ${at}`, board, { at, when })));
          const slots = inspectFlash({ flash: board.flash.reboot(), crypto: nodeCrypto, storageKey: () => Uint8Array.from(board.storageKey) }).slots;
          if (!slots.every((slot) => slot.state === "valid")) problems.push(`unmirrored normal boot, cut ${when} write ${at}: the recovery boot did not restore the mirror`);
        }
      }
      assert.deepEqual(problems, []);
    });

    it("a device deleted through the Cloud API is refused by the broker: a named fatal state, and flash keeps its record", async () => {
      const board = newBoard(mode, names.shift()!);
      const online = await bootBoard(board, spec());
      const activated = storedSecret(online)!;
      await apiClient(apiTarget(env.platform)).DeleteDevice({ ProductId: product.productId, DeviceName: board.deviceName });
      const run = await bootBoard(board, spec());
      const verdict = checkInvariants(run, { activatedSecret: activated, secrets: [product.productSecret, activated], allowFatal: true });
      if (!run.outcome.startsWith("failed:")) verdict.violations.push(`a deleted device ended ${run.outcome}`);
      const canary = await canaryOnline(env.platform);
      if (canary) verdict.violations.push(canary);
      recordCase({ family: `${FAMILY} (${mode})`, label: `deleted in the console -> ${run.outcome}`, survived: verdict.violations.length === 0, dataLost: verdict.dataLost, detail: verdict.violations.join("; ") });
      assert.deepEqual(verdict.violations, []);
    });

    it("a truncated flash file opens as a typed FlashError, or erased on request, and the device then ends in a named state", async () => {
      const dir = mkdtempSync(join(tmpdir(), "exs-torn-"));
      try {
        const path = join(dir, "board.flash");
        const key = new Uint8Array(randomBytes(32));
        const flash = openFlashFile(path, { durable: false });
        setDevInfo(createNodeHal({ flash, storageKey: key, logger: { log: () => undefined } }), factoryInfo(mode, "torn"), { mirror: true });
        const size = statSync(path).size;
        for (const length of [0, 1, Math.floor(size / 3), Math.floor(size / 2), size - 1]) {
          truncateFlashFile(path, length);
          let typed = true;
          try {
            openFlashFile(path, { durable: false });
          } catch (error) {
            typed = error instanceof FlashError && error.code === "io";
          }
          const erased = openFlashFile(path, { durable: false, ifUnreadable: "erase" });
          const load = loadDevInfo({ flash: erased, crypto: createNodeHal({ flash: erased, storageKey: key }).crypto, storageKey: () => key });
          const ok = typed && (load.status === "empty" || load.status === "ok" || load.status === "unreadable");
          recordCase({ family: `${FAMILY} (${mode})`, label: `flash file truncated to ${length}/${size}`, survived: ok, detail: ok ? undefined : "untyped error" });
          assert.ok(ok, `truncated to ${length}`);
          setDevInfo(createNodeHal({ flash: openFlashFile(path, { durable: false, ifUnreadable: "erase" }), storageKey: key, logger: { log: () => undefined } }), factoryInfo(mode, "torn"), { mirror: true });
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

function provision(board: Board): void {
  const flash = board.flash.reboot();
  setDevInfo(createNodeHal({ flash, storageKey: board.storageKey, logger: { log: () => undefined } }), factoryInfo(board.mode, board.deviceName), {});
  board.flash = flash;
}

function valueLength(value: unknown): number {
  if (value instanceof ArrayBuffer) return value.byteLength;
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (typeof value === "string") return value.length;
  return 1;
}
