import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Simulator } from './simulator.ts';
import type { QueueKind } from './event-queue.ts';

const kinds: QueueKind[] = ['radix', 'heap4', 'fastpriorityqueue'];

for (const queue of kinds) {
  test(`[${queue}] events run in (time, scheduling order)`, () => {
    const sim = new Simulator({ queue });
    const log: string[] = [];
    const rec = (name: string) => log.push(`${sim.now}:${name}`);
    sim.schedule(10, rec, 'b');
    sim.schedule(5, rec, 'a');
    sim.schedule(10, rec, 'c');
    sim.schedule(0, rec, 'z');
    sim.run();
    assert.deepEqual(log, ['0:z', '5:a', '10:b', '10:c']);
  });

  test(`[${queue}] a cancelled event never runs; a stale handle cancels nothing`, () => {
    const sim = new Simulator({ queue });
    const log: number[] = [];
    const h1 = sim.schedule(1, (x: number) => log.push(x), 1);
    const h2 = sim.schedule(2, (x: number) => log.push(x), 2);
    assert.equal(sim.pending, 2);
    assert.equal(sim.cancel(h1), true);
    assert.equal(sim.cancel(h1), false);
    assert.equal(sim.pending, 1);
    sim.run();
    assert.deepEqual(log, [2]);
    // h2 ran; its slot is reused by the next event, which h2 must not cancel.
    const h3 = sim.schedule(1, (x: number) => log.push(x), 3);
    assert.equal(sim.cancel(h2), false);
    assert.equal(sim.isPending(h3), true);
    sim.run();
    assert.deepEqual(log, [2, 3]);
  });

  test(`[${queue}] run(until) runs events at or before until and leaves the clock there`, () => {
    const sim = new Simulator({ queue });
    const log: number[] = [];
    for (const t of [5, 10, 15]) sim.scheduleAt(t, () => log.push(sim.now));
    sim.run(10);
    assert.deepEqual(log, [5, 10]);
    assert.equal(sim.now, 10);
    sim.run(12);
    assert.equal(sim.now, 12);
    sim.run();
    assert.deepEqual(log, [5, 10, 15]);
  });

  test(`[${queue}] stop() ends the run after the current event`, () => {
    const sim = new Simulator({ queue });
    const log: number[] = [];
    sim.schedule(1, () => { log.push(1); sim.stop(); });
    sim.schedule(2, () => log.push(2));
    sim.run();
    assert.deepEqual(log, [1]);
    assert.equal(sim.now, 1);
    sim.run();
    assert.deepEqual(log, [1, 2]);
  });

  test(`[${queue}] random workloads pop in exactly (time, seq) order, cancels excluded`, () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ t: fc.integer({ min: 0, max: 50 }), cancel: fc.boolean() }), { maxLength: 300 }),
        (ops) => {
          const sim = new Simulator({ queue });
          const ran: number[] = [];
          const handles = ops.map((op, i) => sim.scheduleAt(op.t, (k: number) => ran.push(k), i));
          ops.forEach((op, i) => op.cancel && sim.cancel(handles[i]!));
          sim.run();
          const expected = ops
            .map((op, i) => ({ ...op, i }))
            .filter((op) => !op.cancel)
            .sort((a, b) => a.t - b.t || a.i - b.i)
            .map((op) => op.i);
          assert.deepEqual(ran, expected);
        },
      ),
    );
  });
}

test('scheduling into the past is refused', () => {
  const sim = new Simulator();
  sim.run(100);
  assert.throws(() => sim.scheduleAt(50, () => {}), /before now/);
  assert.throws(() => sim.schedule(-1, () => {}), /delay must be >= 0/);
});

test('two runs of the same random workload give identical event traces', () => {
  const trace = (seed: number) => {
    const sim = new Simulator({ seed });
    const rng = sim.rng('workload');
    const out: string[] = [];
    let n = 0;
    const tick = (id: number) => {
      out.push(`${sim.now}:${id}`);
      if (++n < 2000) {
        const h = sim.schedule(Math.floor(rng.exponential(100)), tick, id);
        if (rng.bernoulli(0.1)) sim.cancel(h);
        sim.schedule(Math.floor(rng.exponential(100)), tick, id + 1);
      }
    };
    for (let i = 0; i < 20; i++) sim.schedule(i, tick, i * 1000);
    sim.run(1_000_000);
    return out.join('\n');
  };
  assert.equal(trace(7), trace(7));
  assert.notEqual(trace(7), trace(8));
});
