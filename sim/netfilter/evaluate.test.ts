import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DEFAULT_COSTS, WALK_CACHE_RULES, withCosts } from '../cost/cost-model.ts';
import { formatIPv4 } from '../net/ipv4.ts';
import type { ConntrackStep, EvalContext } from './context.ts';
import { CT_DNAT, CT_NEW, CT_SNAT } from './rule.ts';
import type { Hook } from './ruleset.ts';
import { pkt, testContext } from './testing/context.ts';
import { rulesFrom, walk } from './testing/load.ts';

const T = 'tcp 10.244.1.5:40000 > 10.96.0.10:80';

// ------------------------------------------------------------ targets

test('DNAT rewrites the destination at once and ends the nat table; later tables see the new address', () => {
  const rs = rulesFrom({
    nat: [':OUTPUT ACCEPT [0:0]', '-A OUTPUT -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.244.2.9:8080', '-A OUTPUT -j DROP'],
    filter: [':OUTPUT ACCEPT [0:0]', '-A OUTPUT -d 10.244.2.9/32 -p tcp -m tcp --dport 8080 -j REJECT --reject-with tcp-reset'],
  });
  const w = walk(rs, 'OUTPUT', pkt(T));
  assert.equal(w.res.dnat, true);
  assert.equal(`${formatIPv4(w.res.origDst)}:${w.res.origDport}`, '10.96.0.10:80');
  assert.equal(`${formatIPv4(w.packet.dst)}:${w.packet.dport}`, '10.244.2.9:8080');
  assert.equal(w.ctx.ctState & CT_DNAT, CT_DNAT);
  // nat's second rule (DROP) was never reached; filter OUTPUT matched the translated address.
  assert.deepEqual(w.trace, ['nat:OUTPUT:rule:1', 'filter:OUTPUT:rule:1']);
  assert.equal(w.verdict, 'REJECT');
  assert.equal(w.res.rejectWith, 'tcp-reset');
});

test('SNAT and MASQUERADE (--random-fully) are recorded for the caller to apply', () => {
  const snat = walk(rulesFrom({ nat: [':POSTROUTING ACCEPT [0:0]', '-A POSTROUTING -s 10.244.0.0/16 -j SNAT --to-source 192.168.0.2:1024-2048'] }), 'POSTROUTING', pkt(T));
  assert.deepEqual([snat.res.snat, formatIPv4(snat.res.snatIp), snat.res.snatPort, snat.res.masquerade], [true, '192.168.0.2', 1024, false]);
  assert.equal(snat.ctx.ctState & CT_SNAT, CT_SNAT);
  const masq = walk(rulesFrom({ nat: [':POSTROUTING ACCEPT [0:0]', '-A POSTROUTING -j MASQUERADE --random-fully'] }), 'POSTROUTING', pkt(T));
  assert.deepEqual([masq.res.masquerade, masq.res.randomFully, masq.res.snat], [true, true, false]);
  assert.equal(masq.verdict, 'ACCEPT');
  // The packet itself is not rewritten (the outgoing address is the node's to pick).
  assert.equal(formatIPv4(masq.packet.src), '10.244.1.5');
});

test('MARK --set-xmark, --or-mark, --xor-mark, --and-mark, --set-mark: mark = (mark & ~mask) ^ value, and the walk goes on', () => {
  const mark = (target: string, initial: number) => {
    const rs = rulesFrom({ mangle: [':OUTPUT ACCEPT [0:0]', `-A OUTPUT -j MARK ${target}`, '-A OUTPUT -m mark --mark 0x4000/0x4000 -j DROP'] });
    return walk(rs, 'OUTPUT', pkt(T, { mark: initial }));
  };
  assert.equal(mark('--set-xmark 0x4000/0x4000', 0x1).packet.mark, 0x4001);
  assert.equal(mark('--set-xmark 0x4000/0x4000', 0x1).verdict, 'DROP', 'the next rule saw the new mark');
  assert.equal(mark('--or-mark 0x4000', 0x1).packet.mark, 0x4001);
  assert.equal(mark('--xor-mark 0x4000', 0x4001).packet.mark, 0x1);
  assert.equal(mark('--and-mark 0xff', 0x4001).packet.mark, 0x1);
  assert.equal(mark('--set-mark 0x2', 0x4001).packet.mark, 0x2);
  assert.equal(mark('--set-mark 0x2/0xf', 0x4001).packet.mark, 0x4002);
  assert.equal(mark('--set-xmark 0x0/0x4000', 0x4001).verdict, 'ACCEPT');
  assert.equal(mark('--or-mark 0x4000', 0).res.markChanged, true);
});

