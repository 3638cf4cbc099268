/**
 * A random cluster of ClusterIP, NodePort and LoadBalancer Services (externalTrafficPolicy Cluster
 * or Local, loadBalancerSourceRanges, externalIPs, endpoints local or remote, Ready or
 * serving-terminating) for the property tests that hold each mode's cost model to a walk of the
 * rules its generator writes, and the counts and inputs a run would hand the model for it.
 */
import fc from 'fast-check';
import type { Service, EndpointSlice } from '../../../k8s/objects.ts';
import { proxyStateFromObjects } from '../../from-api.ts';
import type { ProxyState } from '../../proxy-state.ts';
import { testService, testSlice, type TestEndpoint } from '../../testing/golden-fixtures.ts';
import { categorizeEndpoints } from '../../topology.ts';
import type { Endpoint } from '../../endpoint.ts';
import type { EntryPoint, ExternalRuleCounts, ExternalSyncCounts, PacketSource } from '../mode-model.ts';
import { NO_EXTERNAL_SYNC } from '../iptables-external.ts';

export const NODE = 'test-node';
export const NODE_IP = '192.168.0.2';
/** Two disjoint source ranges (neither holds the node's address), and clients in each and in neither. */
export const RANGES = ['203.0.113.0/26', '203.0.113.64/26'];
export const CLIENT_IN_RANGE = ['203.0.113.10', '203.0.113.70'];
export const CLIENT_OUTSIDE = '203.0.113.200';
export const POD_SOURCE = '10.0.1.5';

export interface ServiceShape {
  kind: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  local: boolean;
  externalIP: boolean;
  ranges: number;
  /** Per endpoint: on this node, and serving-terminating rather than Ready. */
  endpoints: { here: boolean; terminating: boolean }[];
}

export const serviceShape: fc.Arbitrary<ServiceShape> = fc.record({
  kind: fc.constantFrom('ClusterIP' as const, 'NodePort' as const, 'LoadBalancer' as const),
  local: fc.boolean(),
  externalIP: fc.boolean(),
  ranges: fc.integer({ min: 0, max: 2 }),
  endpoints: fc.array(fc.record({ here: fc.boolean(), terminating: fc.boolean() }), { minLength: 0, maxLength: 4 }),
});

export const clusterIP = (i: number) => `172.30.0.${i + 1}`;
export const lbIP = (i: number) => `198.51.100.${i + 1}`;
export const extIP = (i: number) => `198.51.100.${i + 101}`;
export const nodePort = (i: number) => 30000 + i;

function external(s: ServiceShape): boolean {
  return s.kind !== 'ClusterIP' || s.externalIP;
}

export function buildCluster(shapes: readonly ServiceShape[]): { services: Service[]; slices: EndpointSlice[]; state: ProxyState } {
  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  shapes.forEach((s, i) => {
    const lb = s.kind === 'LoadBalancer';
    const spec = {
      type: s.kind,
      clusterIP: clusterIP(i),
      ports: [{ name: 'p80', port: 80, protocol: 'TCP' as const, ...(s.kind !== 'ClusterIP' ? { nodePort: nodePort(i) } : {}) }],
      ...(s.externalIP ? { externalIPs: [extIP(i)] } : {}),
      ...(external(s) && s.local ? { externalTrafficPolicy: 'Local' as const } : {}),
      ...(lb && s.ranges > 0 ? { loadBalancerSourceRanges: RANGES.slice(0, s.ranges) } : {}),
      ...(lb && s.local ? { healthCheckNodePort: 32000 + i } : {}),
    };
    services.push(testService('ns', `svc${i}`, spec, lb ? [{ ip: lbIP(i) }] : undefined));
    if (s.endpoints.length > 0) {
      const eps: TestEndpoint[] = s.endpoints.map((e, k) => ({
        ip: `10.180.${i}.${k + 1}`,
        nodeName: e.here ? NODE : 'other-node',
        ...(e.terminating ? { ready: false, serving: true, terminating: true } : {}),
      }));
      slices.push(testSlice('ns', `svc${i}`, eps, [{ name: 'p80', port: 8080 }]));
    }
  });
  return { services, slices, state: proxyStateFromObjects(services, slices, NODE) };
}

