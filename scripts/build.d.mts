// Types of build.mjs (plain JavaScript, so that `npm ci`'s prepare needs nothing but node).
export interface BuildResult {
  inputs: string[];
  outputs: string[];
  metafile: {
    inputs: Record<string, unknown>;
    outputs: Record<string, { imports: { path: string; kind: string; external?: boolean }[]; inputs: Record<string, unknown>; entryPoint?: string }>;
  };
}
export declare function build(options?: { outdir?: string; log?: (line: string) => void }): Promise<BuildResult>;
export declare function loadEsbuild(): Promise<typeof import('esbuild')>;
