import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeEndpoint, type EndpointInit } from './endpoint.ts';
import { categorizeEndpoints } from './topology.ts';
import type { ServicePort } from './service-port.ts';

function sp(over: Partial<ServicePort> = {}): ServicePort {
  return {
    portName: { namespace: 'ns1', name: 'svc1', port: 'p80', protocol: 'TCP' },
    nameString: 'ns1/svc1:p80',
    id: 'ns1/svc1:p80/TCP',
    clusterIP: '172.30.0.41',
    port: 80,
    protocol: 'TCP',
    nodePort: 0,
    externalIPs: [],
    loadBalancerVIPs: [],
    loadBalancerSourceRanges: [],
    healthCheckNodePort: 0,
    sessionAffinity: 'None',
    stickyMaxAgeSeconds: 0,
    externalPolicyLocal: false,
    internalPolicyLocal: false,
    ...over,
  };
}
const eps = (list: EndpointInit[]) => list.map(makeEndpoint);
const ips = (l: readonly { ip: string }[]) => l.map((e) => e.ip);
const node = { nodeName: 'node1', zone: 'zone-a' };

test('cluster policy uses ready endpoints only', () => {
  const c = categorizeEndpoints(
    eps([
      { ip: '10.0.0.1', port: 80 },
      { ip: '10.0.0.2', port: 80, ready: false, serving: false },
      { ip: '10.0.0.3', port: 80, ready: false, serving: true, terminating: true },
    ]),
    sp(),
    node,
  );
  assert.deepEqual(ips(c.clusterEndpoints), ['10.0.0.1']);
  assert.deepEqual(ips(c.allReachableEndpoints), ['10.0.0.1']);
  assert.equal(c.localEndpoints.length, 0);
  assert.equal(c.hasAnyEndpoints, true);
});

test('falls back to serving-terminating endpoints when none is ready', () => {
  const c = categorizeEndpoints(
    eps([
      { ip: '10.0.0.2', port: 80, ready: false, serving: false, terminating: true },
      { ip: '10.0.0.3', port: 80, ready: false, serving: true, terminating: true },
    ]),
    sp(),
    node,
  );
  assert.deepEqual(ips(c.clusterEndpoints), ['10.0.0.3']);
  assert.equal(c.hasAnyEndpoints, true);
});

test('no usable endpoint: hasAnyEndpoints false', () => {
  const c = categorizeEndpoints(eps([{ ip: '10.0.0.2', port: 80, ready: false, serving: false }]), sp(), node);
  assert.equal(c.clusterEndpoints.length, 0);
  assert.equal(c.hasAnyEndpoints, false);
});

test('internal policy Local keeps only local endpoints but still knows remote ones exist', () => {
  const c = categorizeEndpoints(
    eps([
      { ip: '10.0.0.1', port: 80, isLocal: false },
      { ip: '10.0.0.2', port: 80, isLocal: true },
    ]),
    sp({ internalPolicyLocal: true }),
    node,
  );
  assert.equal(c.clusterEndpoints.length, 0);
  assert.deepEqual(ips(c.localEndpoints), ['10.0.0.2']);
  assert.deepEqual(ips(c.allReachableEndpoints), ['10.0.0.2']);
  const remoteOnly = categorizeEndpoints(eps([{ ip: '10.0.0.1', port: 80 }]), sp({ internalPolicyLocal: true }), node);
  assert.equal(remoteOnly.localEndpoints.length, 0);
  assert.equal(remoteOnly.hasAnyEndpoints, true);
});

test('external policy Local with a local terminating endpoint merges cluster and local lists', () => {
  const c = categorizeEndpoints(
    eps([
      { ip: '10.0.0.1', port: 80 },
      { ip: '10.0.0.9', port: 80, isLocal: true, ready: false, serving: true, terminating: true },
    ]),
    sp({ nodePort: 3001, externalPolicyLocal: true }),
    node,
  );
  assert.deepEqual(ips(c.clusterEndpoints), ['10.0.0.1']);
  assert.deepEqual(ips(c.localEndpoints), ['10.0.0.9']);
  assert.deepEqual(ips(c.allReachableEndpoints), ['10.0.0.1', '10.0.0.9']);
});

test('zone hints narrow cluster endpoints only when every ready endpoint has one', () => {
  const hinted = eps([
    { ip: '10.0.0.1', port: 80, zoneHints: ['zone-a'] },
    { ip: '10.0.0.2', port: 80, zoneHints: ['zone-b'] },
  ]);
  assert.deepEqual(ips(categorizeEndpoints(hinted, sp(), node).clusterEndpoints), ['10.0.0.1']);
  const partly = eps([
    { ip: '10.0.0.1', port: 80, zoneHints: ['zone-a'] },
    { ip: '10.0.0.2', port: 80 },
  ]);
  assert.deepEqual(ips(categorizeEndpoints(partly, sp(), node).clusterEndpoints), ['10.0.0.1', '10.0.0.2']);
  const otherZone = categorizeEndpoints(hinted, sp(), { nodeName: 'node1', zone: 'zone-c' });
  assert.deepEqual(ips(otherZone.clusterEndpoints), ['10.0.0.1', '10.0.0.2']);
});

