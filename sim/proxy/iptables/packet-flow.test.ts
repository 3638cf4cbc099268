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
import { DEFAULT_COSTS } from '../../net/cost-model.ts';
import { formatIPv4, parseIPv4 } from '../../net/ipv4.ts';
import { makePacket } from '../../net/packet.ts';
import { compileRuleset, type CompiledRuleset } from '../../netfilter/compile.ts';
import { newHookResult, type EvalContext } from '../../netfilter/context.ts';
import { evaluateHook } from '../../netfilter/evaluate.ts';
import { walkPath } from '../../netfilter/packet-path.ts';
import { RecentTables } from '../../netfilter/recent.ts';
import { proxyStateFromObjects } from '../from-api.ts';
import { FAKE_PROXIER_OPTIONS, testService, testSlice, type TestEndpoint } from './golden-fixtures.ts';
import {
  internalExternalMasquerade,
  servicePort,
  TEST_EXTERNAL_CLIENT,
  TEST_EXTERNAL_CLIENT_BLOCKED,
  TEST_NODE_IPS,
  type PacketFlow,
} from '../packet-flow-fixtures.ts';
import { nodeRuleset } from './node-ruleset.ts';

type Flow = PacketFlow;
const NODE_IPS = TEST_NODE_IPS;
const EXTERNAL_CLIENT = TEST_EXTERNAL_CLIENT;
const EXTERNAL_CLIENT_BLOCKED = TEST_EXTERNAL_CLIENT_BLOCKED;
const port = servicePort;

function rules(services: ReturnType<typeof testService>[], slices: ReturnType<typeof testSlice>[]): CompiledRuleset {
  const state = proxyStateFromObjects(services, slices, 'test-node');
  return compileRuleset(nodeRuleset(state, FAKE_PROXIER_OPTIONS).ruleset);
}

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
      localAddrs: new Set(NODE_IPS.map((ip) => parseIPv4(ip))),
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

test('TestNoEndpointsReject: ClusterIP, external IP, NodePort and LoadBalancer IP of a service without endpoints reject', () => {
  const rs = rules(
    [
      testService(
        'ns1',
        'svc1',
        { type: 'LoadBalancer', clusterIP: '172.30.0.41', externalIPs: ['192.168.99.11'], ports: [port('p80', 80, 'TCP', { nodePort: 3001 })] },
        [{ ip: '1.2.3.4' }],
      ),
    ],
    [],
  );
  runPacketFlowTests(rs, [
    { name: 'pod to cluster IP with no endpoints', src: '10.0.0.2', dst: '172.30.0.41', dport: 80, output: 'REJECT' },
    { name: 'external to external IP with no endpoints', src: EXTERNAL_CLIENT, dst: '192.168.99.11', dport: 80, output: 'REJECT' },
    { name: 'pod to NodePort with no endpoints', src: '10.0.0.2', dst: '192.168.0.2', dport: 3001, output: 'REJECT' },
    { name: 'external to NodePort with no endpoints', src: EXTERNAL_CLIENT, dst: '192.168.0.2', dport: 3001, output: 'REJECT' },
    { name: 'pod to LoadBalancer IP with no endpoints', src: '10.0.0.2', dst: '1.2.3.4', dport: 80, output: 'REJECT' },
    { name: 'external to LoadBalancer IP with no endpoints', src: EXTERNAL_CLIENT, dst: '1.2.3.4', dport: 80, output: 'REJECT' },
  ]);
});

test('TestClusterIPGeneral: hairpin masquerade, several endpoints, targetPort, TCP/UDP/SCTP on one port, no cross-port match', () => {
  const local: TestEndpoint = { ip: '10.180.0.1', nodeName: 'test-node' };
  const rs = rules(
    [
      testService('ns1', 'svc1', { clusterIP: '172.30.0.41', ports: [port('http', 80)] }),
      testService('ns2', 'svc2', {
        clusterIP: '172.30.0.42',
        ports: [
          port('http', 80),
          port('https', 443, 'TCP', { targetPort: 8443 }),
          port('dns-udp', 53, 'UDP'),
          port('dns-tcp', 53, 'TCP', { targetPort: 5353 }),
          port('dns-sctp', 53, 'SCTP'),
        ],
      }),
    ],
    [
      testSlice('ns1', 'svc1', [local], [{ name: 'http', port: 80 }]),
      testSlice('ns2', 'svc2', [local, { ip: '10.180.2.1', nodeName: 'node2' }], [
        { name: 'http', port: 80 },
        { name: 'https', port: 8443 },
        { name: 'dns-udp', port: 53, protocol: 'UDP' },
        { name: 'dns-tcp', port: 5353 },
        { name: 'dns-sctp', port: 53, protocol: 'SCTP' },
      ]),
    ],
  );
  runPacketFlowTests(rs, [
    { name: 'simple clusterIP', src: '10.180.0.2', dst: '172.30.0.41', dport: 80, output: '10.180.0.1:80', masq: false },
    { name: 'hairpin to cluster IP', src: '10.180.0.1', dst: '172.30.0.41', dport: 80, output: '10.180.0.1:80', masq: true },
    { name: 'clusterIP with multiple endpoints', src: '10.180.0.2', dst: '172.30.0.42', dport: 80, output: '10.180.0.1:80, 10.180.2.1:80', masq: false },
    { name: 'clusterIP with TargetPort', src: '10.180.0.2', dst: '172.30.0.42', dport: 443, output: '10.180.0.1:8443, 10.180.2.1:8443', masq: false },
    { name: 'same port (TCP)', src: '10.180.0.2', dst: '172.30.0.42', dport: 53, output: '10.180.0.1:5353, 10.180.2.1:5353', masq: false },
    { name: 'same port (UDP)', src: '10.180.0.2', proto: 'udp', dst: '172.30.0.42', dport: 53, output: '10.180.0.1:53, 10.180.2.1:53', masq: false },
    { name: 'same port (SCTP)', src: '10.180.0.2', proto: 'sctp', dst: '172.30.0.42', dport: 53, output: '10.180.0.1:53, 10.180.2.1:53', masq: false },
    { name: 'TCP-only port does not match UDP traffic', src: '10.180.0.2', proto: 'udp', dst: '172.30.0.42', dport: 80, output: '' },
    { name: "svc1 does not accept svc2's ports", src: '10.180.0.2', dst: '172.30.0.41', dport: 443, output: '' },
  ]);
});

