/**
 * The cluster and packet flows of kube-proxy's TestInternalExternalMasquerade (kubernetes/kubernetes
 * pkg/proxy/iptables/proxier_test.go and pkg/proxy/nftables/proxier_test.go share it): three
 * LoadBalancers with a local and a remote endpoint each, svc2 with externalTrafficPolicy Local and
 * svc3 with internalTrafficPolicy Local, the same flows checked under four configurations (base, no
 * local-traffic detector, --masquerade-all, both). The flow tests of each mode walk these through
 * their own kernel model.
 *
 * A flow's output is kube-proxy's: the endpoints the DNAT can choose ("ip:port, ip:port"), "" when
 * no kube-proxy rule rewrites the packet, or the verdict ("REJECT", "DROP"); masq says whether the
 * packet is masqueraded.
 */
import type { EndpointSlice, Service, ServiceSpec } from '../../k8s/objects.ts';
import type { Protocol } from '../../net/protocol.ts';
import { proxyStateFromObjects } from '../from-api.ts';
import { testService, testSlice, type TestEndpoint } from './golden-fixtures.ts';
import type { ProxyState } from '../proxy-state.ts';

export interface PacketFlow {
  name: string;
  src: string;
  dst: string;
  dport: number;
  proto?: Protocol;
  output: string;
  masq?: boolean;
}

/** proxier_test.go's testNodeIPs (IPv4 ones): the node's own addresses. */
export const TEST_NODE_IPS = ['192.168.0.2', '192.168.1.2', '192.168.99.11'];
export const TEST_EXTERNAL_CLIENT = '203.0.113.2';
export const TEST_EXTERNAL_CLIENT_BLOCKED = '203.0.113.130';

const EXTERNAL_CLIENT = TEST_EXTERNAL_CLIENT;
const EXTERNAL_CLIENT_BLOCKED = TEST_EXTERNAL_CLIENT_BLOCKED;
type Flow = PacketFlow;

/** One of kube-proxy's flow tests: the node's state (as test-node sees it) and the flows to check. */
export interface FlowTest {
  state: ProxyState;
  flows: PacketFlow[];
}

function cluster(services: Service[], slices: EndpointSlice[]): { state: ProxyState } {
  return { state: proxyStateFromObjects(services, slices, 'test-node') };
}

export function servicePort(name: string, p: number, protocol: 'TCP' | 'UDP' | 'SCTP' = 'TCP', extra: Partial<NonNullable<ServiceSpec['ports']>[number]> = {}) {
  return { name, port: p, protocol, ...extra };
}
const port = servicePort;

export interface MasqueradeCase {
  name: string;
  masqueradeAll: boolean;
  localDetector: boolean;
  flows: PacketFlow[];
}

export interface MasqueradeTest {
  services: Service[];
  slices: EndpointSlice[];
  cases: MasqueradeCase[];
}

export function internalExternalMasquerade(): MasqueradeTest {
  const { services, slices } = masqueradeCluster();
  const flows = masqueradeFlows();
  return {
    services,
    slices,
    cases: MASQUERADE_CASES.map((c) => {
      const unknown = Object.keys(c.overrides).filter((k) => !flows.some((f) => f.name === k));
      if (unknown.length) throw new Error(`overrides name no flow: ${unknown.join(', ')}`);
      return {
        name: c.name,
        masqueradeAll: c.masqueradeAll,
        localDetector: c.localDetector,
        flows: flows.map((f) => ({ ...f, ...c.overrides[f.name], name: `${c.name}: ${f.name}` })),
      };
    }),
  };
}

/** Three LoadBalancers with a local and a remote endpoint each; svc2 eTP:Local, svc3 iTP:Local. */
function masqueradeCluster(): { services: Service[]; slices: EndpointSlice[] } {
  const lb = (ns: string, name: string, ip: string, nodePort: number, hc: number, vip: string, extra: Partial<ServiceSpec> = {}) =>
    testService(ns, name, { type: 'LoadBalancer', clusterIP: ip, ports: [port('p80', 80, 'TCP', { nodePort })], healthCheckNodePort: hc, ...extra }, [{ ip: vip }]);
  const services = [
    lb('ns1', 'svc1', '172.30.0.41', 3001, 30001, '1.2.3.4'),
    lb('ns2', 'svc2', '172.30.0.42', 3002, 30002, '5.6.7.8', { externalTrafficPolicy: 'Local' }),
    lb('ns3', 'svc3', '172.30.0.43', 3003, 30003, '9.10.11.12', { internalTrafficPolicy: 'Local' }),
  ];
  const slices = [1, 2, 3].map((i) =>
    testSlice(`ns${i}`, `svc${i}`, [{ ip: `10.180.0.${i}`, nodeName: 'test-node' }, { ip: `10.180.1.${i}`, nodeName: 'remote' }], [{ name: 'p80', port: 80 }]),
  );
  return { services, slices };
}

