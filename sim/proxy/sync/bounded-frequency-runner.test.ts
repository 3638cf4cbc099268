import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../../engine/simulator.ts';
import { MS, SECOND, HOUR } from '../../engine/time.ts';
import { BoundedFrequencyRunner, type SyncJob } from './bounded-frequency-runner.ts';

function harness(opts: { duration?: number; fail?: (n: number) => boolean } = {}) {
  const sim = new Simulator();
  const starts: number[] = [];
  const ends: [number, boolean][] = [];
  const job: SyncJob = {
    start: (now) => {
      starts.push(now);
      return { durationNs: opts.duration ?? 100 * MS, ok: !(opts.fail?.(starts.length) ?? false) };
    },
    finish: (now, ok) => ends.push([now, ok]),
  };
  const runner = new BoundedFrequencyRunner(sim, { minInterval: SECOND, retryInterval: 30 * SECOND, maxInterval: HOUR }, job);
  runner.loop();
  return { sim, runner, starts, ends };
}

test('an idle runner syncs at once; a burst of 100 changes within minSyncPeriod gives one more sync', () => {
  const { sim, runner, starts } = harness();
  sim.scheduleAt(0, () => runner.run());
  // 100 endpoint changes spread over 900ms, during the first sync and its cool-down.
  for (let i = 0; i < 100; i++) sim.scheduleAt(10 * MS + i * 9 * MS, () => runner.run());
  sim.run(10 * SECOND);
  // The first sync ends at 100ms; the next may start minInterval (1s) after that end.
  assert.deepEqual(starts, [0, 1100 * MS]);
});

test('minInterval counts from the end of a sync, not its start', () => {
  const { sim, runner, starts } = harness({ duration: 700 * MS });
  sim.scheduleAt(0, () => runner.run());
  sim.scheduleAt(200 * MS, () => runner.run());
  sim.run(5 * SECOND);
  assert.deepEqual(starts, [0, 1700 * MS]);
});

test('a failed sync is retried after retryInterval; a success in between cancels the retry', () => {
  const { sim, runner, starts, ends } = harness({ fail: (n) => n === 1 });
  sim.scheduleAt(0, () => runner.run());
  sim.run(40 * SECOND);
  assert.deepEqual(starts, [0, 30 * SECOND + 100 * MS]);
  assert.deepEqual(ends.map((e) => e[1]), [false, true]);
  assert.equal(runner.failures, 1);
});

test('with no requests the runner still syncs once per maxInterval', () => {
  const { sim, starts } = harness();
  sim.run(3 * HOUR + SECOND);
  assert.deepEqual(starts, [HOUR, 2 * HOUR + 100 * MS, 3 * HOUR + 200 * MS]);
});
