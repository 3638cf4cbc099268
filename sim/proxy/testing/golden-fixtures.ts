/**
 * Builders for the Services and EndpointSlices of kube-proxy's proxier_test.go, and the options of
 * its NewFakeProxier, so golden tests can rebuild the same cases.
 */
import type { EndpointSlice, Service, ServiceSpec } from '../../k8s/objects.ts';
import type { IptablesProxierOptions } from '../iptables/options.ts';

/** NewFakeProxier: test-node at 192.168.0.2, pod CIDR 10.0.0.0/8, fake iptables without --random-fully. */
export const FAKE_PROXIER_OPTIONS: IptablesProxierOptions = {
  nodeName: 'test-node',
  nodeIP: '192.168.0.2',
  clusterCIDR: '10.0.0.0/8',
  randomFully: false,
  nfacct: true,
  localhostNodePorts: true,
};

export function testService(
  ns: string,
  name: string,
  spec: ServiceSpec,
  lbIngress?: { ip: string; ipMode?: 'VIP' | 'Proxy' }[],
): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec,
    ...(lbIngress ? { status: { loadBalancer: { ingress: lbIngress } } } : {}),
  };
}

export interface TestEndpoint {
  ip: string;
  nodeName?: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export function testSlice(
  ns: string,
  svc: string,
  endpoints: TestEndpoint[],
  ports: { name: string; port: number; protocol?: 'TCP' | 'UDP' | 'SCTP' }[],
  suffix = '1',
): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svc}-${suffix}`, namespace: ns, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      ...(e.nodeName ? { nodeName: e.nodeName } : {}),
      ...(e.ready !== undefined || e.serving !== undefined || e.terminating !== undefined
        ? { conditions: { ready: e.ready, serving: e.serving, terminating: e.terminating } }
        : {}),
    })),
    ports: ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol ?? 'TCP' })),
  };
}
