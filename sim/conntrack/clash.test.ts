import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { clashCounters, raceOutcome, type NatChoiceKind, type RaceOutcome, type RaceTiming } from './clash.ts';
import { clashRules, compareKernel, parseKernelVersion, type KernelVersion } from './kernel-version.ts';

function rulesOf(text: string) {
  return clashRules(version(text));
}
function version(text: string): KernelVersion {
  const r = parseKernelVersion(text);
  if (!r.ok) throw new Error(r.message);
  return r.version;
}

const A = '10.244.1.7:53';
const B = '10.244.2.9:53';
const RESOLVED: RaceOutcome = 'resolved (adopts winner)';
const ENTRY: RaceOutcome = 'clash entry inserted';
const DROPPED: RaceOutcome = 'dropped';

/**
 * The second packet's outcome per release, for per-packet rules (iptables statistic, nft numgen)
 * and IPVS alike, on a node with NAT bindings: [same target + both unconfirmed, same target + first
 * confirmed before the second's source-NAT step, different targets + both unconfirmed, different
 * targets + first confirmed].
 */
const EXPECTED: Record<string, [RaceOutcome, RaceOutcome, RaceOutcome, RaceOutcome]> = {
  // No allow_clash yet (before 71d8c47fc653).
  '4.4': [DROPPED, DROPPED, DROPPED, DROPPED],
  // allow_clash, but only for a winner without NAT binding (590b52e10d41).
  '4.14': [DROPPED, DROPPED, DROPPED, DROPPED],
  // ed07d9a021df: identical tuples merge; a moved source port makes them differ.
  '4.19': [RESOLVED, DROPPED, DROPPED, DROPPED],
  // 4e35c1cb9460: the source port stays, so the same target is always identical.
  '5.4': [RESOLVED, RESOLVED, DROPPED, DROPPED],
  // 6a757c07e51f: different targets go in as clash entries.
  '5.6': [RESOLVED, RESOLVED, ENTRY, ENTRY],
  '5.10': [RESOLVED, RESOLVED, ENTRY, ENTRY],
  '6.1': [RESOLVED, RESOLVED, ENTRY, ENTRY],
};
const CASES: [string, string, RaceTiming][] = [
  [A, A, 'overlap'], [A, A, 'overlap-first-confirmed'], [A, B, 'overlap'], [A, B, 'overlap-first-confirmed'],
];

test('race outcome per kernel release and NAT kind: identical targets, a same-origin port clash, different targets', () => {
  for (const [text, expected] of Object.entries(EXPECTED)) {
    const rules = rulesOf(text);
    CASES.forEach(([first, second, timing], i) => {
      for (const nat of ['rule-per-packet', 'ipvs'] as NatChoiceKind[]) {
        const r = raceOutcome({ rules, nat, firstTarget: first, secondTarget: second, timing });
        assert.equal(r.outcome, expected[i], `${text} ${nat} ${first === second ? 'same' : 'different'} ${timing}`);
      }
      // A REDIRECT has one target whatever the caller passes: the same-target columns.
      const redirect = raceOutcome({ rules, nat: 'redirect', firstTarget: first, secondTarget: second, timing });
      assert.equal(redirect.outcome, expected[timing === 'overlap' ? 0 : 1], `${text} redirect ${timing}`);
      // No entry on the path, or no overlap: no race.
      assert.equal(raceOutcome({ rules, nat: 'untracked', firstTarget: first, secondTarget: second, timing }).outcome, 'no race');
      assert.equal(raceOutcome({ rules, nat: 'rule-per-packet', firstTarget: first, secondTarget: second, timing: 'apart' }).outcome, 'no race');
    });
  }
});

test('a winner without NAT binding is adopted even before 4.19 (71d8c47fc653), with NAT it is not', () => {
  const rules = rulesOf('4.14');
  assert.equal(raceOutcome({ rules, nat: 'rule-per-packet', firstTarget: A, secondTarget: A, timing: 'overlap', natBinding: false }).outcome, RESOLVED);
  assert.equal(raceOutcome({ rules, nat: 'rule-per-packet', firstTarget: A, secondTarget: A, timing: 'overlap', natBinding: true }).outcome, DROPPED);
  assert.equal(raceOutcome({ rules: rulesOf('4.4'), nat: 'rule-per-packet', firstTarget: A, secondTarget: A, timing: 'overlap', natBinding: false }).outcome, DROPPED);
});

test('a clash entry lives 1 s; 5.6 to 5.8 also delete it on its first reply (c46172147ebb)', () => {
  const at = (text: string) => raceOutcome({ rules: rulesOf(text), nat: 'rule-per-packet', firstTarget: A, secondTarget: B, timing: 'overlap' }).clashEntry;
  assert.deepEqual(at('5.6'), { lifetimeNs: 1_000_000_000, deletedOnReply: true });
  assert.deepEqual(at('5.8'), { lifetimeNs: 1_000_000_000, deletedOnReply: true });
  assert.deepEqual(at('5.9'), { lifetimeNs: 1_000_000_000, deletedOnReply: false });
  assert.equal(at('5.4'), undefined);
});

