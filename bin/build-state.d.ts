// Types of build-state.js (plain JavaScript: bin/svcsim.js imports it before anything is compiled).
export declare const DIST_DIR: string;
export declare const MANIFEST: string;
export declare const MANIFEST_SCHEMA: number;
export interface InputRecord {
  size: number;
  mtimeMs: number;
  sha256: string;
}
export type BuildState = { state: 'fresh' } | { state: 'missing' } | { state: 'stale'; reason: string };
export declare function inputRecord(root: string, path: string): Promise<InputRecord>;
export declare function buildState(root: string): Promise<BuildState>;
