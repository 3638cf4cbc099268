/**
 * Finds the benchmark suites: every bench/*.bench.ts whose default export is a BenchSuite
 * (bench/suite.ts). Files are loaded in name order so runs are comparable.
 */
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BenchSuite } from './suite.ts';

export interface LoadedSuite {
  file: string;
  suite: BenchSuite;
}

export function suiteFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.bench.ts'))
    .sort()
    .map((f) => join(dir, f));
}

export async function loadSuite(file: string): Promise<LoadedSuite> {
  const mod = (await import(pathToFileURL(resolve(file)).href)) as { default?: unknown };
  const s = mod.default as Partial<BenchSuite> | undefined;
  if (!s || typeof s !== 'object' || typeof s.name !== 'string' || typeof s.tasks !== 'function') {
    throw new Error(`${file}: expected a default export { name: string, tasks(options) } (bench/suite.ts BenchSuite)`);
  }
  return { file, suite: s as BenchSuite };
}
