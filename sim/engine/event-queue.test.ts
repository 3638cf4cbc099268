import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { EventQueue } from './event-queue.ts';
import { RadixHeapQueue } from './radix-heap-queue.ts';
import { QuaternaryHeapQueue } from './quaternary-heap-queue.ts';
import { FastPriorityQueueQueue } from './fast-priority-queue-queue.ts';

const queues: [string, () => EventQueue][] = [
  ['radix', () => new RadixHeapQueue(2)],
  // Two events per chunk: pushes, spreads and retain cross chunk boundaries all the time.
  ['radix (2-event chunks)', () => new RadixHeapQueue(1, 1)],
  ['heap4', () => new QuaternaryHeapQueue(2)],
  ['fastpriorityqueue', () => new FastPriorityQueueQueue()],
];

// How the simulator drives a queue: pushes at times >= now (now = time of the last pop), peeks that
// may look past now without popping (run(until) stopping short), pops. Delays mix equal times,
// nanoseconds, fractions, and jumps across powers of two up to 2^52, so every digit of the radix
// heap's key and the early-event path are exercised.
const delay = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 1, max: 20 }),
  fc.integer({ min: 1, max: 5000 }),
  fc.double({ min: 0, max: 100, noNaN: true }),
  fc.integer({ min: 0, max: 52 }).map((k) => 2 ** k),
  fc.constant(-0),
);
const op = fc.oneof(
  { weight: 5, arbitrary: delay.map((d) => ({ kind: 'push' as const, d })) },
  { weight: 3, arbitrary: fc.constant({ kind: 'pop' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'peek' as const }) },
  // Keep the slots whose value mod `m` is not `r` (the simulator drops cancelled events this way).
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('retain' as const), m: fc.integer({ min: 1, max: 4 }), r: fc.nat({ max: 3 }) }) },
);

for (const [name, make] of queues) {
  test(`[${name}] pops in (time, scheduling order) under any monotone workload`, () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const q = make();
        const model: { time: number; seq: number }[] = [];
        let now = 0;
        let seq = 0;
        const drain = () => {
          model.sort((a, b) => a.time - b.time || a.seq - b.seq);
          const want = model.shift()!;
          const t = q.peekTime();
          assert.ok(t === want.time, `peekTime ${t}, want ${want.time}`); // === : -0 and 0 are one time
          assert.equal(q.pop(), want.seq);
          now = want.time;
        };
        for (const o of ops) {
          if (o.kind === 'push') {
            const time = Object.is(o.d, -0) && now === 0 ? -0 : now + o.d;
            model.push({ time, seq });
            q.push(time, seq, seq); // the slot is the sequence number, to check the order
            seq++;
          } else if (o.kind === 'retain') {
            const keep = (slot: number) => slot % o.m !== o.r;
            q.retain(keep);
            for (let i = model.length - 1; i >= 0; i--) if (!keep(model[i]!.seq)) model.splice(i, 1);
          } else if (model.length === 0) {
            continue;
          } else if (o.kind === 'pop') {
            drain();
          } else {
            // Look at the next event without taking it; now stays where it is.
            const t = q.peekTime();
            assert.ok(t === Math.min(...model.map((m) => m.time)), `peekTime ${t}`);
          }
          assert.equal(q.size, model.length);
        }
        while (model.length > 0) drain();
        assert.equal(q.size, 0);
      }),
      { numRuns: 300 },
    );
  });
}

test('[radix] events scheduled between now and a peeked next event run first, in order', () => {
  const q = new RadixHeapQueue();
  q.push(100, 0, 0);
  assert.equal(q.peekTime(), 100); // the radix heap now keys from 100
  q.push(50, 1, 1);
  q.push(50, 2, 2);
  q.push(100, 3, 3);
  q.push(20, 4, 4);
  const out: number[] = [];
  while (q.size > 0) out.push(q.pop());
  assert.deepEqual(out, [4, 1, 2, 0, 3]);
});

test('[radix] events before the sorted run go inside it, in front of it, or ahead of it, in order', () => {
  const q = new RadixHeapQueue();
  // Three events a few ns apart form a small bucket that is sorted into the run.
  for (const [t, s] of [[12, 0], [10, 1], [12, 2], [11, 3]] as const) q.push(t, s, s);
  assert.equal(q.peekTime(), 10);
  q.push(11, 4, 4); // inside the run, after the other 11
  q.push(9, 5, 5); // before the run, nothing popped yet: no room in front
  assert.equal(q.pop(), 5);
  assert.equal(q.pop(), 1); // now = 10
  q.push(10, 6, 6); // in the room left in front of the run
  q.push(12, 7, 7); // the run's latest time: last
  const out: number[] = [];
  while (q.size > 0) out.push(q.pop());
  assert.deepEqual(out, [6, 3, 4, 0, 2, 7]);
});

test('[radix] a burst into a long run overflows into the side heap and keeps (time, scheduling order)', () => {
  const q = new RadixHeapQueue();
  const model: { time: number; seq: number }[] = [];
  let seq = 0;
  const push = (time: number) => {
    q.push(time, seq, seq);
    model.push({ time, seq });
    seq++;
  };
  // Ten events spread over 10 s form a small bucket, sorted into a run spanning them.
  for (let i = 1; i <= 10; i++) push(i * 1e9);
  q.peekTime();
  // 300 events inside its span, latest first, with repeats: later ones shift more than the limit.
  for (let i = 300; i > 0; i--) push(1e9 + (i % 150) * 1e6);
  const out: number[] = [];
  for (let k = 0; k < 100; k++) out.push(q.pop());
  for (let i = 0; i < 50; i++) push(1e9 + 149e6 + i); // more, while the side heap holds some
  while (q.size > 0) out.push(q.pop());
  model.sort((a, b) => a.time - b.time || a.seq - b.seq);
  // The model is sorted once at the end: valid because every push above is at or after the pops' times.
  assert.deepEqual(out, model.map((m) => m.seq));
});

test('[radix] many events at one time keep their scheduling order', () => {
  const q = new RadixHeapQueue();
  const n = 200_000;
  for (let i = 0; i < n; i++) q.push(i % 2 === 0 ? 7 : 3, i, i);
  let prev = -1;
  for (let i = 0; i < n / 2; i++) {
    const s = q.pop();
    if (!(s % 2 === 1 && s > prev)) assert.fail(`slot ${s} after ${prev}`);
    prev = s;
  }
  prev = -1;
  for (let i = 0; i < n / 2; i++) {
    const s = q.pop();
    if (!(s % 2 === 0 && s > prev)) assert.fail(`slot ${s} after ${prev}`);
    prev = s;
  }
});
