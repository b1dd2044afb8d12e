/**
 * Moddable `Preference` as its ESP32 port behaves (modPreference.c): set erases the key, then
 * writes and commits; keys() lists the namespace (nvs_entry_find; empty for an unknown
 * namespace); errors surface as exceptions.
 */
type Value = string | boolean | number | ArrayBuffer;

export const nvs = new Map<string, Value>();
export const calls: string[] = [];
export const failures = { next: undefined as Error | undefined };

function take(): void {
  const error = failures.next;
  failures.next = undefined;
  if (error) throw error;
}

const Preference = {
  set(domain: string, key: string, value: Value): void {
    calls.push(`set ${domain}/${key}`);
    take();
    nvs.delete(`${domain}/${key}`);
    nvs.set(`${domain}/${key}`, value instanceof ArrayBuffer ? value.slice(0) : value);
  },
  get(domain: string, key: string): Value | undefined {
    calls.push(`get ${domain}/${key}`);
    take();
    const value = nvs.get(`${domain}/${key}`);
    return value instanceof ArrayBuffer ? value.slice(0) : value;
  },
  delete(domain: string, key: string): void {
    calls.push(`delete ${domain}/${key}`);
    take();
    nvs.delete(`${domain}/${key}`);
  },
  keys(domain: string): string[] {
    calls.push(`keys ${domain}`);
    take();
    const prefix = `${domain}/`;
    return [...nvs.keys()].filter((name) => name.startsWith(prefix)).map((name) => name.slice(prefix.length));
  },
};

export default Preference;
