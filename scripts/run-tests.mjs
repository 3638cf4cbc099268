#!/usr/bin/env node
// Runs every *.test.ts in the project with node's test runner through tsx.
// Fails when a test fails, and also when there is no test at all: an empty suite proves nothing.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const roots = ['sim', 'bench', 'reports', 'scripts', 'bin', 'test'];
const skip = new Set(['node_modules', 'out', '.git']);
function walk(dir, found) {
  let entries;
  try { entries = readdirSync(dir); } catch { return found; }
  for (const name of entries.sort()) {
    if (skip.has(name)) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, found);
    else if (name.endsWith('.test.ts')) found.push(p);
  }
  return found;
}
const files = roots.flatMap((r) => walk(r, []));
const only = process.argv.slice(2);
const selected = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;
if (selected.length === 0) {
  console.error('run-tests: no *.test.ts files found' + (only.length ? ` matching ${only.join(' ')}` : ''));
  process.exit(1);
}
const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...selected], {
  stdio: 'inherit',
});
process.exit(res.status ?? 1);