// kubernetes/kubernetes pkg/proxy/topology_test.go TestCategorizeEndpoints (facts of the current
// topologyModeFromHints: node hints first, then zone hints, each only when every ready endpoint has one).

test('node hints (PreferSameNode) win over zone hints when one names this node', () => {
  const list = eps([
    { ip: '10.0.0.1', port: 80, zoneHints: ['zone-a'], nodeHints: ['node1'] },
    { ip: '10.0.0.2', port: 80, zoneHints: ['zone-a'], nodeHints: ['node2'] },
    { ip: '10.0.0.3', port: 80, zoneHints: ['zone-b'], nodeHints: ['node3'] },
  ]);
  assert.deepEqual(ips(categorizeEndpoints(list, sp(), node).clusterEndpoints), ['10.0.0.1']);
  // No endpoint for this node: same-zone hints instead.
  assert.deepEqual(ips(categorizeEndpoints(list, sp(), { nodeName: 'node9', zone: 'zone-a' }).clusterEndpoints), ['10.0.0.1', '10.0.0.2']);
  // With the PreferSameTrafficDistribution gate off, node hints are ignored.
  assert.deepEqual(ips(categorizeEndpoints(list, sp(), { ...node, preferSameTrafficDistribution: false }).clusterEndpoints), ['10.0.0.1', '10.0.0.2']);
});

test('a ready endpoint without a node hint disables node hints but not zone hints', () => {
  const list = eps([
    { ip: '10.0.0.1', port: 80, zoneHints: ['zone-a'], nodeHints: ['node1'] },
    { ip: '10.0.0.2', port: 80, zoneHints: ['zone-a'] },
    { ip: '10.0.0.3', port: 80, zoneHints: ['zone-b'], nodeHints: ['node3'] },
  ]);
  assert.deepEqual(ips(categorizeEndpoints(list, sp(), node).clusterEndpoints), ['10.0.0.1', '10.0.0.2']);
});

test('unready endpoints do not count: only unready ones in this zone means no filtering', () => {
  const list = eps([
    { ip: '10.1.2.3', port: 80, zoneHints: ['zone-a'], ready: false },
    { ip: '10.1.2.4', port: 80, zoneHints: ['zone-b'] },
    { ip: '10.1.2.5', port: 80, zoneHints: ['zone-c'] },
    { ip: '10.1.2.6', port: 80, zoneHints: ['zone-a'], ready: false },
  ]);
  assert.deepEqual(ips(categorizeEndpoints(list, sp(), node).clusterEndpoints), ['10.1.2.4', '10.1.2.5']);
  const unreadyUnhinted = eps([
    { ip: '10.1.2.3', port: 80, zoneHints: ['zone-a'] },
    { ip: '10.1.2.4', port: 80, zoneHints: ['zone-b'] },
    { ip: '10.1.2.5', port: 80, ready: false },
  ]);
  assert.deepEqual(ips(categorizeEndpoints(unreadyUnhinted, sp(), node).clusterEndpoints), ['10.1.2.3']);
});

test('a Local traffic policy ignores hints for its local endpoints; the reachable set merges both', () => {
  const list = eps([
    { ip: '10.1.2.3', port: 80, zoneHints: ['zone-a'], isLocal: true },
    { ip: '10.1.2.4', port: 80, zoneHints: ['zone-b'], isLocal: true },
    { ip: '10.1.2.5', port: 80, zoneHints: ['zone-c'] },
    { ip: '10.1.2.6', port: 80, zoneHints: ['zone-a'] },
  ]);
  const r = categorizeEndpoints(list, sp({ internalPolicyLocal: true, nodePort: 8080 }), node);
  assert.deepEqual(ips(r.localEndpoints), ['10.1.2.3', '10.1.2.4']);
  const e = categorizeEndpoints(list, sp({ externalPolicyLocal: true, nodePort: 8080 }), node);
  assert.deepEqual(ips(e.clusterEndpoints), ['10.1.2.3', '10.1.2.6']);
  assert.deepEqual(ips(e.localEndpoints), ['10.1.2.3', '10.1.2.4']);
  assert.deepEqual(ips(e.allReachableEndpoints), ['10.1.2.3', '10.1.2.4', '10.1.2.6']);
});

test('an endpoint hinted for several zones serves each of them', () => {
  const list = eps([
    { ip: '10.1.2.3', port: 80, zoneHints: ['zone-a', 'zone-b', 'zone-c'] },
    { ip: '10.1.2.4', port: 80, zoneHints: ['zone-b', 'zone-c'] },
    { ip: '10.1.2.5', port: 80, zoneHints: ['zone-b', 'zone-d'] },
    { ip: '10.1.2.6', port: 80, zoneHints: ['zone-c'] },
  ]);
  assert.deepEqual(ips(categorizeEndpoints(list, sp(), { nodeName: 'node1', zone: 'zone-c' }).clusterEndpoints), ['10.1.2.3', '10.1.2.4', '10.1.2.6']);
});
