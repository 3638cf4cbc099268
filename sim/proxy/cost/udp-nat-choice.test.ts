import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_COSTS } from '../../cost/cost-model.ts';
import { SCHEDULERS } from '../../ipvs/types.ts';
import { PROXY_MODES } from '../mode.ts';
import { modeModel } from './index.ts';
import { ipvsConcurrentPick, secondPicksOwnTarget, udpNatChoice } from './udp-nat-choice.ts';

test('each mode\'s NAT choice for a UDP packet without a confirmed entry', () => {
  assert.deepEqual(PROXY_MODES.map((m) => [m, udpNatChoice(m).kind]), [
    ['iptables', 'rule-per-packet'],
    ['ipvs', 'ipvs'],
    ['nftables', 'rule-per-packet'],
    ['ebpf', 'untracked'],
    ['userspace', 'redirect'],
  ]);
});

test('the choice agrees with the mode models: untracked exactly where the mode puts no NAT in conntrack', () => {
  for (const mode of PROXY_MODES) {
    const model = modeModel(mode, { costs: DEFAULT_COSTS, iptablesBackend: 'nft' });
    assert.equal(udpNatChoice(mode).kind === 'untracked', !model.natInConntrack, mode);
  }
});

test('the second racing packet: its own draw under per-packet rules, IPVS only within the first\'s scheduling', () => {
  const c = DEFAULT_COSTS;
  assert.equal(secondPicksOwnTarget(udpNatChoice('iptables'), 2_000, c), true);
  assert.equal(secondPicksOwnTarget(udpNatChoice('nftables'), 0, c), true);
  assert.equal(secondPicksOwnTarget(udpNatChoice('ipvs'), c.ipvsScheduleNs - 1, c), true);
  assert.equal(secondPicksOwnTarget(udpNatChoice('ipvs'), -(c.ipvsScheduleNs - 1), c), true);
  assert.equal(secondPicksOwnTarget(udpNatChoice('ipvs'), c.ipvsScheduleNs, c), false);
  assert.equal(secondPicksOwnTarget(udpNatChoice('userspace'), 0, c), false);
  assert.equal(secondPicksOwnTarget(udpNatChoice('ebpf'), 0, c), false);
});

test('IPVS schedulers on a concurrent second packet: round robin moves on, hashing and least-connection stay', () => {
  assert.equal(ipvsConcurrentPick('rr', 0, 2), 1);
  assert.equal(ipvsConcurrentPick('rr', 1, 2), 0);
  assert.equal(ipvsConcurrentPick('wrr', 2, 3), 0);
  assert.equal(ipvsConcurrentPick('rr', 0, 1), 0);
  for (const s of ['sh', 'dh', 'mh', 'lc', 'wlc', 'sed', 'nq'] as const) assert.equal(ipvsConcurrentPick(s, 1, 3), 1, s);
  assert.throws(() => ipvsConcurrentPick('rr', 2, 2), RangeError);
  fc.assert(
    fc.property(fc.constantFrom(...SCHEDULERS), fc.integer({ min: 1, max: 50 }), fc.nat(), (s, n, k) => {
      const pick = ipvsConcurrentPick(s, k % n, n);
      assert.ok(pick >= 0 && pick < n);
      // Two servers or more: round robin always gives the second packet another one.
      if ((s === 'rr' || s === 'wrr') && n > 1) assert.notEqual(pick, k % n);
    }),
  );
});
