import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import fc from 'fast-check';
import { parseNft } from './parse.ts';
import { renderDump, renderListRuleset } from './render.ts';
import { sortNftTransaction } from './testing/normalize.ts';
import { evaluateHook, type NftContext } from './evaluate.ts';
import { DynamicSets } from './dynamic-sets.ts';
import { CT_STATE_BITS } from './key.ts';
import { DEFAULT_COSTS } from '../cost/cost-model.ts';
import { makePacket } from '../net/packet.ts';
import { formatIPv4, parseIPv4 } from '../net/ipv4.ts';
import { InputError } from '../io/input-error.ts';
import { RandomStream } from '../engine/random.ts';

const OVERALL = 'test/golden/proxy/nftables/overall.expected.nft';
const LIST_GOLDEN = 'test/golden/nftables/overall.list.nft';

function golden(path: string, actual: string): void {
  if (process.env.UPDATE_GOLDEN || !existsSync(path)) writeFileSync(path, actual);
  assert.equal(actual, readFileSync(path, 'utf8'));
}

const overallText = readFileSync(OVERALL, 'utf8');

test('the kube-proxy dump parses and dumps back to the same lines (after kube-proxy test normalisation)', () => {
  const rs = parseNft(overallText, OVERALL);
  assert.equal(sortNftTransaction(renderDump(rs)), sortNftTransaction(overallText));
});

test('nft list ruleset rendering is golden and parses back to the same ruleset', () => {
  const rs = parseNft(overallText, OVERALL);
  const listed = renderListRuleset(rs);
  golden(LIST_GOLDEN, listed);
  assert.match(listed, /type filter hook prerouting priority dstnat - 10; policy accept;/);
  assert.match(listed, /meta mark & 0x00004000 == 0x00000000 return/);
  const again = parseNft(listed, 'listed');
  assert.equal(sortNftTransaction(renderDump(again)), sortNftTransaction(renderDump(rs)));
});

function ctx(extra: Partial<NftContext> = {}): NftContext {
  return {
    nowNs: 0,
    ctState: CT_STATE_BITS.new,
    localAddresses: new Set([parseIPv4('192.168.0.2')]),
    numgen: new RandomStream(1, 'test/numgen'),
    dynamic: new DynamicSets(),
    costs: DEFAULT_COSTS,
    ...extra,
  };
}

/** A forwarded packet (pod or external client to a service): prerouting, forward, postrouting. */
function forward(rsText: string, src: string, dst: string, dport: number, c = ctx()) {
  const rs = parseNft(rsText, OVERALL);
  const p = makePacket({ proto: 'tcp', src: parseIPv4(src), dst: parseIPv4(dst), sport: 40000, dport });
  const pre = evaluateHook(rs, 'prerouting', p, c);
  if (pre.verdict !== 'accept') return { out: pre.verdict.toUpperCase(), masq: false, cost: pre.costNs };
  const hook = c.localAddresses.has(p.dst) ? 'input' : 'forward';
  const fw = evaluateHook(rs, hook, p, c);
  if (fw.verdict !== 'accept') return { out: fw.verdict.toUpperCase(), masq: false, cost: pre.costNs + fw.costNs };
  const post = evaluateHook(rs, 'postrouting', p, c);
  return { out: `${formatIPv4(p.dst)}:${p.dport}`, masq: post.masquerade, cost: pre.costNs + fw.costNs + post.costNs, pre };
}

test('packet flows through the TestOverallNFTablesRules ruleset', () => {
  assert.deepEqual(pick(forward(overallText, '10.0.0.2', '172.30.0.41', 80)), { out: '10.180.0.1:80', masq: false });
  // Off-cluster source to a ClusterIP is masqueraded (ip saddr != 10.0.0.0/8 jump mark-for-masquerade).
  assert.deepEqual(pick(forward(overallText, '203.0.113.2', '172.30.0.41', 80)), { out: '10.180.0.1:80', masq: true });
  // Hairpin: the endpoint reaching itself through the service is masqueraded.
  assert.deepEqual(pick(forward(overallText, '10.180.0.1', '172.30.0.41', 80)), { out: '10.180.0.1:80', masq: true });
  // NodePort of svc3 on the node IP, from outside: masqueraded (externalTrafficPolicy Cluster).
  assert.deepEqual(pick(forward(overallText, '203.0.113.2', '192.168.0.2', 3003)), { out: '10.180.0.3:80', masq: true });
  // svc6 has no endpoints: REJECT; an unallocated ClusterIP: DROP; a wrong port of a ClusterIP: REJECT.
  assert.equal(forward(overallText, '10.0.0.2', '172.30.0.46', 80).out, 'REJECT');
  assert.equal(forward(overallText, '10.0.0.2', '172.30.0.50', 80).out, 'DROP');
  assert.equal(forward(overallText, '10.0.0.2', '172.30.0.41', 443).out, 'REJECT');
  // LoadBalancerSourceRanges: allowed range passes, others are dropped before DNAT.
  assert.equal(forward(overallText, '203.0.113.2', '5.6.7.8', 80).out, '10.180.0.3:80');
  assert.equal(forward(overallText, '203.0.113.130', '5.6.7.8', 80).out, 'DROP');
  // svc2 is Local with no local endpoints: external traffic to its LB IP is dropped, pods short-circuit.
  assert.equal(forward(overallText, '203.0.113.2', '1.2.3.4', 80).out, 'DROP');
  assert.equal(forward(overallText, '10.0.0.2', '1.2.3.4', 80).out, '10.180.0.2:80');
  // Two endpoints: both are chosen over many draws.
  const seen = new Set<string>();
  const c = ctx();
  for (let i = 0; i < 50; i++) seen.add(forward(overallText, '10.0.0.2', '172.30.0.44', 80, c).out);
  assert.deepEqual([...seen].sort(), ['10.180.0.4:80', '10.180.0.5:80']);
});

