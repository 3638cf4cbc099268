import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_COSTS, withCosts } from '../cost/cost-model.ts';
import { crossCpuProbability, natToConfirmNs, raceTiming, raceWindowNs, SAME_THREAD_CROSS_CPU } from './clash-timing.ts';

test('the window: the measured base plus the first packet\'s rule walk', () => {
  assert.equal(raceWindowNs(DEFAULT_COSTS), 2_400);
  assert.equal(raceWindowNs(DEFAULT_COSTS, 1_000), 3_400);
  assert.equal(raceWindowNs(withCosts(DEFAULT_COSTS, { conntrackRaceWindowNs: 10 }), -5), 10);
  assert.equal(natToConfirmNs(DEFAULT_COSTS), DEFAULT_COSTS.hookNs);
});

test('race timing: one CPU or a window apart is no race; within it, the first confirms before the second\'s NAT step unless they are a hook apart', () => {
  assert.equal(raceTiming(0, false, 2_400, 150), 'apart');
  assert.equal(raceTiming(2_400, true, 2_400, 150), 'apart');
  assert.equal(raceTiming(-2_400, true, 2_400, 150), 'apart');
  assert.equal(raceTiming(2_399, true, 2_400, 150), 'overlap-first-confirmed');
  assert.equal(raceTiming(151, true, 2_400, 150), 'overlap-first-confirmed');
  assert.equal(raceTiming(150, true, 2_400, 150), 'overlap');
  assert.equal(raceTiming(-20, true, 2_400, 150), 'overlap');
  assert.equal(raceTiming(0, true, 2_400, 150), 'overlap');
});

test('cross-CPU probability: threads on n CPUs differ 1 - 1/n; one thread\'s pair only as measured; one CPU never', () => {
  assert.equal(crossCpuProbability('threads', 2), 0.5);
  assert.equal(crossCpuProbability('threads', 8), 0.875);
  assert.equal(crossCpuProbability('one-thread', 8), SAME_THREAD_CROSS_CPU);
  assert.equal(SAME_THREAD_CROSS_CPU, 3 / 9000);
  assert.equal(crossCpuProbability('one-thread', 8, 0.1), 0.1);
  assert.equal(crossCpuProbability('threads', 1), 0);
  assert.equal(crossCpuProbability('one-thread', 1, 1), 0);
  assert.throws(() => crossCpuProbability('threads', 0), /cpus must be an integer >= 1, got 0/);
  assert.throws(() => crossCpuProbability('threads', 2.5), RangeError);
  assert.throws(() => crossCpuProbability('one-thread', 4, 1.5), /sameThread must be a probability/);
});

test('property: the timing depends on the gap\'s size only, and a wider window never turns a race into none', () => {
  fc.assert(
    fc.property(fc.integer({ min: -1e6, max: 1e6 }), fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 0, max: 1e3 }), (gap, w, extra, hook) => {
      assert.equal(raceTiming(gap, true, w, hook), raceTiming(-gap, true, w, hook));
      if (raceTiming(gap, true, w, hook) !== 'apart') assert.notEqual(raceTiming(gap, true, w + extra, hook), 'apart');
    }),
  );
});
