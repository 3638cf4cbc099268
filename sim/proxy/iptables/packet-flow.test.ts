/**
 * kube-proxy's packet-flow tests (kubernetes/kubernetes pkg/proxy/iptables/proxier_test.go,
 * runPacketFlowTests): the rules a fake proxier wrote are loaded into the netfilter model, and a
 * first packet from a source to a destination is walked through the node's hooks. The expected
 * output is kube-proxy's: the set of endpoints the DNAT can choose ("ip:port, ip:port"), "" when
 * no kube-proxy rule rewrites the packet, or the verdict ("REJECT", "DROP"); and whether the
 * packet is masqueraded.
 *
 * kube-proxy's tracer follows every --probability branch; here each flow is sent 200 times with
 * different source ports and the endpoints seen are collected (a miss of one of two endpoints over
 * 200 draws has probability 2^-199).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RandomStream } from '../../engine/random.ts';
import { DEFAULT_COSTS } from '../../cost/cost-model.ts';
import { formatIPv4, parseIPv4 } from '../../net/ipv4.ts';
import { makePacket } from '../../net/packet.ts';
import { compileRuleset, type CompiledRuleset } from '../../netfilter/compile.ts';
import { newHookResult, type EvalContext } from '../../netfilter/context.ts';
import { evaluateHook } from '../../netfilter/evaluate.ts';
import { walkPath } from '../../host/packet-path.ts';
import { RecentTables } from '../../netfilter/recent.ts';
import { proxyStateFromObjects } from '../from-api.ts';
import { FAKE_PROXIER_OPTIONS } from '../testing/golden-fixtures.ts';
import {
  clusterIPGeneral,
  externalTrafficPolicy,
  internalExternalMasquerade,
  loadBalancer,
  noEndpointsReject,
  TEST_NODE_IPS,
  type FlowTest,
  type PacketFlow,
} from '../testing/packet-flow-fixtures.ts';
import { nodeRuleset } from './node-ruleset.ts';

type Flow = PacketFlow;

function trace(rs: CompiledRuleset, f: Flow): { output: string; masq: boolean } {
  const seen = new Set<string>();
  let masq = false;
  let verdict = '';
  const random = new RandomStream(1, `test/packet-flow/${f.name}`);
  for (let i = 0; i < 200; i++) {
    const ctx: EvalContext = {
      backend: 'legacy',
      costs: DEFAULT_COSTS,
      firstPacket: true,
      ctState: 2,
      random,
      recent: new RecentTables(),
      nowNs: 0,
      ipsets: null,
      localAddrs: new Set(TEST_NODE_IPS.map((ip) => parseIPv4(ip))),
      conntrack: null,
      trace: null,
    };
    const res = newHookResult();
    const p = makePacket({ proto: f.proto ?? 'tcp', src: parseIPv4(f.src), dst: parseIPv4(f.dst), sport: 30000 + i, dport: f.dport });
    const r = walkPath((hook) => evaluateHook(rs, hook, p, ctx, res), p, ctx);
    if (r.verdict !== 'ACCEPT') verdict = r.verdict;
    else if (res.dnat) seen.add(`${formatIPv4(p.dst)}:${p.dport}`);
    if (res.masquerade) masq = true;
  }
  const output = verdict || [...seen].sort().join(', ');
  return { output, masq };
}

function runPacketFlowTests(rs: CompiledRuleset, flows: Flow[]): void {
  for (const f of flows) {
    const got = trace(rs, f);
    const want = f.output.split(', ').sort().join(', ');
    assert.equal(got.output, want, `${f.name}: output`);
    if (f.masq !== undefined && want !== 'REJECT' && want !== 'DROP' && want !== '') assert.equal(got.masq, f.masq, `${f.name}: masq`);
  }
}

const cases: [string, () => FlowTest][] = [
  ['TestNoEndpointsReject', noEndpointsReject],
  ['TestClusterIPGeneral', clusterIPGeneral],
  ['TestLoadBalancer', loadBalancer],
  ['TestExternalTrafficPolicyLocal', () => externalTrafficPolicy('Local')],
  ['TestExternalTrafficPolicyCluster', () => externalTrafficPolicy('Cluster')],
];
for (const [name, make] of cases) {
  test(`${name}: packet flows through the rules`, () => {
    const { state, flows } = make();
    runPacketFlowTests(compileRuleset(nodeRuleset(state, FAKE_PROXIER_OPTIONS).ruleset), flows);
  });
}

test('TestInternalExternalMasquerade: eTP/iTP Local, masquerading and short-circuits with and without a local detector and --masquerade-all', () => {
  const t = internalExternalMasquerade();
  const state = proxyStateFromObjects(t.services, t.slices, 'test-node');
  for (const c of t.cases) {
    const options = { ...FAKE_PROXIER_OPTIONS, masqueradeAll: c.masqueradeAll, clusterCIDR: c.localDetector ? FAKE_PROXIER_OPTIONS.clusterCIDR : undefined };
    runPacketFlowTests(compileRuleset(nodeRuleset(state, options).ruleset), c.flows);
  }
});