test('REJECT defaults to icmp-port-unreachable; DROP and ACCEPT end the table', () => {
  const w = walk(rulesFrom({ filter: [':OUTPUT ACCEPT [0:0]', '-A OUTPUT -p tcp -j REJECT', '-A OUTPUT -j ACCEPT'] }), 'OUTPUT', pkt(T));
  assert.deepEqual([w.verdict, w.res.rejectWith, w.res.rulesVisited], ['REJECT', 'icmp-port-unreachable', 1]);
  const a = walk(rulesFrom({ filter: [':OUTPUT DROP [0:0]', '-A OUTPUT -j ACCEPT', '-A OUTPUT -j DROP'] }), 'OUTPUT', pkt(T));
  assert.deepEqual([a.verdict, a.res.rulesVisited], ['ACCEPT', 1]);
});

test('RETURN pops to the caller; at the end of a built-in chain, or RETURN in it, the policy decides', () => {
  const rs = rulesFrom({
    filter: [':INPUT DROP [0:0]', ':A - [0:0]', '-A INPUT -j A', '-A INPUT -p udp -j ACCEPT', '-A A -p tcp -j RETURN', '-A A -j ACCEPT'],
  });
  const tcp = walk(rs, 'INPUT', pkt(T));
  assert.deepEqual(tcp.trace, ['filter:INPUT:rule:1', 'filter:A:rule:1', 'filter:INPUT:policy:3']);
  assert.equal(tcp.verdict, 'DROP');
  const ret = walk(rulesFrom({ filter: [':INPUT DROP [0:0]', '-A INPUT -j RETURN', '-A INPUT -j ACCEPT'] }), 'INPUT', pkt(T));
  assert.deepEqual([ret.verdict, ret.trace], ['DROP', ['filter:INPUT:rule:1', 'filter:INPUT:policy:3']]);
});

test('goto vs jump: the end of a goto target returns to the caller of the chain that did the goto', () => {
  const chains = (how: '-j' | '-g') =>
    rulesFrom({
      filter: [
        ':INPUT ACCEPT [0:0]',
        ':A - [0:0]',
        ':B - [0:0]',
        '-A INPUT -j A',
        '-A INPUT -j DROP',
        `-A A ${how} B`,
        '-A A -j REJECT',
        '-A B -p udp -j ACCEPT',
      ],
    });
  const jump = walk(chains('-j'), 'INPUT', pkt(T));
  assert.deepEqual(jump.trace, ['filter:INPUT:rule:1', 'filter:A:rule:1', 'filter:B:return:2', 'filter:A:rule:2']);
  assert.equal(jump.verdict, 'REJECT');
  const go = walk(chains('-g'), 'INPUT', pkt(T));
  assert.deepEqual(go.trace, ['filter:INPUT:rule:1', 'filter:A:rule:1', 'filter:B:return:2', 'filter:INPUT:rule:2']);
  assert.equal(go.verdict, 'DROP');
  assert.deepEqual([go.res.jumps, go.res.chainsEntered, go.res.rulesVisited], [2, 3, 4]);
  // A goto from the built-in chain: the end of the target means the built-in chain's policy.
  const fromBuiltin = walk(rulesFrom({ filter: [':INPUT DROP [0:0]', ':B - [0:0]', '-A INPUT -g B', '-A INPUT -j ACCEPT'] }), 'INPUT', pkt(T));
  assert.deepEqual([fromBuiltin.verdict, fromBuiltin.trace], ['DROP', ['filter:INPUT:rule:1', 'filter:B:return:1', 'filter:INPUT:policy:3']]);
});

test('LOG and TRACE are no-ops: the walk continues with the next rule', () => {
  const rs = rulesFrom({ raw: [':OUTPUT ACCEPT [0:0]', '-A OUTPUT -j TRACE', '-A OUTPUT -j LOG --log-prefix "svc: " --log-level 4', '-A OUTPUT -j DROP'] });
  const w = walk(rs, 'OUTPUT', pkt(T));
  assert.deepEqual([w.verdict, w.trace], ['DROP', ['raw:OUTPUT:rule:1', 'raw:OUTPUT:rule:2', 'raw:OUTPUT:rule:3']]);
});

test('an unmodelled target (CT --notrack) is kept; a matching packet goes on past it', () => {
  const w = walk(rulesFrom({ raw: [':PREROUTING ACCEPT [0:0]', '-A PREROUTING -p tcp -j CT --notrack', '-A PREROUTING -j DROP'] }), 'PREROUTING', pkt(T));
  assert.deepEqual([w.verdict, w.trace], ['DROP', ['raw:PREROUTING:rule:1', 'raw:PREROUTING:rule:2']]);
});

