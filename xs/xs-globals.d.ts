/** Globals xsnap-worker installs in its XS machine (see xsnap-worker.c). */
declare function issueCommand(message: ArrayBuffer): ArrayBuffer;
declare function print(...values: unknown[]): void;
declare class TextEncoder {
  encode(text: string): Uint8Array;
}
declare class TextDecoder {
  decode(bytes: ArrayBuffer | Uint8Array): string;
}
