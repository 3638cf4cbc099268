import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { RandomStream } from '../engine/random.ts';
import { formatIPv4, parseIPv4 } from '../net/ipv4.ts';
import { TCP_ACK, TCP_SYN } from '../net/packet.ts';
import { compileRuleset } from './compile.ts';
import { parseIptablesSave } from './iptables-save.ts';
import { IpsetRegistry } from './ipset.ts';
import { RecentTables } from './recent.ts';
import { CT_DNAT, CT_ESTABLISHED, CT_NEW, CT_RELATED } from './rule.ts';
import { pkt, testContext } from './testing/context.ts';
import { rulesFrom, walk } from './testing/load.ts';

/**
 * One filter INPUT rule `spec -j DROP` (policy ACCEPT): does the packet match it? The walk's trace
 * says whether the rule fired, so the test reads the match's verdict and nothing else.
 */
function matches(spec: string, packetText: string, over: Parameters<typeof testContext>[0] = {}, packetOver = {}): boolean {
  const rs = rulesFrom({ filter: [':INPUT ACCEPT [0:0]', `-A INPUT ${spec} -j DROP`] });
  const w = walk(rs, 'INPUT', pkt(packetText, packetOver), testContext(over));
  return w.verdict === 'DROP';
}

const T = 'tcp 10.244.1.5:40000 > 10.96.0.10:80';

test('-s/-d/-p/-i/-o with ! negation, CIDRs and interface wildcards', () => {
  assert.equal(matches('-s 10.244.0.0/16', T), true);
  assert.equal(matches('! -s 10.244.0.0/16', T), false);
  assert.equal(matches('-d 10.96.0.10/32', T), true);
  assert.equal(matches('! -d 10.96.0.10', T), false);
  assert.equal(matches('-d 10.96.0.0/255.240.0.0', T), true, 'dotted netmask');
  assert.equal(matches('-p udp', T), false);
  assert.equal(matches('! -p udp', T), true);
  assert.equal(matches('-p all', T), true);
  assert.equal(matches('-p gre', T), false, 'a protocol the simulator has no packets of never matches');
  assert.equal(matches('-i eth+', T, {}, { inIface: 'eth0' }), true);
  assert.equal(matches('-i eth+', T, {}, { inIface: 'cali123' }), false);
  assert.equal(matches('! -i cali+', T, {}, { inIface: 'eth0' }), true);
  assert.equal(matches('-o eth0', T, {}, { outIface: 'eth0' }), true);
});

test('tcp/udp ports, ranges, --syn and --tcp-flags', () => {
  assert.equal(matches('-p tcp --dport 80', T), true);
  assert.equal(matches('-p tcp -m tcp ! --dport 80', T), false);
  assert.equal(matches('-p tcp -m tcp --sport 32768:60999', T), true);
  assert.equal(matches('-p tcp -m tcp --sport :1023', T), false);
  assert.equal(matches('-p udp -m udp --dport 80', T), false);
  assert.equal(matches('-p tcp --syn', T, {}, { tcpFlags: TCP_SYN }), true);
  assert.equal(matches('-p tcp --syn', T, {}, { tcpFlags: TCP_ACK }), false);
  assert.equal(matches('-p tcp -m tcp ! --tcp-flags SYN,ACK SYN', T, {}, { tcpFlags: TCP_SYN | TCP_ACK }), true);
});

test('multiport: --dports lists and ranges, --sports, --ports, ! negation; never for icmp', () => {
  assert.equal(matches('-p tcp -m multiport --dports 443,80,9000:9010', T), true);
  assert.equal(matches('-p tcp -m multiport --dports 9000:9010', 'tcp 10.0.0.1:1 > 10.0.0.2:9005'), true);
  assert.equal(matches('-p tcp -m multiport ! --dports 443,8080', T), true);
  assert.equal(matches('-p tcp -m multiport ! --dports 80', T), false);
  assert.equal(matches('-p tcp -m multiport --sports 40000', T), true);
  assert.equal(matches('-p tcp -m multiport --ports 40000', T), true, '--ports: source or destination');
  assert.equal(matches('-m multiport --dports 0', 'icmp 10.0.0.1 > 10.0.0.2'), false);
});

