// The type of md5.js for the Node tests that import it (test/console-md5.test.ts); not served.
/** The MD5 of `bytes` as 32 lower-case hexadecimal digits. */
export function md5Hex(bytes: Uint8Array): string;