/** The flows of the base case: source, destination and what kube-proxy does with them. */
function masqueradeFlows(): Flow[] {
  const pod = '10.0.0.2';
  const node = '192.168.0.2';
  const all = (i: number) => `10.180.0.${i}:80, 10.180.1.${i}:80`;
  return [
    { name: 'pod to ClusterIP', src: pod, dst: '172.30.0.41', dport: 80, output: all(1), masq: false },
    { name: 'pod to NodePort', src: pod, dst: node, dport: 3001, output: all(1), masq: true },
    { name: 'pod to LB', src: pod, dst: '1.2.3.4', dport: 80, output: all(1), masq: true },
    { name: 'node to ClusterIP', src: node, dst: '172.30.0.41', dport: 80, output: all(1), masq: true },
    { name: 'node to NodePort', src: node, dst: node, dport: 3001, output: all(1), masq: true },
    { name: 'node to LB', src: node, dst: '1.2.3.4', dport: 80, output: all(1), masq: true },
    { name: 'external to ClusterIP', src: EXTERNAL_CLIENT, dst: '172.30.0.41', dport: 80, output: all(1), masq: true },
    { name: 'external to NodePort', src: EXTERNAL_CLIENT, dst: node, dport: 3001, output: all(1), masq: true },
    { name: 'external to LB', src: EXTERNAL_CLIENT, dst: '1.2.3.4', dport: 80, output: all(1), masq: true },
    { name: 'pod to ClusterIP with eTP:Local', src: pod, dst: '172.30.0.42', dport: 80, output: all(2), masq: false },
    { name: 'pod to NodePort with eTP:Local', src: pod, dst: node, dport: 3002, output: all(2), masq: false },
    { name: 'pod to LB with eTP:Local', src: pod, dst: '5.6.7.8', dport: 80, output: all(2), masq: false },
    { name: 'node to ClusterIP with eTP:Local', src: node, dst: '172.30.0.42', dport: 80, output: all(2), masq: true },
    // (upstream's case uses svc1's NodePort here)
    { name: 'node to NodePort with eTP:Local', src: node, dst: node, dport: 3001, output: all(1), masq: true },
    { name: 'node to LB with eTP:Local', src: node, dst: '5.6.7.8', dport: 80, output: all(2), masq: true },
    { name: 'external to ClusterIP with eTP:Local', src: EXTERNAL_CLIENT, dst: '172.30.0.42', dport: 80, output: all(2), masq: true },
    { name: 'external to NodePort with eTP:Local', src: EXTERNAL_CLIENT, dst: node, dport: 3002, output: '10.180.0.2:80', masq: false },
    { name: 'external to LB with eTP:Local', src: EXTERNAL_CLIENT, dst: '5.6.7.8', dport: 80, output: '10.180.0.2:80', masq: false },
    { name: 'pod to ClusterIP with iTP:Local', src: pod, dst: '172.30.0.43', dport: 80, output: '10.180.0.3:80', masq: false },
    { name: 'pod to NodePort with iTP:Local', src: pod, dst: node, dport: 3003, output: all(3), masq: true },
    { name: 'pod to LB with iTP:Local', src: pod, dst: '9.10.11.12', dport: 80, output: all(3), masq: true },
    { name: 'node to ClusterIP with iTP:Local', src: node, dst: '172.30.0.43', dport: 80, output: '10.180.0.3:80', masq: true },
    { name: 'node to NodePort with iTP:Local', src: node, dst: node, dport: 3003, output: all(3), masq: true },
    { name: 'node to LB with iTP:Local', src: node, dst: '9.10.11.12', dport: 80, output: all(3), masq: true },
    { name: 'external to ClusterIP with iTP:Local', src: EXTERNAL_CLIENT, dst: '172.30.0.43', dport: 80, output: '10.180.0.3:80', masq: true },
    { name: 'external to NodePort with iTP:Local', src: EXTERNAL_CLIENT, dst: node, dport: 3003, output: all(3), masq: true },
    { name: 'external to LB with iTP:Local', src: EXTERNAL_CLIENT, dst: '9.10.11.12', dport: 80, output: all(3), masq: true },
  ];
}

