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
  assert.throws(() => sim.scheduleAt(50, () => {}), /scheduleAt: time must be not before now \(100\), got 50/);
  assert.throws(() => sim.schedule(-1, () => {}), /schedule: delay must be >= 0 ns, got -1/);
});

test('the time contract: whole, finite, exact nanoseconds, else a RangeError saying what was wrong', () => {
  const sim = new Simulator();
  sim.run(100);
  const bad: [() => unknown, RegExp][] = [
    [() => sim.schedule(1.5, () => {}), /^RangeError: schedule: delay must be a whole number of ns, got 1.5/],
    [() => sim.schedule(NaN, () => {}), /^RangeError: schedule: delay must be a number of ns, got NaN/],
    [() => sim.schedule(Infinity, () => {}), /^RangeError: schedule: delay must be finite, got Infinity/],
    [() => sim.schedule(-Infinity, () => {}), /delay must be >= 0 ns, got -Infinity/],
    [() => sim.schedule(-0.5, () => {}), /delay must be >= 0 ns, got -0.5/],
    [() => sim.schedule(Number.MAX_SAFE_INTEGER, () => {}), /delay must be at most 9007199254740891 ns from now \(100\)/],
    [() => sim.schedule('5' as unknown as number, () => {}), /delay must be a number of ns, got string/],
    [() => sim.scheduleAt(100.25, () => {}), /^RangeError: scheduleAt: time must be a whole number of ns, got 100.25/],
    [() => sim.scheduleAt(NaN, () => {}), /time must be a number of ns, got NaN/],
    [() => sim.scheduleAt(Infinity, () => {}), /time must be finite, got Infinity/],
    [() => sim.scheduleAt(2 ** 53, () => {}), /time must be at most 2\^53 - 1 ns/],
    [() => sim.scheduleAt(99, () => {}), /time must be not before now \(100\), got 99/],
  ];
  for (const [call, message] of bad) assert.throws(call, (e: unknown) => e instanceof RangeError && message.test(String(e)));
  // Nothing was queued by the refused calls; the edges of the contract are accepted.
  assert.equal(sim.pending, 0);
  sim.schedule(0, () => {});
  sim.schedule(-0, () => {});
  sim.scheduleAt(100, () => {});
  sim.scheduleAt(Number.MAX_SAFE_INTEGER, () => {});
  sim.schedule(Number.MAX_SAFE_INTEGER - 100, () => {});
  assert.equal(sim.pending, 5);
  sim.run();
  assert.equal(sim.now, Number.MAX_SAFE_INTEGER);
});

test('any whole delay within range is accepted and runs at now + delay (fast-check)', () => {
  fc.assert(
    fc.property(fc.nat({ max: 1e9 }), fc.nat({ max: Number.MAX_SAFE_INTEGER - 1e9 }), (start, delay) => {
      const sim = new Simulator();
      sim.run(start);
      let at = -1;
      sim.schedule(delay, () => (at = sim.now));
      sim.run();
      assert.equal(at, start + delay);
    }),
  );
});

for (const queue of kinds) {
  test(`[${queue}] cancelled events never run and the rest keep their order, across compactions (fast-check)`, () => {
    let compactions = 0;
    fc.assert(
      fc.property(
        // Three in four cancelled, so long arrays pass the compaction threshold (over 1024 cancelled
        // and more than live), some several times.
        fc.array(fc.record({ delay: fc.nat({ max: 50 }), cancel: fc.nat({ max: 3 }).map((x) => x > 0), also: fc.nat({ max: 30 }) }), { minLength: 1, maxLength: 4000, size: 'max' }),
        (ops) => {
          const sim = new Simulator({ queue });
          const ran: number[] = [];
          const expected: { time: number; i: number }[] = [];
          const handles: number[] = [];
          ops.forEach((op, i) => {
            handles.push(sim.schedule(op.delay, (x: number) => ran.push(x), i));
            if (!op.cancel) expected.push({ time: op.delay, i });
            // Cancel this one and, now and then, an earlier one (whose handle may already be stale).
            if (op.cancel) assert.equal(sim.cancel(handles[i]!), true);
            const j = i - op.also;
            if (j >= 0 && j !== i && !ops[j]!.cancel && op.also % 7 === 0) {
              if (sim.cancel(handles[j]!)) {
                const k = expected.findIndex((e) => e.i === j);
                expected.splice(k, 1);
              }
            }
          });
          assert.equal(sim.pending, expected.length);
          compactions += sim.compactions;
          sim.run();
          expected.sort((a, b) => a.time - b.time || a.i - b.i);
          assert.deepEqual(ran, expected.map((e) => e.i));
        },
      ),
      { numRuns: 60 },
    );
    assert.ok(compactions > 0, 'no run compacted');
  });

  test(`[${queue}] a cancel-heavy workload keeps the queue bounded by the live events (by count)`, () => {
    // Like conntrack's timeout or kube-proxy's sync timers: each of L live timers is re-armed (cancel
    // and schedule again, far ahead) on every one of many short events.
    const L = 500;
    const sim = new Simulator({ queue, seed: 3 });
    const rng = sim.rng('test/rearm');
    const timers: number[] = [];
    let fired = 0;
    const timeout = () => fired++;
    for (let i = 0; i < L; i++) timers.push(sim.schedule(1e12, timeout));
    let maxQueued = 0;
    let steps = 0;
    const packet = () => {
      const i = Math.floor(rng.random() * L);
      assert.equal(sim.cancel(timers[i]!), true);
      timers[i] = sim.schedule(1e12, timeout);
      maxQueued = Math.max(maxQueued, sim.queued);
      if (++steps < 200_000) sim.schedule(1 + Math.floor(rng.exponential(100)), packet);
    };
    sim.schedule(0, packet);
    sim.run(1e11);
    assert.equal(steps, 200_000);
    assert.equal(fired, 0);
    assert.equal(sim.pending, L);
    // Cancelled entries never exceed the live ones by more than the compaction floor (1024).
    assert.ok(maxQueued <= 2 * (L + 1) + 1024, `queue reached ${maxQueued} entries for ${L + 1} live events`);
    assert.ok(sim.compactions > 0);
    // Without compaction every re-arm would stay queued.
    const lazy = new Simulator({ queue, compactCancelled: false });
    for (let i = 0; i < 5000; i++) lazy.cancel(lazy.schedule(1e12, timeout));
    assert.equal(lazy.queued, 5000);
  });
}

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