function pick(r: { out: string; masq: boolean }) {
  return { out: r.out, masq: r.masq };
}

test('cost: prerouting to a ClusterIP walks a fixed number of rules and lookups', () => {
  const r = forward(overallText, '10.0.0.2', '172.30.0.41', 80) as any;
  // filter-prerouting-pre-dnat: 1 rule -> firewall-check: 1 rule (vmap miss); nat-prerouting: jump services,
  // services: vmap hit -> service chain: masq check, numgen -> endpoint chain: saddr check, dnat.
  assert.equal(r.pre.rulesVisited, 8);
  assert.equal(r.pre.lookups, 3);
  assert.equal(r.pre.baseChains, 2);
  assert.equal(r.pre.costNs, 2 * DEFAULT_COSTS.hookNs + 8 * DEFAULT_COSTS.nftRuleNs + 3 * DEFAULT_COSTS.nftLookupNs);
});

test('session affinity: update @affinity-set pins the client until the timeout', () => {
  const c = ctx();
  const first = forward(overallText, '10.0.0.9', '172.30.0.45', 80, c);
  assert.equal(first.out, '10.180.0.3:80');
  const rs = parseNft(overallText, OVERALL);
  const key = [...rs.tables.values()][0];
  assert.equal(c.dynamic!.size('ip kube-proxy', 'affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80', 0), 1);
  assert.equal(c.dynamic!.size('ip kube-proxy', 'affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80', 10800e9 + 1), 0);
  assert.ok(key);
});

test('established packets skip nat chains', () => {
  const rs = parseNft(overallText, OVERALL);
  const p = makePacket({ proto: 'tcp', src: parseIPv4('10.0.0.2'), dst: parseIPv4('172.30.0.41'), sport: 1, dport: 80 });
  const r = evaluateHook(rs, 'prerouting', p, ctx({ ctState: CT_STATE_BITS.established }));
  assert.equal(r.dnat, false);
  assert.equal(r.baseChains, 1);
});

test('errors name file:line:col, expected and found', () => {
  const bad = 'add table ip t\nadd chain ip t c\nadd rule ip t c ip daddr 10.0.0.300 drop\n';
  assert.throws(() => parseNft(bad, 'x.nft'), (e: unknown) => e instanceof InputError && /^x\.nft:3:26: expected a value of type ipv4_addr/.test(e.message));
  assert.throws(() => parseNft('add rule ip t c drop\n', 'y.nft'), (e: unknown) => e instanceof InputError && /^y\.nft:1:1: expected an existing table ip t/.test(e.message));
  assert.throws(
    () => parseNft('add table ip t\nadd chain ip t c\nadd rule ip t c jump nowhere\n', 'z.nft'),
    (e: unknown) => e instanceof InputError && /z\.nft:3:1: expected an existing chain "nowhere"/.test(e.message),
  );
  assert.throws(() => parseNft('add table ip t {\n', 'w.nft'), (e: unknown) => e instanceof InputError && /^w\.nft:2:1: expected "comment" or "}"/.test(e.message));
  assert.throws(
    () => parseNft('add table ip t\nadd map ip t m { type ipv4_addr : verdict ; }\nadd element ip t m { 1.2.3.4 }\n', 'v.nft'),
    (e: unknown) => e instanceof InputError && /^v\.nft:3:30: expected ":"/.test(e.message),
  );
});

test('property: a verdict-map lookup agrees with a linear scan of the elements, and list text round-trips', () => {
  const svc = fc.record({ ip: fc.integer({ min: 0x0a600000, max: 0x0a6000ff }), proto: fc.constantFrom('tcp', 'udp'), port: fc.integer({ min: 1, max: 65535 }) });
  fc.assert(
    fc.property(fc.uniqueArray(svc, { minLength: 1, maxLength: 20, selector: (s) => `${s.ip}/${s.proto}/${s.port}` }), svc, (svcs, probe) => {
      const lines = ['add table ip t', 'add chain ip t pre { type filter hook prerouting priority 0 ; }', 'add map ip t m { type ipv4_addr . inet_proto . inet_service : verdict ; }'];
      svcs.forEach((s, i) => {
        lines.push(`add chain ip t c${i}`, `add rule ip t c${i} drop`);
        lines.push(`add element ip t m { ${formatIPv4(s.ip)} . ${s.proto} . ${s.port} : goto c${i} }`);
      });
      lines.push('add rule ip t pre ip daddr . meta l4proto . th dport vmap @m');
      const rs = parseNft(lines.join('\n'), 'prop');
      const p = makePacket({ proto: probe.proto as 'tcp', src: 1, dst: probe.ip, sport: 1, dport: probe.port });
      const r = evaluateHook(rs, 'prerouting', p, ctx());
      const linear = svcs.some((s) => s.ip === probe.ip && s.proto === probe.proto && s.port === probe.port);
      assert.equal(r.verdict, linear ? 'drop' : 'accept');
      const again = parseNft(renderListRuleset(rs), 'listed');
      assert.equal(sortNftTransaction(renderDump(again)), sortNftTransaction(renderDump(rs)));
    }),
    { numRuns: 50 },
  );
});