type Override = { output?: string; masq?: boolean };
const NO_DETECTOR: Record<string, Override> = {
  // Without a local detector all traffic to a ClusterIP is taken to come from a pod: no masquerade.
  'node to ClusterIP': { masq: false },
  'node to ClusterIP with eTP:Local': { masq: false },
  'node to ClusterIP with iTP:Local': { masq: false },
  'external to ClusterIP': { masq: false },
  'external to ClusterIP with eTP:Local': { masq: false },
  'external to ClusterIP with iTP:Local': { masq: false },
  // And no eTP:Local short-circuit for pod traffic: pods get the local endpoint only.
  'pod to NodePort with eTP:Local': { output: '10.180.0.2:80' },
  'pod to LB with eTP:Local': { output: '10.180.0.2:80' },
};
const MASQ_ALL: Record<string, Override> = {
  'pod to ClusterIP': { masq: true },
  'pod to ClusterIP with eTP:Local': { masq: true },
  'pod to ClusterIP with iTP:Local': { masq: true },
};

const MASQUERADE_CASES: { name: string; masqueradeAll: boolean; localDetector: boolean; overrides: Record<string, Override> }[] = [
  { name: 'base', masqueradeAll: false, localDetector: true, overrides: {} },
  { name: 'no LocalTrafficDetector', masqueradeAll: false, localDetector: false, overrides: NO_DETECTOR },
  { name: 'masqueradeAll', masqueradeAll: true, localDetector: true, overrides: MASQ_ALL },
  {
    name: 'masqueradeAll, no LocalTrafficDetector',
    masqueradeAll: true,
    localDetector: false,
    overrides: { ...MASQ_ALL, 'pod to NodePort with eTP:Local': NO_DETECTOR['pod to NodePort with eTP:Local']!, 'pod to LB with eTP:Local': NO_DETECTOR['pod to LB with eTP:Local']! },
  },
];

/** TestNoEndpointsReject: the ClusterIP, external IP, NodePort and LoadBalancer IP of a service without endpoints reject. */
export function noEndpointsReject(): FlowTest {
  return {
    ...cluster(
      [
        testService(
          'ns1',
          'svc1',
          { type: 'LoadBalancer', clusterIP: '172.30.0.41', externalIPs: ['192.168.99.11'], ports: [port('p80', 80, 'TCP', { nodePort: 3001 })] },
          [{ ip: '1.2.3.4' }],
        ),
      ],
      [],
    ),
    flows: [
      { name: 'pod to cluster IP with no endpoints', src: '10.0.0.2', dst: '172.30.0.41', dport: 80, output: 'REJECT' },
      { name: 'external to external IP with no endpoints', src: EXTERNAL_CLIENT, dst: '192.168.99.11', dport: 80, output: 'REJECT' },
      { name: 'pod to NodePort with no endpoints', src: '10.0.0.2', dst: '192.168.0.2', dport: 3001, output: 'REJECT' },
      { name: 'external to NodePort with no endpoints', src: EXTERNAL_CLIENT, dst: '192.168.0.2', dport: 3001, output: 'REJECT' },
      { name: 'pod to LoadBalancer IP with no endpoints', src: '10.0.0.2', dst: '1.2.3.4', dport: 80, output: 'REJECT' },
      { name: 'external to LoadBalancer IP with no endpoints', src: EXTERNAL_CLIENT, dst: '1.2.3.4', dport: 80, output: 'REJECT' },
    ],
  };
}

/**
 * TestClusterIPGeneral: hairpin masquerade, several endpoints, targetPort, TCP/UDP/SCTP on one port,
 * no cross-port match. In nftables mode a ClusterIP's other ports are rejected (cluster-ips-check,
 * "Reject traffic to invalid ports of ClusterIPs") and unallocated IPs of the service CIDR dropped:
 * that mode's version of the test expects REJECT for the two mismatches and adds the DROP flow.
 */
