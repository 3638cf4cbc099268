import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RandomStream } from '../engine/random.ts';
import { WeightedPorts } from './service-weights.ts';

test('a port of weight 0 is never picked; every pick is a port', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 9 })), { minLength: 1, maxLength: 12 }), fc.integer(), (weights, seed) => {
      fc.pre(weights.some((w) => w > 0));
      const w = new WeightedPorts(weights);
      const rng = new RandomStream(seed, 'test');
      for (let i = 0; i < 200; i++) {
        const k = w.pick(rng);
        assert.ok(k >= 0 && k < weights.length);
        assert.ok(weights[k]! > 0, `picked port ${k} of weight 0 in ${weights}`);
      }
    }),
  );
});

test('picks follow the weights', () => {
  const w = new WeightedPorts([3, 0, 1, 1.5, 1.5]);
  const rng = new RandomStream(7, 'test');
  const n = 70_000;
  const counts = [0, 0, 0, 0, 0];
  for (let i = 0; i < n; i++) counts[w.pick(rng)]!++;
  const expected = [3 / 7, 0, 1 / 7, 1.5 / 7, 1.5 / 7];
  counts.forEach((c, i) => assert.ok(Math.abs(c / n - expected[i]!) < 0.01, `port ${i}: ${c / n} vs ${expected[i]}`));
  assert.throws(() => new WeightedPorts([0, 0]), RangeError);
});