test('statistic --mode nth: every Nth packet the rule sees, from --packet, per network namespace', () => {
  const rs = rulesFrom({ raw: [':PREROUTING ACCEPT [0:0]', '-A PREROUTING -p tcp -m statistic --mode nth --every 3 --packet 1 -j DROP'] });
  const ctx = testContext();
  const verdicts = Array.from({ length: 7 }, () => walk(rs, 'PREROUTING', pkt(T), ctx).verdict);
  // --packet 1: packets 2 and 5 of every 3 (as a kernel counted them: kernel/nth.txt).
  assert.deepEqual(verdicts, ['ACCEPT', 'DROP', 'ACCEPT', 'ACCEPT', 'DROP', 'ACCEPT', 'ACCEPT']);
  const inverted = rulesFrom({ raw: [':PREROUTING ACCEPT [0:0]', '-A PREROUTING -p tcp -m statistic --mode nth ! --every 2 --packet 0 -j DROP'] });
  const other = testContext();
  assert.deepEqual([1, 2, 3, 4].map(() => walk(inverted, 'PREROUTING', pkt(T), other).verdict), ['ACCEPT', 'DROP', 'ACCEPT', 'DROP']);
  // Another namespace (context) has its own counter.
  assert.equal(walk(rs, 'PREROUTING', pkt(T), testContext()).verdict, 'ACCEPT');
});

test('an unmodelled option of a known module (conntrack --ctorigdst) never matches', () => {
  for (const m of ['-m conntrack --ctorigdst 10.96.0.10', '-m conntrack --ctstate NEW ! --ctorigdst 10.96.0.10']) {
    const w = walk(rulesFrom({ raw: [':PREROUTING ACCEPT [0:0]', `-A PREROUTING -p tcp ${m} -j DROP`] }), 'PREROUTING', pkt(T));
    assert.deepEqual([w.verdict, w.trace], ['ACCEPT', ['raw:PREROUTING:policy:2']], m);
  }
});

// ------------------------------------------------------------ hooks

/** A LOG rule in every table's chain at every hook, so the trace shows the traversal order. */
const everywhere = rulesFrom({
  raw: [':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', '-A PREROUTING -j LOG', '-A OUTPUT -j LOG'],
  mangle: ['-A PREROUTING -j LOG', '-A INPUT -j LOG', '-A FORWARD -j LOG', '-A OUTPUT -j LOG', '-A POSTROUTING -j LOG'],
  nat: ['-A PREROUTING -j LOG', '-A INPUT -j LOG', '-A OUTPUT -j LOG', '-A POSTROUTING -j LOG'],
  filter: ['-A INPUT -j LOG', '-A FORWARD -j LOG', '-A OUTPUT -j LOG'],
});

function tablesAt(hook: Hook, over: Partial<EvalContext> = {}): string[] {
  const order: string[] = [];
  const conntrack: ConntrackStep = {
    track: (_p, ctx) => {
      order.push('conntrack');
      ctx.ctState = CT_NEW;
      return true;
    },
  };
  const w = walk(everywhere, hook, pkt(T), testContext({ conntrack, ...over }));
  // Interleave the conntrack call: it happened when the trace had as many steps as before it.
  const tables = w.trace.filter((t) => t.endsWith(':rule:1')).map((t) => t.split(':')[0]!);
  if (order.length) tables.splice(hook === 'PREROUTING' || hook === 'OUTPUT' ? 1 : 0, 0, 'conntrack');
  return tables;
}

test('kernel hook order: raw -> conntrack -> mangle -> nat at PREROUTING; OUTPUT adds filter; POSTROUTING mangle -> nat', () => {
  assert.deepEqual(tablesAt('PREROUTING'), ['raw', 'conntrack', 'mangle', 'nat']);
  assert.deepEqual(tablesAt('OUTPUT'), ['raw', 'conntrack', 'mangle', 'nat', 'filter']);
  assert.deepEqual(tablesAt('FORWARD'), ['mangle', 'filter']);
  assert.deepEqual(tablesAt('INPUT'), ['mangle', 'filter', 'nat']);
  assert.deepEqual(tablesAt('POSTROUTING'), ['mangle', 'nat']);
});

test('conntrack runs after raw and before mangle: raw sees no conntrack state, mangle does', () => {
  const rs = rulesFrom({
    raw: [':PREROUTING ACCEPT [0:0]', '-A PREROUTING -m conntrack --ctstate NEW -j DROP'],
    mangle: ['-A PREROUTING -m conntrack --ctstate NEW -j MARK --set-xmark 0x1/0xffffffff'],
  });
  const conntrack: ConntrackStep = {
    track: (_p, ctx) => {
      ctx.ctState = CT_NEW;
      return true;
    },
  };
  const w = walk(rs, 'PREROUTING', pkt(T), testContext({ conntrack, ctState: 0 }));
  assert.deepEqual([w.verdict, w.packet.mark], ['ACCEPT', 1]);
  // A full conntrack table drops before mangle and nat, with its reason.
  const full: ConntrackStep = { track: () => false, dropReason: 'conntrack table full' };
  const d = walk(rs, 'PREROUTING', pkt(T), testContext({ conntrack: full, ctState: 0 }));
  assert.deepEqual([d.verdict, d.res.dropReason, d.packet.mark], ['DROP', 'conntrack table full', 0]);
});