/** The Cluster and Local lists of service i's port on this node (KEP-1669 fallback included). */
export function endpointLists(state: ProxyState, i: number): { cluster: readonly Endpoint[]; local: readonly Endpoint[]; any: boolean } {
  const id = [...state.services.keys()].find((k) => k.startsWith(`ns/svc${i}:`))!;
  const sp = state.services.get(id)!;
  const cat = categorizeEndpoints(state.endpoints.get(id) ?? [], sp, { nodeName: NODE, zone: '' });
  return { cluster: cat.clusterEndpoints, local: cat.localEndpoints, any: cat.hasAnyEndpoints };
}

/** What a run would count on this node for these Services (ExternalRuleCounts), and ClusterIP-side counts. */
export function nodeCounts(state: ProxyState, shapes: readonly ServiceShape[]): { counts: ExternalRuleCounts; without: number } {
  const c: ExternalRuleCounts = { nodePorts: 0, loadBalancerIPs: 0, externalIPs: 0, firewalledIPs: 0, refusedAddresses: 0, refusedNodePorts: 0, healthCheckNodePorts: 0 };
  let without = 0;
  shapes.forEach((s, i) => {
    const l = endpointLists(state, i);
    const has = l.any;
    if (!has) without++;
    const usable = has && (!external(s) || !s.local || l.local.length > 0);
    const lb = s.kind === 'LoadBalancer';
    const np = s.kind !== 'ClusterIP';
    if (lb && s.local) c.healthCheckNodePorts++;
    if (has) {
      if (np) c.nodePorts++;
      if (lb) c.loadBalancerIPs++;
      if (s.externalIP) c.externalIPs++;
      if (lb && s.ranges > 0) c.firewalledIPs++;
    }
    if (!usable && external(s)) {
      c.refusedAddresses += (lb ? 1 : 0) + (s.externalIP ? 1 : 0);
      if (np) c.refusedNodePorts++;
    }
  });
  return { counts: c, without };
}

export interface Probe {
  service: number;
  entry: EntryPoint;
  source: PacketSource;
  /** For a load balancer with source ranges: which client (0, 1: inside a range; 2: outside). */
  client: number;
}

/** The entries service i can be reached by. */
export function entries(s: ServiceShape): EntryPoint[] {
  const e: EntryPoint[] = ['clusterIP'];
  if (s.kind !== 'ClusterIP') e.push('nodePort');
  if (s.kind === 'LoadBalancer') e.push('loadBalancer');
  if (s.externalIP) e.push('externalIP');
  return e;
}

export function destination(i: number, entry: EntryPoint): { dst: string; dport: number } {
  switch (entry) {
    case 'clusterIP':
      return { dst: clusterIP(i), dport: 80 };
    case 'nodePort':
      return { dst: NODE_IP, dport: nodePort(i) };
    case 'loadBalancer':
      return { dst: lbIP(i), dport: 80 };
    case 'externalIP':
      return { dst: extIP(i), dport: 80 };
  }
}

export function sourceAddress(source: PacketSource, client: number): string {
  if (source === 'pod') return POD_SOURCE;
  if (source === 'host') return NODE_IP;
  return client < 2 ? CLIENT_IN_RANGE[client]! : CLIENT_OUTSIDE;
}

/** The first range of service shape `s` that holds `src`, -1 when none does (FirstPacketInput.sourceRange). */
export function sourceRangeWalk(s: ServiceShape, src: string): { ranges: number; allowedBy: number } | undefined {
  if (s.kind !== 'LoadBalancer' || s.ranges === 0) return undefined;
  const idx = CLIENT_IN_RANGE.indexOf(src);
  return { ranges: s.ranges, allowedBy: idx >= 0 && idx < s.ranges ? idx : -1 };
}

/** ExternalSyncCounts of these Services on this node (endpoints all Ready: no terminating fallback). */
export function syncCounts(state: ProxyState, shapes: readonly ServiceShape[]): ExternalSyncCounts & { endpoints: number } {
  const { counts } = nodeCounts(state, shapes);
  const e: ExternalSyncCounts & { endpoints: number } = {
    ...NO_EXTERNAL_SYNC,
    ...counts,
    endpoints: 0,
  };
  shapes.forEach((s, i) => {
    const l = endpointLists(state, i);
    e.endpoints += l.cluster.length;
    if (!l.any || !external(s)) return;
    e.externalPorts++;
    if (s.local) {
      e.localPolicyPorts++;
      if (l.local.length > 0) e.localPolicyPortsWithLocalEndpoints++;
      e.localPolicyEndpoints += l.local.length;
    }
    if (s.kind === 'LoadBalancer' && s.ranges > 0) {
      e.firewalledPorts++;
      e.sourceRanges += s.ranges;
    }
  });
  return e;
}
