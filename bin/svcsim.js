#!/usr/bin/env node
// `npx svcsim ...`: runs the TypeScript CLI through tsx, so there is no build step to forget.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
const root = dirname(dirname(fileURLToPath(import.meta.url)));
const res = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'sim', 'cli.ts'), ...process.argv.slice(2)], {
  stdio: 'inherit',
});
process.exit(res.status ?? 1);
