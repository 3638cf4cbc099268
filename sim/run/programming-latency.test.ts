import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SECOND } from '../engine/time.ts';
import { NETWORK_PROGRAMMING_BUCKETS_S, ProgrammingLatency } from './programming-latency.ts';

test("the buckets are kube-proxy's: 0.25, 0.5, 1..59, 60..115 by 5, 120..300 by 30", () => {
  assert.equal(NETWORK_PROGRAMMING_BUCKETS_S.length, 2 + 59 + 12 + 7);
  assert.deepEqual(NETWORK_PROGRAMMING_BUCKETS_S.slice(0, 4), [0.25, 0.5, 1, 2]);
  assert.deepEqual(NETWORK_PROGRAMMING_BUCKETS_S.slice(60, 63), [59, 60, 65]);
  assert.deepEqual(NETWORK_PROGRAMMING_BUCKETS_S.slice(-2), [270, 300]);
});

test('buckets are cumulative counts of observations <= le; the per-node view picks the slowest node', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 400 * SECOND })), { minLength: 1, maxLength: 60 }), (obs) => {
      const p = new ProgrammingLatency(3);
      for (const [n, ns] of obs) p.record(n, ns);
      const f = p.figures();
      for (const b of NETWORK_PROGRAMMING_BUCKETS_S) assert.equal(f[`networkProgrammingLatency.bucket.le_${b}`], obs.filter(([, ns]) => ns / SECOND <= b).length, `le ${b}`);
      assert.equal(f['networkProgrammingLatency.bucket.le_+Inf'], obs.length);
      assert.ok(f['networkProgrammingLatency.nodeP99.max']! >= f['networkProgrammingLatency.nodeP99.p50']!);
    }),
  );
  const p = new ProgrammingLatency(2);
  for (let i = 0; i < 100; i++) p.record(0, SECOND / 10);
  p.record(1, 5 * SECOND);
  assert.equal(p.figures()['networkProgrammingLatency.bucket.le_0.25'], 100);
  assert.ok(p.figures()['networkProgrammingLatency.nodeP99.max']! > 4 * SECOND, 'node 1 is the slowest');
});