export function clusterIPGeneral(mode: 'iptables' | 'nftables' = 'iptables'): FlowTest {
  const local: TestEndpoint = { ip: '10.180.0.1', nodeName: 'test-node' };
  const mismatch = mode === 'nftables' ? 'REJECT' : '';
  return {
    ...cluster(
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
    ),
    flows: [
      { name: 'simple clusterIP', src: '10.180.0.2', dst: '172.30.0.41', dport: 80, output: '10.180.0.1:80', masq: false },
      { name: 'hairpin to cluster IP', src: '10.180.0.1', dst: '172.30.0.41', dport: 80, output: '10.180.0.1:80', masq: true },
      { name: 'clusterIP with multiple endpoints', src: '10.180.0.2', dst: '172.30.0.42', dport: 80, output: '10.180.0.1:80, 10.180.2.1:80', masq: false },
      { name: 'clusterIP with TargetPort', src: '10.180.0.2', dst: '172.30.0.42', dport: 443, output: '10.180.0.1:8443, 10.180.2.1:8443', masq: false },
      { name: 'same port (TCP)', src: '10.180.0.2', dst: '172.30.0.42', dport: 53, output: '10.180.0.1:5353, 10.180.2.1:5353', masq: false },
      { name: 'same port (UDP)', src: '10.180.0.2', proto: 'udp', dst: '172.30.0.42', dport: 53, output: '10.180.0.1:53, 10.180.2.1:53', masq: false },
      { name: 'same port (SCTP)', src: '10.180.0.2', proto: 'sctp', dst: '172.30.0.42', dport: 53, output: '10.180.0.1:53, 10.180.2.1:53', masq: false },
      { name: 'TCP-only port does not match UDP traffic', src: '10.180.0.2', proto: 'udp', dst: '172.30.0.42', dport: 80, output: mismatch },
      { name: "svc1 does not accept svc2's ports", src: '10.180.0.2', dst: '172.30.0.41', dport: 443, output: mismatch },
      ...(mode === 'nftables' ? [{ name: 'packet to unallocated cluster ip', src: '10.180.0.2', dst: '172.30.0.50', dport: 80, output: 'DROP' }] : []),
    ],
  };
}

/** TestLoadBalancer: source ranges drop other clients and pods, admit the node and the LB VIPs as sources; NodePort bypasses them. */
export function loadBalancer(): FlowTest {
  const ep = '10.180.0.1:80';
  return {
    ...cluster(
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
    ),
    flows: [
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
    ],
  };
}

/**
 * TestExternalTrafficPolicyLocal / TestExternalTrafficPolicyCluster: one LoadBalancer with an
 * external IP, a remote and a local endpoint. With Local, external clients reach only the local
 * endpoint and nothing external is masqueraded (pods still reach both); with Cluster, everything
 * but pod-to-ClusterIP is masqueraded and reaches both.
 */
export function externalTrafficPolicy(policy: 'Local' | 'Cluster'): FlowTest {
  const both = '10.180.0.1:80, 10.180.2.1:80';
  const local = policy === 'Local';
  return {
    ...cluster(
      [
        testService(
          'ns1',
          'svc1',
          {
            type: 'LoadBalancer',
            externalTrafficPolicy: policy,
            clusterIP: '172.30.0.41',
            externalIPs: ['192.168.99.11'],
            ports: [port('p80', 80, 'TCP', { nodePort: 3001, targetPort: 80 })],
            ...(local ? { healthCheckNodePort: 30000 } : {}),
          },
          [{ ip: '1.2.3.4' }],
        ),
      ],
      [testSlice('ns1', 'svc1', [{ ip: '10.180.0.1' }, { ip: '10.180.2.1', nodeName: 'test-node' }], [{ name: 'p80', port: 80 }])],
    ),
    flows: [
      { name: 'pod to cluster IP', src: '10.0.0.2', dst: '172.30.0.41', dport: 80, output: both, masq: false },
      { name: 'pod to external IP', src: '10.0.0.2', dst: '192.168.99.11', dport: 80, output: both, masq: !local },
      { name: 'external to external IP', src: EXTERNAL_CLIENT, dst: '192.168.99.11', dport: 80, output: local ? '10.180.2.1:80' : both, masq: !local },
      { name: 'pod to LB IP', src: '10.0.0.2', dst: '1.2.3.4', dport: 80, output: both, masq: !local },
      { name: 'external to LB IP', src: EXTERNAL_CLIENT, dst: '1.2.3.4', dport: 80, output: local ? '10.180.2.1:80' : both, masq: !local },
      { name: 'pod to NodePort', src: '10.0.0.2', dst: '192.168.0.2', dport: 3001, output: both, masq: !local },
      { name: 'external to NodePort', src: EXTERNAL_CLIENT, dst: '192.168.0.2', dport: 3001, output: local ? '10.180.2.1:80' : both, masq: !local },
    ],
  };
}
