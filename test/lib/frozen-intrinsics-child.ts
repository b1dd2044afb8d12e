/**
 * Child process of test/frozen-intrinsics.test.ts. Freezes the built-ins the way Moddable's
 * preloading leaves them on a device (every intrinsic constructor and prototype), then loads
 * the engine-neutral modules of the image and constructs every Error subclass they export.
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

const results: Record<string, string> = {};
for (const file of process.argv.slice(2)) {
  const exports = (await import(file)) as Record<string, unknown>;
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
