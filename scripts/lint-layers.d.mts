/** Types of lint-layers.mjs (plain JavaScript so that it runs with node alone). */
export declare const ROOT: string;
export declare const LAYER_FOLDERS: string[];

export interface LayerViolation {
  /** The rule's name in .dependency-cruiser.cjs. */
  rule: string;
  /** The importing module, relative to the root. */
  from: string;
  /** The imported module: a path relative to the root, or the name it was imported by when unresolved. */
  to: string;
  /** For no-circular: the modules of the circle. */
  cycle?: string[];
}

export interface LayerCruise {
  violations: LayerViolation[];
  /** Every module cruised, relative to the root. */
  modules: string[];
  /** dependency-cruiser's "err-long" report. */
  report: string;
}

export declare function cruiseLayers(options?: { root?: string; configFile?: string; folders?: string[] }): Promise<LayerCruise>;
