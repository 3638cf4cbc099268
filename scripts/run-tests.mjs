#!/usr/bin/env node
// Runs every *.test.ts under the current directory's sim/, bench/, reports/, scripts/, bin/ and test/
// with node's test runner through tsx; arguments keep only the files whose path contains one of them.
// Fails when a test fails, and also when no test ran at all (no file, empty files, everything
// skipped): an empty suite proves nothing, yet node's runner exits 0 for it. The count comes from a
// second reporter (count-tests-reporter.mjs) written to a temporary file beside the spec output.
import { readdirSync, statSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';

const roots = ['sim', 'calibrate', 'bench', 'reports', 'scripts', 'bin', 'test'];
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
// tsx and the counting reporter are this package's, resolved from this file, not from the cwd.
const tsx = import.meta.resolve('tsx');
const counter = import.meta.resolve('./count-tests-reporter.mjs');
const tmp = mkdtempSync(join(tmpdir(), 'svcsim-run-tests-'));
const countFile = join(tmp, 'count.json');
let status;
let count;
try {
  const res = spawnSync(process.execPath, [
    '--import', tsx, '--test',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    `--test-reporter=${counter}`, `--test-reporter-destination=${countFile}`,
    ...selected,
  ], { stdio: 'inherit' });
  status = res.status ?? 1;
  try { count = JSON.parse(readFileSync(countFile, 'utf8')); } catch { count = undefined; }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
if (status !== 0) process.exit(status);
if (!count) {
  console.error('run-tests: the test runner reported no count; treating the run as failed');
  process.exit(1);
}
if (count.ran === 0) {
  console.error(`run-tests: no test ran in ${selected.length} file(s) (${count.skipped} skipped or todo); an empty run proves nothing`);
  process.exit(1);
}
process.exit(0);