test('TestLoadBalancer: source ranges drop other clients and pods, allow the node and the LB VIPs as sources; NodePort bypasses them', () => {
  const ep = '10.180.0.1:80';
  const rs = rules(
    [
      testService(
        'ns1',
        'svc1',
        {
          type: 'LoadBalancer',
          clusterIP: '172.30.0.41',
          ports: [port('p80', 80, 'TCP', { nodePort: 3001 })],
          loadBalancerSourceRanges: ['192.168.0.0/24', ' 203.0.113.0/25'],
        },
        [{ ip: '1.2.3.4' }, { ip: '5.6.7.8' }],
      ),
    ],
    [testSlice('ns1', 'svc1', [{ ip: '10.180.0.1' }], [{ name: 'p80', port: 80 }])],
  );
  runPacketFlowTests(rs, [
    { name: 'pod to cluster IP', src: '10.0.0.2', dst: '172.30.0.41', dport: 80, output: ep, masq: false },
    { name: 'external to nodePort', src: EXTERNAL_CLIENT, dst: '192.168.0.2', dport: 3001, output: ep, masq: true },
    { name: 'nodePort bypasses LoadBalancerSourceRanges', src: EXTERNAL_CLIENT_BLOCKED, dst: '192.168.0.2', dport: 3001, output: ep, masq: true },
    { name: 'accepted external to LB1', src: EXTERNAL_CLIENT, dst: '1.2.3.4', dport: 80, output: ep, masq: true },
    { name: 'accepted external to LB2', src: EXTERNAL_CLIENT, dst: '5.6.7.8', dport: 80, output: ep, masq: true },
    { name: 'blocked external to LB1', src: EXTERNAL_CLIENT_BLOCKED, dst: '1.2.3.4', dport: 80, output: 'DROP' },
    { name: 'blocked external to LB2', src: EXTERNAL_CLIENT_BLOCKED, dst: '5.6.7.8', dport: 80, output: 'DROP' },
    { name: 'pod to LB1 (blocked by LoadBalancerSourceRanges)', src: '10.0.0.2', dst: '1.2.3.4', dport: 80, output: 'DROP' },
    { name: 'pod to LB2 (blocked by LoadBalancerSourceRanges)', src: '10.0.0.2', dst: '5.6.7.8', dport: 80, output: 'DROP' },
    { name: 'node to LB1 (allowed by LoadBalancerSourceRanges)', src: '192.168.0.2', dst: '1.2.3.4', dport: 80, output: ep, masq: true },
    { name: 'node to LB2 (allowed by LoadBalancerSourceRanges)', src: '192.168.0.2', dst: '5.6.7.8', dport: 80, output: ep, masq: true },
    { name: 'same node to LB1, SNATted to LB1 (implicitly allowed)', src: '1.2.3.4', dst: '1.2.3.4', dport: 80, output: ep, masq: true },
    { name: 'same node to LB2, SNATted to LB2 (implicitly allowed)', src: '5.6.7.8', dst: '5.6.7.8', dport: 80, output: ep, masq: true },
  ]);
});

test('TestInternalExternalMasquerade: eTP/iTP Local, masquerading and short-circuits with and without a local detector and --masquerade-all', () => {
  const t = internalExternalMasquerade();
  const state = proxyStateFromObjects(t.services, t.slices, 'test-node');
  for (const c of t.cases) {
    const options = { ...FAKE_PROXIER_OPTIONS, masqueradeAll: c.masqueradeAll, clusterCIDR: c.localDetector ? FAKE_PROXIER_OPTIONS.clusterCIDR : undefined };
    runPacketFlowTests(compileRuleset(nodeRuleset(state, options).ruleset), c.flows);
  }
});
