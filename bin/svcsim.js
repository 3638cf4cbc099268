#!/usr/bin/env node
// `npx svcsim ...`: runs the TypeScript CLI through tsx, so there is no build step to forget.
// tsx is resolved from this package (import.meta.resolve, relative to this file), not from the
// current directory: `--import tsx` alone makes node look for node_modules/tsx under the cwd, which
// fails for `npx svcsim` or a global `npm link` run from anywhere outside the repository.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
const root = dirname(dirname(fileURLToPath(import.meta.url)));
const tsx = import.meta.resolve('tsx');
const res = spawnSync(process.execPath, ['--import', tsx, join(root, 'sim', 'cli.ts'), ...process.argv.slice(2)], {
  stdio: 'inherit',
});
process.exit(res.status ?? 1);
