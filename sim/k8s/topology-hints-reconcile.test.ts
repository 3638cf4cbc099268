import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reconcileEndpointSlices, type ReconcileInput } from './endpointslice-reconciler.ts';
import type { EndpointSlice, Node, Pod, Service } from './objects.ts';
import { TopologyCache, topologyNodeOf } from './topology-cache.ts';
import { hintsEnabled, validTrafficDistribution } from './topology-hints-reconcile.ts';

test('hintsEnabled: the deprecated annotation wins when both are set; "Auto" or "auto" only', () => {
  assert.equal(hintsEnabled({ 'service.kubernetes.io/topology-mode': 'Auto' }), true);
  assert.equal(hintsEnabled({ 'service.kubernetes.io/topology-mode': 'auto' }), true);
  assert.equal(hintsEnabled({ 'service.kubernetes.io/topology-mode': 'AUTO' }), false);
  assert.equal(hintsEnabled({ 'service.kubernetes.io/topology-aware-hints': 'Auto' }), true);
  assert.equal(hintsEnabled({ 'service.kubernetes.io/topology-aware-hints': 'Disabled', 'service.kubernetes.io/topology-mode': 'Auto' }), false);
  assert.equal(hintsEnabled({ 'service.kubernetes.io/topology-aware-hints': 'auto', 'service.kubernetes.io/topology-mode': 'Disabled' }), true);
  assert.equal(hintsEnabled(undefined), false);
});

test('validTrafficDistribution: PreferClose always, PreferSameZone and PreferSameNode with the gate', () => {
  assert.equal(validTrafficDistribution('PreferClose', false), true);
  assert.equal(validTrafficDistribution('PreferSameZone', false), false);
  assert.equal(validTrafficDistribution('PreferSameNode', true), true);
  assert.equal(validTrafficDistribution('Nearby', true), false);
  assert.equal(validTrafficDistribution(undefined), false);
});

const zones = ['a', 'b', 'c'];
const nodes = new Map<string, Node>(
  zones.map((z, i) => [`node-${i}`, { apiVersion: 'v1', kind: 'Node', metadata: { name: `node-${i}`, labels: { 'topology.kubernetes.io/zone': z } }, spec: {}, status: { allocatable: { cpu: '4' }, conditions: [{ type: 'Ready', status: 'True' }] } }]),
);
function svc(annotations: Record<string, string> = {}, trafficDistribution?: string): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default', uid: 'u', annotations },
    spec: { clusterIP: '10.96.0.10', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }], ...(trafficDistribution ? { trafficDistribution } : {}) },
  };
}
const pods: Pod[] = Array.from({ length: 6 }, (_, i) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: `web-${i}`, namespace: 'default', uid: `p${i}`, labels: { app: 'web' } },
  spec: { nodeName: `node-${i % 3}`, containers: [{ name: 'c', ports: [{ containerPort: 8080, protocol: 'TCP' }] }] },
  status: { phase: 'Running', podIP: `10.244.0.${i + 2}`, conditions: [{ type: 'Ready', status: 'True' }] },
}));

let n = 0;
function sync(cache: TopologyCache, service: Service, existing: EndpointSlice[]) {
  const input: ReconcileInput = { service, pods, existing, nodes: (name) => nodes.get(name), generateName: (p) => `${p}${n++}`, hints: { cache } };
  const ch = reconcileEndpointSlices(input);
  const gone = new Set([...ch.update, ...ch.delete].map((s) => s.metadata.name));
  return { ch, slices: [...existing.filter((s) => !gone.has(s.metadata.name)), ...ch.update, ...ch.create] };
}
const hintsIn = (slices: EndpointSlice[]) => slices.flatMap((s) => s.endpoints.map((e) => JSON.stringify(e.hints ?? null))).sort();

test('the reconciler: Auto writes hints; dropping the annotation removes them from unchanged slices with a Disabled event', () => {
  const cache = new TopologyCache();
  cache.setNodes([...nodes.values()].map(topologyNodeOf));
  const first = sync(cache, svc({ 'service.kubernetes.io/topology-mode': 'Auto' }), []);
  assert.deepEqual(first.ch.hints!.events.map((e) => e.reason), ['TopologyAwareHintsEnabled']);
  assert.deepEqual(new Set(hintsIn(first.slices)), new Set(['{"forZones":[{"name":"a"}]}', '{"forZones":[{"name":"b"}]}', '{"forZones":[{"name":"c"}]}']));
  const again = sync(cache, svc({ 'service.kubernetes.io/topology-mode': 'Auto' }), first.slices);
  assert.equal(again.ch.update.length + again.ch.create.length, 0, 'valid hints: nothing to write');
  const off = sync(cache, svc(), first.slices);
  assert.deepEqual(off.ch.hints!.events.map((e) => e.message), ['Topology Aware Hints has been disabled, addressType: IPv4']);
  assert.equal(off.ch.update.length, 1);
  assert.deepEqual(hintsIn(off.slices), Array(6).fill('null'));
  assert.equal(cache.hasPopulatedHints('default/web'), false);
});

test('the reconciler: from Auto to PreferSameNode, the hints are rewritten with node hints and no event', () => {
  const cache = new TopologyCache();
  cache.setNodes([...nodes.values()].map(topologyNodeOf));
  const first = sync(cache, svc({ 'service.kubernetes.io/topology-mode': 'Auto' }, 'PreferSameNode'), []);
  assert.ok(hintsIn(first.slices).every((h) => !h.includes('forNodes')), 'Auto wins');
  const td = sync(cache, svc({}, 'PreferSameNode'), first.slices);
  assert.deepEqual(td.ch.hints!.events.map((e) => e.detail), ['Topology Aware Hints has been disabled']);
  assert.equal(td.ch.update.length, 1);
  assert.ok(hintsIn(td.slices).every((h) => h.includes('forNodes')));
  assert.equal(td.ch.hints!.trafficDistribution, true);
});

test('the reconciler without a hints context leaves hints as they are', () => {
  const cache = new TopologyCache();
  cache.setNodes([...nodes.values()].map(topologyNodeOf));
  const first = sync(cache, svc({}, 'PreferClose'), []);
  const ch = reconcileEndpointSlices({ service: svc(), pods, existing: first.slices, nodes: (name) => nodes.get(name), generateName: (p) => `${p}${n++}` });
  assert.equal(ch.update.length + ch.create.length + ch.delete.length, 0);
  assert.equal(ch.hints, undefined);
});
