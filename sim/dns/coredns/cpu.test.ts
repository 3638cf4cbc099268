import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../../engine/simulator.ts';
import { US } from '../../engine/time.ts';
import { CpuQueue } from './cpu.ts';

function run(cores: number, jobs: number, cost = 100 * US, buffer = 1000) {
  const sim = new Simulator({ seed: 1 });
  const cpu = new CpuQueue(sim, cores, buffer);
  const done: number[] = [];
  const accepted = Array.from({ length: jobs }, () => cpu.submit(cost, () => done.push(sim.now), true));
  sim.run();
  return { sim, cpu, done, accepted };
}

test('FIFO on whole cores: 2 cores finish 4 jobs of 100 us at 100, 100, 200, 200 us', () => {
  const { done, cpu, sim } = run(2, 4);
  assert.deepEqual(done, [100 * US, 100 * US, 200 * US, 200 * US]);
  assert.equal(cpu.busyNs, 400 * US);
  assert.equal(cpu.utilisation(sim.now), 1);
});

test('a fractional core is a slower worker: 0.5 core takes 200 us for 100 us of CPU, 1.5 cores run two workers at 0.75', () => {
  assert.deepEqual(run(0.5, 2).done, [200 * US, 400 * US]);
  const { done, cpu, sim } = run(1.5, 2);
  assert.deepEqual(done, [133_333, 133_333]);
  assert.ok(Math.abs(cpu.utilisation(sim.now) - 200 * US / (133_333 * 1.5)) < 1e-12);
});

test('the receive buffer bounds queries waiting for a core, not the ones on a core; other work is never refused', () => {
  const { accepted } = run(2, 6, 100 * US, 3);
  assert.deepEqual(accepted, [true, true, true, true, true, false]);
  const sim = new Simulator({ seed: 1 });
  const cpu = new CpuQueue(sim, 1, 0);
  assert.equal(cpu.submit(US, () => {}, true), true);
  assert.equal(cpu.submit(US, () => {}, true), false);
  assert.equal(cpu.submit(US, () => {}, false), true);
  assert.equal(cpu.queued, 1);
});

test('clear forgets running and waiting jobs: none calls back', () => {
  const sim = new Simulator({ seed: 1 });
  const cpu = new CpuQueue(sim, 1, 10);
  let calls = 0;
  for (let i = 0; i < 3; i++) cpu.submit(100 * US, () => calls++, true);
  sim.runFor(150 * US);
  cpu.clear();
  sim.run();
  assert.equal(calls, 1);
  assert.equal(cpu.queued, 0);
});
