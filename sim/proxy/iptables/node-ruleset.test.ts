import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_COSTS } from '../../cost/cost-model.ts';
import { formatIPv4, parseIPv4 } from '../../net/ipv4.ts';
import { makePacket } from '../../net/packet.ts';
import { RandomStream } from '../../engine/random.ts';
import { compileRuleset } from '../../netfilter/compile.ts';
import type { EvalContext } from '../../netfilter/context.ts';
import { newHookResult, resetHookResult } from '../../netfilter/context.ts';
import { evaluateHook } from '../../netfilter/evaluate.ts';
import { parseIptablesSave } from '../../netfilter/iptables-save.ts';
import { RecentTables } from '../../netfilter/recent.ts';
import { proxyStateFromObjects } from '../from-api.ts';
import { FAKE_PROXIER_OPTIONS, testService, testSlice } from '../testing/golden-fixtures.ts';
import { nodeIptablesSave, nodeRuleset } from './node-ruleset.ts';

const services = [
  testService('ns1', 'svc1', { clusterIP: '172.30.0.41', ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] }),
  testService('ns2', 'svc2', { clusterIP: '172.30.0.42', ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] }),
  testService('ns3', 'svc3', {
    clusterIP: '172.30.0.43',
    ports: [{ name: 'p80', port: 80, protocol: 'TCP' }],
    sessionAffinity: 'ClientIP',
  }),
];
const slices = [
  testSlice('ns1', 'svc1', [{ ip: '10.180.0.1' }, { ip: '10.180.0.2' }, { ip: '10.180.0.3' }], [{ name: 'p80', port: 8080 }]),
  testSlice('ns3', 'svc3', [{ ip: '10.180.3.1' }, { ip: '10.180.3.2' }], [{ name: 'p80', port: 80 }]),
];
const state = proxyStateFromObjects(services, slices, 'test-node');

function ctx(seed: number): EvalContext {
  return {
    backend: 'legacy',
    costs: DEFAULT_COSTS,
    firstPacket: true,
    ctState: 2,
    random: new RandomStream(seed, 'test/statistic'),
    recent: new RecentTables(),
    nowNs: 0,
    ipsets: null,
    localAddrs: new Set([parseIPv4('192.168.0.2')]),
    conntrack: null,
    trace: null,
  };
}

test('the restore input loads into the netfilter model and a ClusterIP packet is DNATed to an endpoint', () => {
  const { ruleset } = nodeRuleset(state, FAKE_PROXIER_OPTIONS);
  const rs = compileRuleset(ruleset);
  const c = ctx(1);
  const res = newHookResult();
  const seen = new Map<string, number>();
  for (let i = 0; i < 600; i++) {
    resetHookResult(res);
    const p = makePacket({ proto: 'tcp', src: parseIPv4('10.0.1.5'), dst: parseIPv4('172.30.0.41'), sport: 40000 + i, dport: 80 });
    assert.equal(evaluateHook(rs, 'OUTPUT', p, c, res), 'ACCEPT');
    assert.ok(res.dnat, 'DNAT chosen');
    assert.equal(p.dport, 8080);
    const to = formatIPv4(p.dst);
    seen.set(to, (seen.get(to) ?? 0) + 1);
  }
  assert.deepEqual([...seen.keys()].sort(), ['10.180.0.1', '10.180.0.2', '10.180.0.3']);
  // 1/3 each: the --probability cascade is uniform.
  for (const n of seen.values()) assert.ok(n > 150 && n < 250, `share ${n}/600`);
});

test('a ClusterIP without endpoints is rejected in filter; session affinity keeps a client on one endpoint', () => {
  const { ruleset } = nodeRuleset(state, FAKE_PROXIER_OPTIONS);
  const rs = compileRuleset(ruleset);
  const c = ctx(2);
  const res = newHookResult();
  const p = makePacket({ proto: 'tcp', src: parseIPv4('10.0.1.5'), dst: parseIPv4('172.30.0.42'), sport: 40000, dport: 80 });
  assert.equal(evaluateHook(rs, 'OUTPUT', p, c, res), 'REJECT');

  const chosen = new Set<string>();
  for (let i = 0; i < 50; i++) {
    resetHookResult(res);
    c.nowNs = i * 1e9;
    const q = makePacket({ proto: 'tcp', src: parseIPv4('10.0.1.5'), dst: parseIPv4('172.30.0.43'), sport: 41000 + i, dport: 80 });
    assert.equal(evaluateHook(rs, 'OUTPUT', q, c, res), 'ACCEPT');
    chosen.add(formatIPv4(q.dst));
  }
  assert.equal(chosen.size, 1);
});

test('iptables-save output of a node parses back to the same rules', () => {
  const text = nodeIptablesSave(state, FAKE_PROXIER_OPTIONS);
  assert.match(text, /-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES/);
  assert.match(text, /KUBE-SVC-XPGD46QRK7WJZT7O/);
  const again = parseIptablesSave(text);
  const { ruleset } = nodeRuleset(state, FAKE_PROXIER_OPTIONS);
  for (const [name, t] of ruleset.tables) {
    const u = again.ruleset.tables.get(name)!;
    // iptables-save lists user chains sorted by name (as libiptc keeps them), so compare as sets.
    assert.deepEqual([...u.chains.keys()].sort(), [...t.chains.keys()].sort(), `chains of ${name}`);
    for (const [cn, ch] of t.chains) assert.equal(u.chains.get(cn)!.rules.length, ch.rules.length, `${name}/${cn}`);
  }
});
