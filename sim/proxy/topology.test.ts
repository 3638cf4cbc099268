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
