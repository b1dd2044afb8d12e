/**
 * Child process of test/frozen-intrinsics.test.ts. Freezes the built-ins the way Moddable's
 * preloading leaves them on a device (every intrinsic constructor and prototype), loads the
 * engine-neutral modules of the image, freezes every class they export as preloading does to a
 * preloaded module's classes, then constructs every Error subclass among them.
 * Prints one JSON object: export name -> the error's name, or "THREW <message>".
 */
const INTRINSICS = [
  "Object", "Function", "Error", "TypeError", "RangeError", "SyntaxError", "ReferenceError", "EvalError", "URIError",
  "AggregateError", "Array", "Promise", "Map", "Set", "WeakMap", "WeakSet", "ArrayBuffer", "DataView", "Uint8Array",
  "String", "Number", "Boolean", "Symbol", "BigInt", "RegExp", "Date", "JSON", "Math", "Reflect",
];
for (const name of INTRINSICS) {
  const value = (globalThis as Record<string, unknown>)[name] as { prototype?: object } | undefined;
  if (value?.prototype) Object.freeze(value.prototype);
  if (value) Object.freeze(value);
}

const loaded: Array<{ file: string; exports: Record<string, unknown> }> = [];
for (const file of process.argv.slice(2)) loaded.push({ file, exports: (await import(file)) as Record<string, unknown> });
for (const { exports } of loaded) {
  for (const value of Object.values(exports)) {
    if (typeof value !== "function") continue;
    if (value.prototype) Object.freeze(value.prototype);
    Object.freeze(value);
  }
}

const results: Record<string, string> = {};
for (const { file, exports } of loaded) {
  for (const [name, value] of Object.entries(exports)) {
    if (typeof value !== "function" || !(value.prototype instanceof Error)) continue;
    try {
      const error = new (value as new (...args: unknown[]) => Error)("storage", "message");
      results[`${file.split("/").slice(-2).join("/")}:${name}`] = error.name;
    } catch (error) {
      results[`${file.split("/").slice(-2).join("/")}:${name}`] = `THREW ${(error as Error).message}`;
    }
  }
}
console.log(JSON.stringify(results));

export {};
