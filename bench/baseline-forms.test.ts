import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FULL_BASELINE, QUICK_BASELINE } from './check.ts';
import { loadSuite, suiteFiles } from './discover.ts';
import { parseResults } from './results.ts';

/**
 * The gate fails on a baseline task the run does not produce (bench/regression.ts), so a baseline
 * must hold exactly the tasks of its form: a stale task would fail every run, and a task left out
 * would never be judged.
 */
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

async function taskNames(quick: boolean): Promise<string[]> {
  const names: string[] = [];
  for (const file of suiteFiles(here)) names.push(...(await loadSuite(file)).suite.tasks({ quick }).map((t) => t.name));
  return names.sort();
}

function baselineNames(file: string, quick: boolean): string[] {
  const b = parseResults(readFileSync(join(root, file), 'utf8'), file);
  assert.equal(b.quick, quick, `${file} is a ${b.quick ? 'quick' : 'full'}-form file`);
  assert.equal(b.filter, undefined, `${file} was written from a --filter run`);
  assert.deepEqual(b.errors, [], `${file} holds errors`);
  return b.tasks.map((t) => t.name).sort();
}

test('bench/baseline-quick.json holds exactly the tasks of the quick form', async () => {
  assert.deepEqual(baselineNames(QUICK_BASELINE, true), await taskNames(true));
});

test('bench/baseline.json holds no task the full form does not run', async () => {
  const form = new Set(await taskNames(false));
  assert.deepEqual(baselineNames(FULL_BASELINE, false).filter((n) => !form.has(n)), []);
});