test('counters per release: insert_failed for every clash before 5.6, clash_resolve from 5.10 (bc92470413f3)', () => {
  const c = (text: string, outcome: RaceOutcome) => clashCounters(rulesOf(text), outcome);
  assert.deepEqual(c('4.14', DROPPED), { insertFailed: 1, drop: 1, clashResolve: 0 });
  assert.deepEqual(c('4.19', RESOLVED), { insertFailed: 1, drop: 0, clashResolve: 0 });
  assert.deepEqual(c('5.4', RESOLVED), { insertFailed: 1, drop: 0, clashResolve: 0 });
  // 5.6 to 5.9: a merge counts insert_failed, a clash entry nothing, a drop both.
  assert.deepEqual(c('5.6', RESOLVED), { insertFailed: 1, drop: 0, clashResolve: 0 });
  assert.deepEqual(c('5.9', ENTRY), { insertFailed: 0, drop: 0, clashResolve: 0 });
  assert.deepEqual(c('5.9', DROPPED), { insertFailed: 1, drop: 1, clashResolve: 0 });
  assert.deepEqual(c('5.10', RESOLVED), { insertFailed: 0, drop: 0, clashResolve: 1 });
  assert.deepEqual(c('6.1', ENTRY), { insertFailed: 0, drop: 0, clashResolve: 1 });
  assert.deepEqual(c('6.1', DROPPED), { insertFailed: 1, drop: 1, clashResolve: 0 });
  for (const text of ['4.14', '5.6', '6.1']) assert.deepEqual(c(text, 'no race'), { insertFailed: 0, drop: 0, clashResolve: 0 });
});

// Every release of the known range.
const VERSIONS: string[] = [];
for (const [major, from, to] of [[4, 4, 20], [5, 0, 19], [6, 0, 18]] as const) for (let m = from; m <= to; m++) VERSIONS.push(`${major}.${m}`);

const arbInput = fc.record({
  nat: fc.constantFrom<NatChoiceKind>('rule-per-packet', 'ipvs', 'redirect', 'untracked'),
  firstTarget: fc.constantFrom(A, B, '10.244.3.1:53'),
  secondTarget: fc.constantFrom(A, B, '10.244.3.1:53'),
  timing: fc.constantFrom<RaceTiming>('apart', 'overlap', 'overlap-first-confirmed'),
  natBinding: fc.boolean(),
});

test('property: the counters agree with the outcomes (drop <= insert_failed; resolved + dropped = clashes)', () => {
  fc.assert(
    fc.property(fc.constantFrom(...VERSIONS), fc.array(arbInput, { maxLength: 40 }), (text, inputs) => {
      const rules = rulesOf(text);
      const sum = { insertFailed: 0, drop: 0, clashResolve: 0 };
      let clashes = 0, dropped = 0, entries = 0;
      for (const input of inputs) {
        const r = raceOutcome({ rules, ...input });
        sum.insertFailed += r.counters.insertFailed;
        sum.drop += r.counters.drop;
        sum.clashResolve += r.counters.clashResolve;
        if (r.outcome !== 'no race') clashes++;
        if (r.outcome === 'dropped') dropped++;
        if (r.outcome === 'clash entry inserted') entries++;
      }
      assert.equal(sum.drop, dropped);
      assert.ok(sum.drop <= sum.insertFailed);
      if (rules.counting === 'clash-resolve') {
        assert.equal(sum.clashResolve + sum.drop, clashes);
        assert.equal(sum.insertFailed, sum.drop);
      } else {
        assert.equal(sum.clashResolve, 0);
        assert.equal(sum.insertFailed, rules.counting === 'insert-failed-all' ? clashes : clashes - entries);
      }
    }),
  );
});

test('property: no race on an untracked path (ebpf) or without overlap, whatever the inputs; a REDIRECT never needs a clash entry', () => {
  fc.assert(
    fc.property(fc.constantFrom(...VERSIONS), arbInput, (text, input) => {
      const rules = rulesOf(text);
      const none = { insertFailed: 0, drop: 0, clashResolve: 0 };
      for (const r of [raceOutcome({ rules, ...input, nat: 'untracked' }), raceOutcome({ rules, ...input, timing: 'apart' })]) {
        assert.equal(r.outcome, 'no race');
        assert.deepEqual(r.counters, none);
      }
      assert.notEqual(raceOutcome({ rules, ...input, nat: 'redirect' }).outcome, 'clash entry inserted');
    }),
  );
});

test('property: a newer kernel never drops what an older one keeps', () => {
  fc.assert(
    fc.property(fc.constantFrom(...VERSIONS), fc.constantFrom(...VERSIONS), arbInput, (x, y, input) => {
      const [older, newer] = compareKernel(version(x), version(y)) <= 0 ? [x, y] : [y, x];
      if (raceOutcome({ rules: rulesOf(newer), ...input }).outcome === 'dropped') {
        assert.equal(raceOutcome({ rules: rulesOf(older), ...input }).outcome, 'dropped', `${older} keeps what ${newer} drops`);
      }
    }),
  );
});
