import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from './simulator.ts';
import { MS } from './time.ts';
import { sampleNs, samplerOf, Z99, type Distribution } from './distribution.ts';

// Every run's outputs hang on these draws: the numbers are pinned (seed 7, one stream per kind).
const PINNED: [Distribution, number[]][] = [
  [{ kind: 'constant', value: 20 * MS }, [20000000, 20000000, 20000000, 20000000, 20000000]],
  [{ kind: 'uniform', min: 1 * MS, max: 10 * MS }, [1317690, 4656993, 2131914, 7962252, 1098356]],
  [{ kind: 'exponential', mean: 30 * MS }, [1078108, 15643081, 4032293, 44561386, 329657]],
  [{ kind: 'lognormal', median: 5 * MS, p99: 50 * MS }, [3194478, 4568267, 3221656, 6894798, 3761302]],
];

test('sampleNs: pinned draws of each kind', () => {
  for (const [d, want] of PINNED) {
    const rng = new Simulator({ seed: 7 }).rng('test/latency');
    assert.deepEqual(Array.from({ length: 5 }, () => sampleNs(d, rng)), want, d.kind);
  }
});

test('sampleNs: lognormal sigma is (ln p99 - ln median) / Z99, the form every run has drawn with', () => {
  // ln(p99 / median) differs from it in the last place here; the draws must not move.
  const sigma = (Math.log(50 * MS) - Math.log(5 * MS)) / Z99;
  const rng = new Simulator({ seed: 7 }).rng('test/latency');
  const ref = new Simulator({ seed: 7 }).rng('test/latency');
  const d: Distribution = { kind: 'lognormal', median: 5 * MS, p99: 50 * MS };
  for (let i = 0; i < 1000; i++) assert.equal(sampleNs(d, rng), Math.round(ref.lognormal(Math.log(5 * MS), sigma)));
});

test('samplerOf draws what sampleNs draws', () => {
  for (const [d] of PINNED) {
    const a = new Simulator({ seed: 9 }).rng('s');
    const b = new Simulator({ seed: 9 }).rng('s');
    const f = samplerOf(d);
    for (let i = 0; i < 100; i++) assert.equal(f(a), sampleNs(d, b));
  }
});
