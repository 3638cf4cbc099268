import { test } from 'node:test';
import assert from 'node:assert/strict';
import { observeProbe, type NodeHealth } from './node-health.ts';

function run(start: NodeHealth, results: boolean[], healthy: number, unhealthy: number): boolean[] {
  const out: boolean[] = [];
  let s = start;
  for (const r of results) {
    s = observeProbe(s, r, healthy, unhealthy);
    out.push(s.healthy);
  }
  return out;
}

test('a healthy node turns unhealthy after `unhealthyThreshold` failures in a row', () => {
  assert.deepEqual(run({ healthy: true, streak: 0 }, [false, false, false], 1, 3), [true, true, false]);
  assert.deepEqual(run({ healthy: true, streak: 0 }, [false], 1, 1), [false]);
});

test('a success between failures resets the run', () => {
  assert.deepEqual(run({ healthy: true, streak: 0 }, [false, false, true, false, false, false], 1, 3), [true, true, true, true, true, false]);
});

test('an unhealthy node comes back after `healthyThreshold` successes in a row', () => {
  assert.deepEqual(run({ healthy: false, streak: 0 }, [true, false, true, true], 2, 2), [false, false, false, true]);
  assert.deepEqual(run({ healthy: false, streak: 0 }, [true], 1, 3), [true]);
});

test('a result that agrees with the state keeps the same object when nothing is counted', () => {
  const s: NodeHealth = { healthy: true, streak: 0 };
  assert.equal(observeProbe(s, true, 1, 3), s);
});
