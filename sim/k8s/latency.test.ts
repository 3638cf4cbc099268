import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../engine/simulator.ts';
import { MS } from '../engine/time.ts';
import { latency, ZERO_LATENCY } from './latency.ts';

test('latency: the control plane draws the numbers its own grammar drew before (seed 7)', () => {
  // Drawn by the former { constant: 20ms }, { uniform: [1ms, 10ms] }, { exponential: 30ms },
  // { lognormal: { median: 5ms, p99: 50ms } } (identical over 200,000 draws of each).
  const cases = [
    [latency({ kind: 'constant', value: 20 * MS }), [20000000, 20000000, 20000000]],
    [latency({ kind: 'uniform', min: 1 * MS, max: 10 * MS }), [1317690, 4656993, 2131914]],
    [latency({ kind: 'exponential', mean: 30 * MS }), [1078108, 15643081, 4032293]],
    [latency({ kind: 'lognormal', median: 5 * MS, p99: 50 * MS }), [3194478, 4568267, 3221656]],
  ] as const;
  for (const [l, want] of cases) {
    const rng = new Simulator({ seed: 7 }).rng('test/latency');
    assert.deepEqual([l.draw(rng), l.draw(rng), l.draw(rng)], want, l.describe);
  }
  assert.equal(ZERO_LATENCY.draw(new Simulator({ seed: 7 }).rng('x')), 0);
});
