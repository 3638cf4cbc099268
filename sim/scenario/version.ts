import { readFileSync } from 'node:fs';

/**
 * svcsim's version, package.json's, as `svcsim -V` prints it and reports record it. Its own module
 * so that the command line's entry (sim/cli.ts) can print it without loading the scenario modules.
 */
let version: string | undefined;
export function svcsimVersion(): string {
  return (version ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version);
}
