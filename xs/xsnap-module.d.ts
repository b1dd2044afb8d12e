/** The part of @agoric/xsnap 0.15's JS API (src/xsnap.js) the lane's child process uses. */
declare module "@agoric/xsnap" {
  export interface MeterUsage {
    meterType: string;
    compute: number | null;
    allocate: number | null;
    currentHeapCount: number | null;
  }
  export interface RunResult {
    reply: Uint8Array;
    meterUsage: MeterUsage;
  }
  export interface XsnapWorker {
    evaluate(code: string): Promise<RunResult>;
    issueCommand(message: Uint8Array): Promise<RunResult>;
    makeSnapshotStream(description?: string): AsyncGenerator<Uint8Array, void, undefined>;
    close(): Promise<void>;
    terminate(): Promise<void>;
  }
  export function xsnap(options: {
    os: string;
    spawn: typeof import("node:child_process").spawn;
    fs: unknown;
    name?: string;
    handleCommand?: (request: Uint8Array) => Promise<Uint8Array>;
    stdout?: "ignore" | "inherit" | "pipe";
    stderr?: "ignore" | "inherit" | "pipe";
    meteringLimit?: number;
    snapshotStream?: AsyncIterable<Uint8Array>;
  }): Promise<XsnapWorker>;
}
