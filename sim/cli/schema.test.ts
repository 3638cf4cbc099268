import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { scenarioSchemaText } from './schema.ts';

const ROOT = join(import.meta.dirname, '..', '..');

test('the committed scenario.schema.json, which every study names, is what `svcsim schema` prints now', () => {
  const committed = readFileSync(join(ROOT, 'scenario.schema.json'), 'utf8');
  assert.ok(
    committed === scenarioSchemaText(),
    'scenario.schema.json is out of date with sim/scenario/schema.ts: run `npx svcsim schema > scenario.schema.json` and commit it',
  );
});

test('every study points its editor at the committed schema', () => {
  for (const f of ['quickstart', 'rule-scaling', 'pod-churn', 'conntrack-pressure']) {
    const first = readFileSync(join(ROOT, 'scenarios', `${f}.yaml`), 'utf8').split('\n')[0];
    assert.equal(first, '# yaml-language-server: $schema=../scenario.schema.json', f);
  }
});

test('`svcsim schema` into a shell pipe prints the whole schema (exit waits for stdout to drain)', () => {
  // As `npx svcsim schema | jq` runs it: bin/svcsim.js's child writes to the shell's pipe, which the
  // parent node made non-blocking, so process.exit used to drop all but the first 64 KiB.
  const bin = join(ROOT, 'bin', 'svcsim.js');
  const r = spawnSync('sh', ['-c', `"${process.execPath}" "${bin}" schema | wc -c`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(Number(r.stdout.trim()), Buffer.byteLength(scenarioSchemaText()));
});
