import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RandomStream, RandomStreams } from './random.ts';

const draw = (s: RandomStream, n = 50) => Array.from({ length: n }, () => s.random());

test('a stream depends only on the seed and its name: adding streams changes nothing', () => {
  const a = new RandomStreams(42);
  const only = draw(a.get('proxy/node-7/statistic'));
  const b = new RandomStreams(42);
  draw(b.get('k8s/kubelet'));
  b.get('traffic/arrivals').exponential(5);
  const withOthers = draw(b.get('proxy/node-7/statistic'));
  assert.deepEqual(withOthers, only);
  assert.notDeepEqual(draw(new RandomStreams(43).get('proxy/node-7/statistic')), only);
  assert.notDeepEqual(draw(new RandomStreams(42).get('proxy/node-8/statistic')), only);
});

test('the same name gives the same stream object', () => {
  const s = new RandomStreams(1);
  assert.equal(s.get('x'), s.get('x'));
  assert.deepEqual(s.names(), ['x']);
});

test('distribution means are right within sampling error', () => {
  const s = new RandomStream(7, 'moments');
  const n = 200_000;
  const mean = (f: () => number) => {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += f();
    return sum / n;
  };
  const close = (got: number, want: number, tol: number) => assert.ok(Math.abs(got - want) < tol, `got ${got}, want ${want}`);
  close(mean(() => s.exponential(1000)), 1000, 10);
  close(mean(() => s.normal(5, 2)), 5, 0.02);
  close(mean(() => s.lognormal(0, 0.5)), Math.exp(0.125), 0.01);
  close(mean(() => s.pareto(1, 3)), 1.5, 0.02);
  close(mean(() => (s.bernoulli(0.3) ? 1 : 0)), 0.3, 0.005);
  close(mean(() => s.uniform(2, 4)), 3, 0.01);
  const ints = new Set(Array.from({ length: 1000 }, () => s.integer(1, 6)));
  assert.deepEqual([...ints].sort(), [1, 2, 3, 4, 5, 6]);
});

test('weighted choice follows the weights (chi-square, 3 degrees of freedom)', () => {
  const s = new RandomStream(3, 'weighted');
  const w = [1, 2, 3, 4];
  const counts = [0, 0, 0, 0];
  const n = 100_000;
  for (let i = 0; i < n; i++) counts[s.weightedIndex(w)]!++;
  let chi = 0;
  w.forEach((wi, i) => {
    const e = (n * wi) / 10;
    chi += (counts[i]! - e) ** 2 / e;
  });
  assert.ok(chi < 16.27, `chi-square ${chi} beyond the 0.001 critical value`);
  assert.equal(s.weightedChoice(['a', 'b'], [0, 1]), 'b');
  assert.throws(() => s.weightedIndex([0, 0]), /not all zero/);
});
