/** Moddable `Resource`: data named in the manifest; here one root certificate exists. */
export default class Resource {
  static present = new Set(["tencent-root-ca.der"]);
  constructor(readonly path: string) {
    if (!Resource.present.has(path)) throw new Error(`no resource ${path}`);
  }
  static exists(path: string): boolean {
    return Resource.present.has(path);
  }
}
