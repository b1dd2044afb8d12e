/**
 * The child process that owns the XS worker. xsnap's Node API needs SES lockdown
 * (@endo/init) in its process, so it lives here, away from mocha and the host. It only relays:
 * XS's `issueCommand` requests go to the host over IPC and wait for the answer; host commands
 * become `worker.issueCommand` cranks; each crank's meter goes back to the host.
 */
import "@endo/init";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as fsPromises from "node:fs/promises";
import * as os from "node:os";
import { xsnap, type RunResult, type XsnapWorker } from "@agoric/xsnap";
import type { CrankMeter, FromChild, ToChild } from "./protocol";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function send(message: FromChild): void {
  process.send?.(message);
}

const waitingAnswers = new Map<number, (payload: string) => void>();
let nextRequest = 1;

function askHost(request: Uint8Array): Promise<Uint8Array> {
  const id = nextRequest++;
  return new Promise((resolve) => {
    waitingAnswers.set(id, (payload) => resolve(encoder.encode(payload)));
    send({ type: "request", id, payload: decoder.decode(request) });
  });
}

function meterOf(result: RunResult): CrankMeter {
  const { compute, allocate, currentHeapCount } = result.meterUsage;
  return { compute: compute ?? 0, allocate: allocate ?? 0, currentHeapCount: currentHeapCount ?? 0 };
}

function fatal(error: unknown): void {
  send({ type: "fatal", message: error instanceof Error ? error.message : String(error) });
}

type Worker = XsnapWorker;
let worker: Worker | undefined;

async function start(bundle: string, meteringLimit: number): Promise<void> {
  worker = await xsnap({
    name: "explorer-xs-lane",
    os: os.type(),
    spawn,
    fs: { ...fs, ...fsPromises },
    stdout: "inherit",
    stderr: "inherit",
    meteringLimit,
    handleCommand: askHost,
  });
  const result = await worker.evaluate(bundle);
  send({ type: "started", meter: meterOf(result) });
}

async function snapshotSize(id: number): Promise<void> {
  let bytes = 0;
  for await (const chunk of worker!.makeSnapshotStream("explorer-xs-core")) bytes += chunk.byteLength;
  send({ type: "snapshot", id, bytes });
}

// The host went away without closing: do not leave the XS worker orphaned.
process.on("disconnect", () => {
  void Promise.resolve(worker?.terminate()).finally(() => process.exit(0));
});

process.on("message", (message: ToChild) => {
  switch (message.type) {
    case "start":
      start(message.bundle, message.meteringLimit).catch(fatal);
      return;
    case "answer": {
      const resolve = waitingAnswers.get(message.id);
      waitingAnswers.delete(message.id);
      resolve?.(message.payload);
      return;
    }
    case "command":
      // Not awaited: xsnap queues cranks itself, and an answer may be needed meanwhile.
      worker!
        .issueCommand(encoder.encode(message.payload))
        .then((result) => send({ type: "crank", meter: meterOf(result) }), fatal);
      return;
    case "snapshot":
      snapshotSize(message.id).catch(fatal);
      return;
    case "close":
      Promise.resolve(worker?.close())
        .catch(() => undefined)
        .finally(() => process.exit(0));
      return;
  }
});