test('addrtype: LOCAL is the node\'s addresses and 127/8; ! and --src-type', () => {
  // The test context's node owns 192.168.0.2.
  assert.equal(matches('-m addrtype --dst-type LOCAL', 'tcp 10.244.1.5:1 > 192.168.0.2:30080'), true);
  assert.equal(matches('-m addrtype --dst-type LOCAL', 'tcp 10.244.1.5:1 > 127.0.0.1:30080'), true);
  assert.equal(matches('-m addrtype --dst-type LOCAL', T), false);
  assert.equal(matches('-m addrtype ! --dst-type LOCAL', T), true);
  assert.equal(matches('-m addrtype --src-type LOCAL --dst-type UNICAST', 'tcp 192.168.0.2:1 > 10.0.0.9:80'), true);
  assert.equal(matches('-m addrtype --dst-type MULTICAST', 'udp 10.0.0.1:1 > 224.0.0.251:5353'), true);
  assert.equal(matches('-m addrtype --dst-type BROADCAST', 'udp 10.0.0.1:68 > 255.255.255.255:67'), true);
});

test('conntrack --ctstate and state --state, with !', () => {
  assert.equal(matches('-m conntrack --ctstate NEW', T, { ctState: CT_NEW }), true);
  assert.equal(matches('-m conntrack --ctstate RELATED,ESTABLISHED', T, { ctState: CT_NEW }), false);
  assert.equal(matches('-m conntrack --ctstate RELATED,ESTABLISHED', T, { ctState: CT_RELATED }), true);
  assert.equal(matches('-m state --state ESTABLISHED', T, { ctState: CT_ESTABLISHED }), true);
  // KUBE-FIREWALL's test: a DNATed connection is not "incoming localnet".
  const fw = '-m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT';
  assert.equal(matches(fw, T, { ctState: CT_NEW }), true);
  assert.equal(matches(fw, T, { ctState: CT_NEW | CT_DNAT }), false);
});

test('mark: VALUE/MASK, !, and a value with bits outside the mask never matches (xt_mark)', () => {
  assert.equal(matches('-m mark --mark 0x4000/0x4000', T, {}, { mark: 0x4001 }), true);
  assert.equal(matches('-m mark --mark 0x4000/0x4000', T, {}, { mark: 0x1 }), false);
  assert.equal(matches('-m mark ! --mark 0x4000/0x4000', T, {}, { mark: 0 }), true);
  assert.equal(matches('-m mark --mark 0x4000', T, {}, { mark: 0x4001 }), false, 'no mask: the whole mark');
  assert.equal(matches('-m mark --mark 0x5/0x4', T, {}, { mark: 0x5 }), false);
});

test('set --match-set on hash:ip, hash:ip,port, hash:net, bitmap:port, with ! and a missing set', () => {
  const ipsets = new IpsetRegistry();
  ipsets.restore(
    [
      'create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536',
      'add KUBE-CLUSTER-IP 10.96.0.10,tcp:80',
      'add KUBE-CLUSTER-IP 10.96.0.10,udp:53',
      'create KUBE-LOOP-BACK hash:ip family inet',
      'add KUBE-LOOP-BACK 10.244.1.5',
      'create KUBE-LOAD-BALANCER-SOURCE-CIDR hash:net family inet',
      'add KUBE-LOAD-BALANCER-SOURCE-CIDR 10.244.0.0/16',
      'add KUBE-LOAD-BALANCER-SOURCE-CIDR 10.244.1.0/24',
      'create KUBE-NODE-PORT-TCP bitmap:port range 0-65535',
      'add KUBE-NODE-PORT-TCP 30080',
      '',
    ].join('\n'),
  );
  const ctx = { ipsets };
  assert.equal(matches('-m set --match-set KUBE-CLUSTER-IP dst,dst', T, ctx), true);
  assert.equal(matches('-m set --match-set KUBE-CLUSTER-IP dst,dst', 'tcp 10.244.1.5:1 > 10.96.0.10:53', ctx), false, 'tcp:53 is not udp:53');
  assert.equal(matches('-m set --match-set KUBE-CLUSTER-IP dst,dst', 'udp 10.244.1.5:1 > 10.96.0.10:53', ctx), true);
  assert.equal(matches('-m set --match-set KUBE-CLUSTER-IP dst,src', T, ctx), false, 'port taken from the source');
  assert.equal(matches('-m set ! --match-set KUBE-CLUSTER-IP dst,dst', T, ctx), false);
  assert.equal(matches('-m set --match-set KUBE-LOOP-BACK src', T, ctx), true);
  assert.equal(matches('-m set --match-set KUBE-LOOP-BACK dst', T, ctx), false);
  assert.equal(matches('-m set --match-set KUBE-LOAD-BALANCER-SOURCE-CIDR src', 'tcp 10.244.9.9:1 > 10.0.0.1:80', ctx), true);
  assert.equal(matches('-m set --match-set KUBE-LOAD-BALANCER-SOURCE-CIDR src', 'tcp 10.245.0.1:1 > 10.0.0.1:80', ctx), false);
  assert.equal(matches('-m set --match-set KUBE-NODE-PORT-TCP dst', 'tcp 10.0.0.1:1 > 192.168.0.2:30080', ctx), true);
  assert.equal(matches('-m set --match-set KUBE-NODE-PORT-TCP dst', 'tcp 10.0.0.1:1 > 192.168.0.2:30081', ctx), false);
  assert.equal(matches('-m set --match-set NO-SUCH-SET dst', T, ctx), false);
  assert.equal(matches('-m set ! --match-set NO-SUCH-SET dst', T, ctx), true);
  // ipset save gives the elements back as written.
  assert.match(ipsets.save(), /^add KUBE-CLUSTER-IP 10\.96\.0\.10,udp:53$/m);
});

