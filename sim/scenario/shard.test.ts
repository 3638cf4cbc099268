import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InputError } from '../io/input-error.ts';
import { assignShards, parseShard } from './shard.ts';

const runs = fc.uniqueArray(fc.record({ id: fc.stringMatching(/^[0-9a-f]{16}$/), cost: fc.double({ min: 0, max: 1e6, noNaN: true }) }), { selector: (r) => r.id, maxLength: 60 });

test('every run goes to exactly one shard, whatever order the runs are listed in', () => {
  fc.assert(
    fc.property(runs, fc.integer({ min: 1, max: 8 }), fc.nat(), (list, count, seed) => {
      const shardOf = assignShards(list, count);
      assert.ok(shardOf.every((s) => Number.isInteger(s) && s >= 0 && s < count));
      // Shuffle deterministically: the split is a function of the set of runs, not of their order.
      const order = list.map((_r, i) => i).sort((a, b) => ((a * 7919 + seed) % 101) - ((b * 7919 + seed) % 101) || a - b);
      const again = assignShards(order.map((i) => list[i]!), count);
      order.forEach((i, k) => assert.equal(again[k], shardOf[i]));
    }),
  );
});

test('no shard gets more than the even share plus its largest run (the LPT bound)', () => {
  fc.assert(
    fc.property(runs, fc.integer({ min: 1, max: 8 }), (list, count) => {
      const shardOf = assignShards(list, count);
      const load = new Array<number>(count).fill(0);
      list.forEach((r, i) => (load[shardOf[i]!]! += r.cost));
      const total = list.reduce((a, r) => a + r.cost, 0);
      const largest = Math.max(0, ...list.map((r) => r.cost));
      for (const l of load) assert.ok(l <= total / count + largest + 1e-6 * total, `${l} > ${total / count} + ${largest}`);
    }),
  );
});

test('--shard I/N: I from 0 to N-1, anything else an InputError naming the flag', () => {
  assert.deepEqual(parseShard('0/3'), { index: 0, count: 3 });
  assert.deepEqual(parseShard(' 2 / 3 '), { index: 2, count: 3 });
  const message = (text: string) => {
    try {
      parseShard(text);
    } catch (e) {
      assert.ok(e instanceof InputError);
      return e.message;
    }
    assert.fail(`${text} was accepted`);
  };
  assert.equal(message('3/3'), '--shard: expected I/N: shard I (from 0 to N-1) of N, such as 0/3, found "3/3" (shard 3 of 3 does not exist)');
  assert.equal(message('1/0'), '--shard: expected I/N: shard I (from 0 to N-1) of N, such as 0/3, found "1/0"');
  assert.equal(message('$(JOB_COMPLETION_INDEX)/3'), '--shard: expected I/N: shard I (from 0 to N-1) of N, such as 0/3, found "$(JOB_COMPLETION_INDEX)/3"');
});
