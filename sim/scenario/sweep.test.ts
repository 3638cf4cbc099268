import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { expandGrid, planRuns, runSeed } from './sweep.ts';

test('no parameters: one empty point', () => {
  assert.deepEqual(expandGrid([]), [{}]);
});

test('the grid has the product of the value counts, every combination once', () => {
  fc.assert(
    fc.property(fc.array(fc.uniqueArray(fc.integer(), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 }), (lists) => {
      const params = lists.map((values, i) => [`p${i}`, values] as const);
      const grid = expandGrid(params);
      assert.equal(grid.length, lists.reduce((n, l) => n * l.length, 1));
      assert.equal(new Set(grid.map((p) => JSON.stringify(p))).size, grid.length);
      // The last parameter varies fastest.
      const last = params[params.length - 1]!;
      assert.deepEqual(
        grid.slice(0, last[1].length).map((p) => p[last[0]]),
        last[1],
      );
    }),
  );
});

test('runs are numbered point by point with replications innermost', () => {
  const runs = planRuns([{ mode: 'iptables' }, { mode: 'ipvs' }], 3, 1);
  assert.deepEqual(
    runs.map((r) => [r.index, r.pointIndex, r.replication]),
    [
      [0, 0, 0],
      [1, 0, 1],
      [2, 0, 2],
      [3, 1, 0],
      [4, 1, 1],
      [5, 1, 2],
    ],
  );
});

test("a run's seed depends only on the master seed, its parameter values and its replication", () => {
  // Pinned: changing the rule changes every published result, so it must be a deliberate act.
  assert.equal(runSeed(1, { mode: 'iptables', services: 100 }, 0), runSeed(1, { services: 100, mode: 'iptables' }, 0));
  // First 48 bits of sha256('svcsim/run-seed/v1\n1\n{"mode":"iptables","services":100}\n0').
  assert.equal(runSeed(1, { mode: 'iptables', services: 100 }, 0), 234481719271699);
  const small = planRuns([{ mode: 'ipvs' }], 2, 42);
  const large = planRuns([{ mode: 'iptables' }, { mode: 'ipvs' }, { mode: 'nftables' }], 2, 42);
  assert.deepEqual(
    small.map((r) => r.seed),
    large.filter((r) => r.point.mode === 'ipvs').map((r) => r.seed),
    'adding sweep values does not change the seeds of the other runs',
  );
  assert.notEqual(runSeed(1, { mode: 'ipvs' }, 0), runSeed(2, { mode: 'ipvs' }, 0));
  assert.notEqual(runSeed(1, { mode: 'ipvs' }, 0), runSeed(1, { mode: 'ipvs' }, 1));
  assert.notEqual(runSeed(1, { services: 100 }, 0), runSeed(1, { services: '100' }, 0), 'the value type is part of the point');
  fc.assert(
    fc.property(fc.nat(), fc.string(), fc.nat(100), (seed, mode, rep) => {
      const s = runSeed(seed, { mode }, rep);
      assert.ok(Number.isSafeInteger(s) && s >= 0 && s < 2 ** 48);
    }),
  );
});
