import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { scenarioFileJsonSchema } from './file-json-schema.ts';
import { scenarioJsonSchema } from './schema.ts';

const SCENARIOS = join(import.meta.dirname, '..', '..', 'scenarios');

function validator(schema: Record<string, unknown>) {
  return new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema);
}

const check = validator(scenarioFileJsonSchema());

test('every shipped study is valid against the exported JSON Schema (what an editor checks)', () => {
  const files = readdirSync(SCENARIOS).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 4);
  for (const f of files) {
    const doc = parse(readFileSync(join(SCENARIOS, f), 'utf8'));
    assert.ok(check(doc), `${f}: ${JSON.stringify(check.errors, null, 1)}`);
  }
});

test('the schema after substitution (the zod schema as is) refuses the studies\' ${param} fields: the file schema is needed', () => {
  const plain = validator(scenarioJsonSchema());
  const doc = parse(readFileSync(join(SCENARIOS, 'quickstart.yaml'), 'utf8'));
  assert.equal(plain(doc), false);
  assert.ok(plain.errors!.some((e) => e.instancePath === '/cluster/services/count'));
});

const base = { name: 'x', question: 'q?', cluster: { services: { count: 10, endpointsPerService: 2 } } };

test('a reference is accepted wherever a scalar goes, whole or inside text', () => {
  for (const doc of [
    { ...base, cluster: { services: { count: '${n}', endpointsPerService: 2 } }, sweep: { n: [1, 2] } },
    { ...base, proxy: { minSyncPeriod: '${p}s', conntrack: { max: '${max}' } } },
    { ...base, controlPlane: { watchLatency: '${w}' } },
    { ...base, churn: [{ kind: '${kind}', gracefulTermination: '${g}' }] },
    { ...base, seed: '${seed}' },
  ]) assert.ok(check(doc), `${JSON.stringify(doc)}: ${JSON.stringify(check.errors)}`);
});

test('without a reference the file schema still checks types, enums, patterns and unknown keys', () => {
  for (const doc of [
    { ...base, seed: 'seven' },
    { ...base, proxy: { mode: 'bpf' } },
    { ...base, proxy: { minSyncPeriod: '1' } },
    { ...base, proxy: { minSyncPerod: '1s' } },
    { ...base, cluster: { services: { count: '$services', endpointsPerService: 2 } } },
    // sweep lists are not substituted, so a reference there is not a value
    { ...base, sweep: { n: '${n}' } },
    // an object field cannot be a swept scalar
    { ...base, proxy: '${proxy}' },
  ]) assert.equal(check(doc), false, JSON.stringify(doc));
});
