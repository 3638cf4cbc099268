import assert from 'node:assert/strict';
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
