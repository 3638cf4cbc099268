import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_COSTS } from '../../cost/cost-model.ts';
import { SCHEDULERS } from '../../ipvs/types.ts';
import { PROXY_MODES } from '../mode.ts';
import { modeModel } from './index.ts';
import { clashRules, parseKernelVersion } from '../../conntrack/kernel-version.ts';
import type { ProxyMode } from '../mode.ts';
import { ipvsConcurrentPick, secondPicksOwnTarget, udpNatChoice, udpPairRace, type UdpPairDraws } from './udp-nat-choice.ts';

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

function rules(text: string) {
  const r = parseKernelVersion(text);
  if (!r.ok) throw new Error(r.message);
  return clashRules(r.version);
}

const A = '10.244.1.7:53';
const B = '10.244.2.9:53';
const pair = (mode: ProxyMode, kernel: string, draws: Partial<UdpPairDraws>, walkNs = 0) =>
  udpPairRace(
    { choice: udpNatChoice(mode), rules: rules(kernel), costs: DEFAULT_COSTS, crossCpu: 0.5, walkNs },
    { cpu: 0, gapNs: 100, firstTarget: A, ownSecondTarget: B, ...draws },
  );

test('a pair end to end: CPUs, window, the mode\'s choice and the kernel', () => {
  // Different CPUs, 100 ns apart: iptables draws B for the second; 6.1 inserts a clash entry, 5.4 drops.
  assert.deepEqual([pair('iptables', '6.1', {}).outcome, pair('iptables', '6.1', {}).secondTarget], ['clash entry inserted', B]);
  assert.equal(pair('nftables', '5.4', {}).outcome, 'dropped');
  // One CPU (the draw is not below crossCpu): in order, the second follows the first's entry.
  assert.deepEqual([pair('iptables', '5.4', { cpu: 0.5 }).outcome, pair('iptables', '5.4', { cpu: 0.5 }).secondTarget], ['no race', A]);
  // A window apart: no race; the first packet's walk widens the window.
  assert.equal(pair('iptables', '5.4', { gapNs: 3_000 }).outcome, 'no race');
  assert.equal(pair('iptables', '5.4', { gapNs: 3_000 }, 1_000).outcome, 'dropped');
  // IPVS: within the first's scheduling the second gets its own server; later it follows the first's
  // ip_vs_conn, and then only 4.19's moved source port still drops it.
  assert.equal(pair('ipvs', '6.1', {}).outcome, 'clash entry inserted');
  assert.deepEqual([pair('ipvs', '6.1', { gapNs: 1_000 }).outcome, pair('ipvs', '6.1', { gapNs: 1_000 }).secondTarget], ['resolved (adopts winner)', A]);
  assert.equal(pair('ipvs', '4.19', { gapNs: 1_000 }).outcome, 'dropped');
  assert.equal(pair('ipvs', '5.4', { gapNs: 1_000 }).outcome, 'resolved (adopts winner)');
  // ebpf: no entry on the path.
  assert.equal(pair('ebpf', '4.14', {}).outcome, 'no race');
  // userspace: one REDIRECT target; dropped before 4.19, merged after (unless 4.19 moves the port).
  assert.equal(pair('userspace', '4.14', {}).outcome, 'dropped');
  assert.equal(pair('userspace', '4.19', {}).outcome, 'resolved (adopts winner)');
  assert.equal(pair('userspace', '4.19', { gapNs: 1_000 }).outcome, 'dropped');
  assert.equal(pair('userspace', '6.1', { gapNs: 1_000 }).outcome, 'resolved (adopts winner)');
});

test('property: ebpf never races; a pair that does not race leaves the second on the first\'s target', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...PROXY_MODES), fc.constantFrom('4.14', '4.19', '5.4', '5.10', '6.1'),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.integer({ min: -10_000, max: 10_000 }),
      (mode, kernel, cpu, gapNs) => {
        const r = pair(mode, kernel, { cpu, gapNs });
        if (mode === 'ebpf') assert.equal(r.outcome, 'no race');
        if (r.outcome === 'no race') assert.equal(r.secondTarget, A);
      },
    ),
  );
});