test('nat chains see only the first packet of a connection', () => {
  assert.deepEqual(tablesAt('OUTPUT', { firstPacket: false }), ['raw', 'conntrack', 'mangle', 'filter']);
  assert.deepEqual(tablesAt('POSTROUTING', { firstPacket: false }), ['mangle']);
});

test('a DROP in an earlier table ends the hook: later tables do not run', () => {
  const rs = rulesFrom({ mangle: ['-A OUTPUT -j DROP'], nat: ['-A OUTPUT -j DNAT --to-destination 10.0.0.1'] });
  const w = walk(rs, 'OUTPUT', pkt(T));
  assert.deepEqual([w.verdict, w.res.dnat, w.trace], ['DROP', false, ['mangle:OUTPUT:rule:1']]);
});

test('cost: hookNs + rules x perRuleNs[backend] + matches x perMatchNs + jumps x chainJumpNs, on the packet too', () => {
  const rs = rulesFrom({
    filter: [':INPUT ACCEPT [0:0]', ':A - [0:0]', '-A INPUT -d 10.0.0.1/32 -j DROP', '-A INPUT -m comment --comment x -j A', '-A A -p tcp -m tcp --dport 80 -j ACCEPT'],
  });
  for (const backend of ['legacy', 'nft'] as const) {
    const w = walk(rs, 'INPUT', pkt(T), testContext({ backend }));
    assert.deepEqual([w.res.rulesVisited, w.res.matchesEvaluated, w.res.jumps, w.res.hooks], [3, 2, 1, 1]);
    const c = DEFAULT_COSTS;
    const expected = c.hookNs + 3 * c.perRuleNs[backend] + 2 * c.perMatchNs + 1 * c.chainJumpNs;
    assert.equal(w.res.costNs, expected);
    assert.equal(w.packet.costNs, expected);
  }
});

test('a long walk in one hook is charged ruleWalkNs: more per rule past WALK_CACHE_RULES, per hook', () => {
  const n = 3 * WALK_CACHE_RULES;
  const rules = Array.from({ length: n }, (_, i) => `-A INPUT -d 10.9.${i >> 8}.${i & 255}/32 -j DROP`);
  const rs = rulesFrom({ filter: [':INPUT ACCEPT [0:0]', ...rules] });
  const costs = withCosts(DEFAULT_COSTS, { perRuleNs: { legacy: 2 }, perRuleLogNs: { legacy: 0.5 } });
  const w = walk(rs, 'INPUT', pkt(T), testContext({ backend: 'legacy', costs }));
  assert.equal(w.res.rulesVisited, n);
  assert.ok(Math.abs(w.res.costNs - (costs.hookNs + n * (2 + 0.5 * Math.log(3)))) < 1e-9, String(w.res.costNs));
  // The same rules in a hook whose walk is short cost perRuleNs each.
  const short = walk(rulesFrom({ filter: [':INPUT ACCEPT [0:0]', ...rules.slice(0, WALK_CACHE_RULES)] }), 'INPUT', pkt(T), testContext({ backend: 'legacy', costs }));
  assert.equal(short.res.costNs, costs.hookNs + WALK_CACHE_RULES * 2);
});

test('statistic --mode nth counts as the kernel did (test/golden/netfilter/kernel/nth.sh: the rule\'s packet counter)', () => {
  const lines = readFileSync('test/golden/netfilter/kernel/nth.txt', 'utf8').trim().split('\n');
  assert.equal(lines.length, 3);
  for (const line of lines) {
    const m = /^every=(\d+) packet=(\d+) matches after each packet: ([\d ]+)$/.exec(line);
    assert.ok(m, line);
    const rs = rulesFrom({ raw: [':PREROUTING ACCEPT [0:0]', `-A PREROUTING -p tcp -m statistic --mode nth --every ${m[1]} --packet ${m[2]} -j DROP`] });
    const ctx = testContext();
    let matched = 0;
    const counts = m[3]!.split(' ').map(() => (matched += walk(rs, 'PREROUTING', pkt(T), ctx).verdict === 'DROP' ? 1 : 0));
    assert.equal(counts.join(' '), m[3], line);
  }
});
