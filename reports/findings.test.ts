import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../sim/io/input-error.ts';
import { answerFindings, checkFindings, type FindingSpec } from './findings.ts';
import { summarizePoints } from './summarize.ts';
import { fixtureInput } from './testing/fixture.ts';

const input = fixtureInput();
const { points } = summarizePoints(input.runs, input.meta.sweep);
const ctx = { points, sweep: input.meta.sweep };

test('first: along x, the first value where the condition holds, per value of by, or the range it never reached', () => {
  const [s] = answerFindings([{ say: 'Where does first-packet p99 pass 100µs?', first: { x: 'services', when: 'firstPacketLatency.p99 > 100us', by: 'mode' } }], ctx);
  assert.equal(
    s,
    'Where does first-packet p99 pass 100µs: firstPacketLatency.p99 > 100us for mode=iptables from services=1000 (200µs); ' +
      'for mode=nftables not within services=100–1000 (25µs); for mode=ipvs not within services=100–1000 (30µs).',
  );
  const [sel] = answerFindings([{ say: 'ipvs', first: { x: 'services', when: 'ipvs.firstPacketLatency.p99 >= 30us' } }], ctx);
  assert.equal(sel, 'ipvs: firstPacketLatency.p99 >= 30us from services=100 (30µs).');
});

test('ratio: one selection over another, with whether the intervals overlap; rank: lowest first', () => {
  const [r, k] = answerFindings(
    [
      { say: 'How much slower is iptables at 1000 Services', ratio: { y: 'firstPacketLatency.p99', of: { mode: 'iptables', services: 1000 }, to: { mode: 'nftables', services: 1000 } } },
      { say: 'Fastest mode at 1000 Services', rank: { y: 'firstPacketLatency.p99', by: 'mode', where: { services: 1000 } } },
    ],
    ctx,
  );
  assert.equal(r, 'How much slower is iptables at 1000 Services: firstPacketLatency.p99 200µs at mode=iptables services=1000 against 25µs at mode=nftables services=1000: 8× (95% intervals apart).');
  assert.equal(k, 'Fastest mode at 1000 Services: firstPacketLatency.p99 at services=1000, lowest first: nftables 25µs ≤ ipvs 30µs ≤ iptables 200µs; iptables is 8× nftables.');
});

test('checkFindings: exactly one kind, known parameters and metrics', () => {
  const bad = (f: FindingSpec, message: string) =>
    assert.throws(() => checkFindings([f], input.meta.sweep, ['firstPacketLatency.p99']), (e: unknown) => e instanceof InputError && e.message === message);
  bad({ say: 'x' }, 'answer[0]: expected exactly one of first, ratio, rank, found none');
  bad({ say: 'x', rank: { y: 'firstPacketLatency.p99', by: 'modes' } }, 'answer[0].rank.by: expected a sweep parameter (mode, services), found "modes" (did you mean mode?)');
  bad({ say: 'x', ratio: { y: 'firstPacketLatency.p90', of: {}, to: {} } }, 'answer[0].ratio.y: expected a metric the runs measure (a column of runs.csv), found "firstPacketLatency.p90" (did you mean firstPacketLatency.p99?)');
});
