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
import type { EndpointSlice, Service, ServiceSpec } from '../k8s/objects.ts';
import type { Protocol } from '../net/protocol.ts';
import { testService, testSlice } from './iptables/golden-fixtures.ts';

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
type Flow = PacketFlow;

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
  const pod = '10.0.0.2';
  const node = '192.168.0.2';
  const all = (i: number) => `10.180.0.${i}:80, 10.180.1.${i}:80`;
  const flows: Flow[] = [
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
  type Override = { output?: string; masq?: boolean };
  const noDetector: Record<string, Override> = {
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
  const masqAll: Record<string, Override> = {
    'pod to ClusterIP': { masq: true },
    'pod to ClusterIP with eTP:Local': { masq: true },
    'pod to ClusterIP with iTP:Local': { masq: true },
  };
  const cases: { name: string; masqueradeAll: boolean; localDetector: boolean; overrides: Record<string, Override> }[] = [
    { name: 'base', masqueradeAll: false, localDetector: true, overrides: {} },
    { name: 'no LocalTrafficDetector', masqueradeAll: false, localDetector: false, overrides: noDetector },
    { name: 'masqueradeAll', masqueradeAll: true, localDetector: true, overrides: masqAll },
    {
      name: 'masqueradeAll, no LocalTrafficDetector',
      masqueradeAll: true,
      localDetector: false,
      overrides: { ...masqAll, 'pod to NodePort with eTP:Local': noDetector['pod to NodePort with eTP:Local']!, 'pod to LB with eTP:Local': noDetector['pod to LB with eTP:Local']! },
    },
  ];
  return {
    services,
    slices,
    cases: cases.map((c) => {
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