test('set --match-set on hash:ip,port,net: kube-proxy ipvs source ranges (LB ip, port, source network)', () => {
  const ipsets = new IpsetRegistry();
  ipsets.restore(
    [
      'create KUBE-LOAD-BALANCER-SOURCE-CIDR hash:ip,port,net family inet hashsize 1024 maxelem 65536',
      'add KUBE-LOAD-BALANCER-SOURCE-CIDR 1.2.3.4,tcp:80,203.0.113.0/25',
      'add KUBE-LOAD-BALANCER-SOURCE-CIDR 1.2.3.4,tcp:80,192.168.0.0/24',
      '',
    ].join('\n'),
  );
  const ctx = { ipsets };
  const rule = '-m set --match-set KUBE-LOAD-BALANCER-SOURCE-CIDR dst,dst,src';
  assert.equal(matches(rule, 'tcp 203.0.113.2:1 > 1.2.3.4:80', ctx), true);
  assert.equal(matches(rule, 'tcp 192.168.0.9:1 > 1.2.3.4:80', ctx), true);
  assert.equal(matches(rule, 'tcp 203.0.113.130:1 > 1.2.3.4:80', ctx), false, 'outside both ranges');
  assert.equal(matches(rule, 'tcp 203.0.113.2:1 > 1.2.3.4:81', ctx), false, 'another port');
  assert.equal(matches(rule, 'udp 203.0.113.2:1 > 1.2.3.4:80', ctx), false, 'another protocol');
  assert.equal(matches(rule, 'tcp 203.0.113.2:1 > 1.2.3.5:80', ctx), false, 'another address');
  assert.match(ipsets.save(), /^add KUBE-LOAD-BALANCER-SOURCE-CIDR 1\.2\.3\.4,tcp:80,203\.0\.113\.0\/25$/m);
  assert.throws(() => ipsets.restore('add KUBE-LOAD-BALANCER-SOURCE-CIDR 1.2.3.4,tcp:80\n'), /ip,proto:port,net/);
});

test('unknown match modules never match, whatever their options say', () => {
  assert.equal(matches('-m physdev --physdev-is-bridged', T), false);
  assert.equal(matches('-m physdev ! --physdev-is-bridged', T), false);
  assert.equal(matches('-m comment --comment x -m u32 --u32 "0>>22&0x3C@12>>26&0x3F=0x10"', T), false);
});

