/**
 * kube-proxy's packet-flow tests for the nftables mode (kubernetes/kubernetes
 * pkg/proxy/nftables/proxier_test.go, runPacketFlowTests): the table a fake proxier wrote is
 * evaluated by the nftables model along the node's hooks (the same path as the iptables flow tests,
 * sim/netfilter/packet-path.ts), 200 first packets per flow with different source ports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RandomStream } from '../../engine/random.ts';
import { DEFAULT_COSTS } from '../../cost/cost-model.ts';
import { formatIPv4, parseIPv4 } from '../../net/ipv4.ts';
import { makePacket } from '../../net/packet.ts';
import { walkPath } from '../../host/packet-path.ts';
import type { Disposition as Verdict } from '../../netfilter/rule.ts';
import { DynamicSets } from '../../nftables/dynamic-sets.ts';
import { evaluateHook, newHookResult } from '../../nftables/evaluate.ts';
import { CT_STATE_BITS } from '../../nftables/key.ts';
import type { Ruleset } from '../../nftables/types.ts';
import { proxyStateFromObjects } from '../from-api.ts';
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
import { NftablesProxier, type NftablesProxierOptions } from './proxier.ts';

/** NewFakeProxier (nftables): node 192.168.0.2, pod CIDR 10.0.0.0/8, service CIDR 172.30.0.0/16, mark 0x4000. */
const FAKE: NftablesProxierOptions = {
  nodeName: 'test-node',
  nodeIP: '192.168.0.2',
  clusterCIDR: '10.0.0.0/8',
  serviceCIDRs: ['172.30.0.0/16'],
  nodePortIPs: ['192.168.0.2'],
  masqueradeMark: '0x4000',
};

const HOOK = { PREROUTING: 'prerouting', INPUT: 'input', FORWARD: 'forward', OUTPUT: 'output', POSTROUTING: 'postrouting' } as const;
const VERDICT = { accept: 'ACCEPT', drop: 'DROP', reject: 'REJECT' } as const;

function trace(rs: Ruleset, f: PacketFlow): { output: string; masq: boolean } {
  const localAddresses = new Set(TEST_NODE_IPS.map((ip) => parseIPv4(ip)));
  const numgen = new RandomStream(1, `test/nft-packet-flow/${f.name}`);
  const seen = new Set<string>();
  let verdict = '';
  let masq = false;
  for (let i = 0; i < 200; i++) {
    const ctx = { nowNs: 0, ctState: CT_STATE_BITS.new, localAddresses, numgen, dynamic: new DynamicSets(), costs: DEFAULT_COSTS };
    const p = makePacket({ proto: f.proto ?? 'tcp', src: parseIPv4(f.src), dst: parseIPv4(f.dst), sport: 30000 + i, dport: f.dport });
    let dnat = false;
    let masquerade = false;
    const out = newHookResult();
    const r = walkPath(
      (hook) => {
        evaluateHook(rs, HOOK[hook], p, ctx, out);
        dnat ||= out.dnat;
        masquerade ||= out.masquerade;
        return VERDICT[out.verdict] as Verdict;
      },
      p,
      { localAddrs: localAddresses, firstPacket: true },
    );
    if (r.verdict !== 'ACCEPT') verdict = r.verdict;
    else if (dnat) seen.add(`${formatIPv4(p.dst)}:${p.dport}`);
    if (masquerade) masq = true;
  }
  return { output: verdict || [...seen].sort().join(', '), masq };
}

function runPacketFlowTests(rs: Ruleset, flows: PacketFlow[]): void {
  for (const f of flows) {
    const got = trace(rs, f);
    const want = f.output.split(', ').sort().join(', ');
    assert.equal(got.output, want, `${f.name}: output`);
    if (f.masq !== undefined && want !== '' && want !== 'DROP' && want !== 'REJECT') assert.equal(got.masq, f.masq, `${f.name}: masq`);
  }
}

const cases: [string, () => FlowTest][] = [
  ['TestNoEndpointsReject', noEndpointsReject],
  ['TestClusterIPGeneral', () => clusterIPGeneral('nftables')],
  ['TestLoadBalancer', loadBalancer],
  ['TestExternalTrafficPolicyLocal', () => externalTrafficPolicy('Local')],
  ['TestExternalTrafficPolicyCluster', () => externalTrafficPolicy('Cluster')],
];
for (const [name, make] of cases) {
  test(`${name} (nftables): packet flows through the table`, () => {
    const { state, flows } = make();
    runPacketFlowTests(new NftablesProxier(FAKE).sync({ state, full: true }).ruleset, flows);
  });
}

test('TestInternalExternalMasquerade (nftables): eTP/iTP Local, masquerading and short-circuits in four configurations', () => {
  const t = internalExternalMasquerade();
  const state = proxyStateFromObjects(t.services, t.slices, 'test-node');
  for (const c of t.cases) {
    const options = { ...FAKE, masqueradeAll: c.masqueradeAll, clusterCIDR: c.localDetector ? FAKE.clusterCIDR : undefined };
    runPacketFlowTests(new NftablesProxier(options).sync({ state, full: true }).ruleset, c.flows);
  }
});
