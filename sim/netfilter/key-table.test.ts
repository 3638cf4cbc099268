import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KEY_ABSENT, KeyTable } from './key-table.ts';

test('KeyTable answers as the Map it was built from, for present and absent keys', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: -1000, max: 1 << 20 })), { maxLength: 300 }),
      fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 50 }),
      (pairs, probes) => {
        const m = new Map(pairs);
        const t = new KeyTable(m);
        for (const [k, v] of m) assert.equal(t.get(k), v);
        for (const k of probes) assert.equal(t.get(k), m.has(k) ? m.get(k) : KEY_ABSENT);
      },
    ),
    { seed: 3, numRuns: 300 },
  );
});

test('KeyTable: consecutive addresses (a ClusterIP range) and an empty table', () => {
  const m = new Map(Array.from({ length: 5000 }, (_, i) => [0x0a600000 + i, i] as [number, number]));
  const t = new KeyTable(m);
  for (let i = 0; i < 5000; i++) assert.equal(t.get(0x0a600000 + i), i);
  assert.equal(t.get(0x0a600000 + 5000), KEY_ABSENT);
  assert.equal(new KeyTable(new Map()).get(7), KEY_ABSENT);
});