test('statistic --mode random: probabilities in the kernel fixed point, drawn from a named stream', () => {
  const { ruleset } = parseIptablesSave(readFileSync('test/golden/netfilter/kube-proxy-legacy.iptables-save', 'utf8'));
  const svc = ruleset.tables.get('nat')!.chains.get('KUBE-SVC-7EJNTS7AENER2WX5')!;
  const probs = svc.rules.flatMap((r) => r.matches.filter((m) => m.kind === 'statistic').map((m) => (m.kind === 'statistic' ? m.probability : 0)));
  // lround(0x80000000 * p): 0.33333333349 and 0.5 as the kernel holds them.
  assert.deepEqual(probs, [715827883, 1073741824]);
  const rs = compileRuleset(ruleset);
  const choose = (stream: RandomStream, n: number) => {
    const out: string[] = [];
    const ctx = testContext({ random: stream });
    for (let i = 0; i < n; i++) out.push(formatIPv4(walk(rs, 'OUTPUT', pkt('tcp 10.244.9.9:40000 > 10.96.112.40:80'), ctx).packet.dst));
    return out;
  };
  // Same seed and name: the same choices. Another name: other choices.
  assert.deepEqual(choose(new RandomStream(7, 'node-a/statistic'), 50), choose(new RandomStream(7, 'node-a/statistic'), 50));
  assert.notDeepEqual(choose(new RandomStream(7, 'node-a/statistic'), 50), choose(new RandomStream(7, 'node-b/statistic'), 50));
  // Three endpoints with 1/3, then 1/2, then the rest: uniform. Chi-square, 2 degrees of freedom,
  // critical value 13.82 at p = 0.001.
  const n = 30000;
  const counts = new Map<string, number>();
  for (const d of choose(new RandomStream(11, 'chi-square'), n)) counts.set(d, (counts.get(d) ?? 0) + 1);
  assert.deepEqual([...counts.keys()].sort(), ['10.244.1.5', '10.244.2.9', '10.244.3.14']);
  const chi2 = [...counts.values()].reduce((s, c) => s + (c - n / 3) ** 2 / (n / 3), 0);
  assert.ok(chi2 < 13.82, `chi-square ${chi2.toFixed(2)} for ${JSON.stringify([...counts])}`);
  // ! inverts; probability 0 never, 1 always.
  assert.equal(matches('-m statistic --mode random --probability 0', T), false);
  assert.equal(matches('-m statistic --mode random --probability 1', T), true);
  assert.equal(matches('-m statistic --mode random ! --probability 1', T), false);
});

test('recent: kube-proxy session affinity (--set in the endpoint chain, --rcheck --seconds --reap in the service chain)', () => {
  const { ruleset } = parseIptablesSave(readFileSync('test/golden/netfilter/kube-proxy-legacy.iptables-save', 'utf8'));
  const rs = compileRuleset(ruleset);
  const recent = new RecentTables();
  const H = 3_600_000_000_000; // 1 h in ns
  const send = (src: string, nowNs: number) =>
    walk(rs, 'OUTPUT', pkt(`tcp ${src}:40000 > 10.96.201.3:9000`), testContext({ recent, nowNs }));
  const first = send('10.244.1.5', 0);
  // The first connection is not yet in the list: the --rcheck rule (2) does not fire, rule 3 does.
  assert.deepEqual(first.trace.filter((t) => t.startsWith('nat:KUBE-SVC-ERIF')), ['nat:KUBE-SVC-ERIFXISQEP7F7OF4:rule:3']);
  assert.equal(formatIPv4(first.packet.dst), '10.244.2.4');
  assert.deepEqual(recent.entries('KUBE-SEP-YIL6JZP7A3QYXJU2'), [{ address: parseIPv4('10.244.1.5'), lastSeenNs: 0 }]);
  // Within 10800 s: --rcheck fires.
  const again = send('10.244.1.5', 2 * H);
  assert.deepEqual(again.trace.filter((t) => t.startsWith('nat:KUBE-SVC-ERIF')), ['nat:KUBE-SVC-ERIFXISQEP7F7OF4:rule:2']);
  assert.equal(recent.entries('KUBE-SEP-YIL6JZP7A3QYXJU2')[0]!.lastSeenNs, 2 * H, '--set in the SEP chain refreshed it');
  // More than 10800 s after the last --set: no longer matches.
  const late = send('10.244.1.5', 5 * H + 1);
  assert.deepEqual(late.trace.filter((t) => t.startsWith('nat:KUBE-SVC-ERIF')), ['nat:KUBE-SVC-ERIFXISQEP7F7OF4:rule:3']);
});

test('recent --reap drops the oldest expired entry; the list holds ip_list_tot entries (oldest evicted)', () => {
  const S = 1_000_000_000;
  const recent = new RecentTables(3);
  const set = { kind: 'recent', module: 'recent', command: 'set', name: 'L', seconds: 0, hitcount: 0, reap: false, rttl: false, mask: 0xffffffff, side: 'rsource', neg: false } as const;
  const rcheck = { ...set, command: 'rcheck', seconds: 10, reap: true } as const;
  recent.evaluate(set, 1, 0);
  recent.evaluate(set, 2, 5 * S);
  assert.equal(recent.evaluate(rcheck, 2, 12 * S), true, '2 was seen 7 s ago');
  assert.deepEqual(recent.entries('L').map((e) => e.address), [2], '1 (last seen 12 s ago) was reaped');
  assert.equal(recent.evaluate(rcheck, 1, 12 * S), false);
  recent.evaluate(set, 3, 13 * S);
  recent.evaluate(set, 4, 14 * S);
  recent.evaluate(set, 5, 15 * S);
  assert.deepEqual(recent.entries('L').map((e) => e.address), [3, 4, 5], 'a full list evicts its least recently seen entry');
  // --update refreshes on a hit; --remove deletes; ! inverts.
  const update = { ...set, command: 'update', seconds: 10 } as const;
  assert.equal(recent.evaluate(update, 3, 20 * S), true);
  assert.equal(recent.entries('L').find((e) => e.address === 3)!.lastSeenNs, 20 * S);
  assert.equal(recent.evaluate({ ...set, command: 'remove' }, 3, 21 * S), true);
  assert.equal(recent.evaluate({ ...rcheck, neg: true }, 3, 21 * S), true);
});

test('matches are evaluated in rule order and stop at the first that fails (matches evaluated counts them)', () => {
  const rs = rulesFrom({ filter: [':INPUT ACCEPT [0:0]', '-A INPUT -m comment --comment a -m mark --mark 0x1 -m comment --comment b -j DROP'] });
  const w = walk(rs, 'INPUT', pkt(T));
  assert.equal(w.res.matchesEvaluated, 2);
  // A failing built-in part (-d) costs the rule but no extension match.
  const rs2 = rulesFrom({ filter: [':INPUT ACCEPT [0:0]', '-A INPUT -d 10.0.0.1/32 -m comment --comment a -j DROP'] });
  const w2 = walk(rs2, 'INPUT', pkt(T));
  assert.deepEqual([w2.res.rulesVisited, w2.res.matchesEvaluated], [1, 0]);
});

test('recent --hitcount counts timestamps within --seconds; the default list keeps 100 addresses (ip_list_tot)', () => {
  const S = 1_000_000_000;
  const recent = new RecentTables();
  const set = { kind: 'recent', module: 'recent', command: 'set', name: 'H', seconds: 0, hitcount: 0, reap: false, rttl: false, mask: 0xffffffff, side: 'rsource', neg: false } as const;
  const three = { ...set, command: 'rcheck', seconds: 60, hitcount: 3 } as const;
  recent.evaluate(set, 7, 0);
  recent.evaluate(set, 7, 10 * S);
  assert.equal(recent.evaluate(three, 7, 20 * S), false, 'two hits');
  recent.evaluate(set, 7, 30 * S);
  assert.equal(recent.evaluate(three, 7, 40 * S), true, 'three hits within 60 s');
  assert.equal(recent.evaluate(three, 7, 65 * S), false, 'the hit at 0 s is older than 60 s');
  // More hits than the ring holds (32 by default): only the last 32 count.
  for (let i = 0; i < 40; i++) recent.evaluate(set, 8, 100 * S + i);
  assert.equal(recent.evaluate({ ...set, command: 'rcheck', hitcount: 32 }, 8, 200 * S), true);
  for (let a = 1000; a < 1100; a++) recent.evaluate({ ...set, name: 'BIG' }, a, 0);
  assert.equal(recent.entries('BIG').length, 100);
  recent.evaluate({ ...set, name: 'BIG' }, 5000, 1);
  assert.deepEqual([recent.entries('BIG').length, recent.entries('BIG')[0]!.address], [100, 1001], 'the oldest (1000) was evicted');
});
