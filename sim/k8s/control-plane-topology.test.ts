import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../engine/simulator.ts';
import { MS, SECOND } from '../engine/time.ts';
import { samplerOf } from '../engine/distribution.ts';
import { ControlPlane, type ControlPlaneOptions } from './control-plane.ts';
import type { EndpointSlice, Node, Service } from './objects.ts';
import { DELETE } from './apiserver.ts';

const base: ControlPlaneOptions = {
  nodes: 3,
  services: 1,
  endpointsPerService: 6,
  watchLatency: samplerOf({ kind: 'constant', value: 5 * MS }),
  apiWriteLatency: samplerOf({ kind: 'constant', value: 10 * MS }),
  podStartupLatency: samplerOf({ kind: 'constant', value: 1 * SECOND }),
};

const slicesOf = (cp: ControlPlane, svc = 'svc-0'): EndpointSlice[] => [...cp.endpointSlices()].filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === svc);
/** Each endpoint's zone and hints, `zone>hintZones/hintNodes`, sorted. */
function hinted(cp: ControlPlane, svc = 'svc-0'): string[] {
  return slicesOf(cp, svc)
    .flatMap((s) => s.endpoints)
    .map((e) => `${e.zone ?? ''}>${e.hints?.forZones?.map((z) => z.name).join(',') ?? ''}/${e.hints?.forNodes?.map((n) => n.name).join(',') ?? ''}`)
    .sort();
}

test('without topology options: nodes carry no zone or CPU, slices no hints, the controller watches no Nodes', () => {
  const sim = new Simulator({ seed: 1 });
  const cp = new ControlPlane(sim, base);
  cp.start();
  sim.run(5 * SECOND);
  assert.equal(cp.topologyCache, undefined);
  assert.equal(cp.endpointSliceController.topology, undefined);
  for (const n of cp.api.list<Node>('Node')) {
    assert.equal(n.status?.allocatable, undefined);
    assert.equal(n.metadata.labels?.['topology.kubernetes.io/zone'], undefined);
  }
  assert.ok(slicesOf(cp).every((s) => s.endpoints.every((e) => e.hints === undefined)));
  assert.deepEqual(cp.stats().hints, { fallbackEvents: 0, enabledEvents: 0, servicesWithHints: 0 });
});

test('zones and CPU on the nodes; Auto: the first slices already carry own-zone hints and the start sync writes nothing', () => {
  const sim = new Simulator({ seed: 1 });
  const cp = new ControlPlane(sim, { ...base, endpointsPerService: 12, nodeZones: ['a', 'b', 'c'], nodeCpus: [3, 4], serviceTopology: () => ({ topologyMode: 'Auto' }) });
  const nodes = [...cp.api.list<Node>('Node')];
  assert.deepEqual(nodes.map((n) => [n.metadata.labels!['topology.kubernetes.io/zone'], n.status!.allocatable!.cpu]), [['a', '3'], ['b', '4'], ['c', '4']]);
  const svc = cp.api.get<Service>('Service', 'default/svc-0')!;
  assert.equal(svc.metadata.annotations!['service.kubernetes.io/topology-mode'], 'Auto');
  // CPU 3:4:4 of 12 endpoints, 4 per zone: desired a 3.27, b and c 4.36; a's surplus 0.73 and the
  // others' lack 0.36 are each under one endpoint, so nothing moves.
  assert.deepEqual(hinted(cp), [...Array(4).fill('a>a/'), ...Array(4).fill('b>b/'), ...Array(4).fill('c>c/')]);
  cp.start();
  sim.run(5 * SECOND);
  assert.equal(cp.stats().endpointSliceWrites, 0);
  assert.deepEqual(cp.stats().hints, { fallbackEvents: 0, enabledEvents: 0, servicesWithHints: 1 });
});

test('Auto with fewer endpoints than zones: no hints, one fallback event per sync', () => {
  const sim = new Simulator({ seed: 1 });
  const cp = new ControlPlane(sim, { ...base, endpointsPerService: 2, nodeZones: ['a', 'b', 'c'], serviceTopology: () => ({ topologyMode: 'Auto' }) });
  const events: string[] = [];
  cp.endpointSliceController.topology!.onEvent = (svc, e) => events.push(`${svc} ${e.reason} ${e.message}`);
  cp.start();
  sim.run(5 * SECOND);
  assert.deepEqual(hinted(cp), ['a>/', 'b>/']);
  assert.deepEqual(events, ['default/svc-0 TopologyAwareHintsDisabled Insufficient number of endpoints (2 endpoints, 3 zones), addressType: IPv4']);
  assert.deepEqual(cp.stats().hints, { fallbackEvents: 1, enabledEvents: 0, servicesWithHints: 0 });
});

test('Auto without zone labels: Insufficient Node information', () => {
  const sim = new Simulator({ seed: 1 });
  const cp = new ControlPlane(sim, { ...base, serviceTopology: () => ({ topologyMode: 'Auto' }) });
  const events: string[] = [];
  cp.endpointSliceController.topology!.onEvent = (_svc, e) => events.push(e.detail);
  cp.start();
  sim.run(1 * SECOND);
  assert.deepEqual(events, ['Insufficient Node information: allocatable CPU or zone not specified on one or more nodes']);
  assert.ok(cp.api.list<Node>('Node').next().value!.status!.allocatable!.cpu === '4', 'every node gets the default 4 cores');
});

test('trafficDistribution PreferSameNode: own zone and own node; PreferClose: own zone only; Auto wins over both', () => {
  const sim = new Simulator({ seed: 1 });
  const tds = ['PreferSameNode', 'PreferClose', 'PreferSameNode'] as const;
  const cp = new ControlPlane(sim, {
    ...base,
    services: 3,
    endpointsPerService: 3,
    nodeZones: ['a', 'b', 'c'],
    serviceTopology: (i) => ({ trafficDistribution: tds[i]!, ...(i === 2 ? { topologyMode: 'Auto' as const } : {}) }),
  });
  // Pods go round robin over the 3 nodes across Services.
  assert.deepEqual(hinted(cp, 'svc-0'), ['a>a/node-0', 'b>b/node-1', 'c>c/node-2']);
  assert.deepEqual(hinted(cp, 'svc-1'), ['a>a/', 'b>b/', 'c>c/']);
  assert.deepEqual(hinted(cp, 'svc-2'), ['a>a/', 'b>b/', 'c>c/']);
  cp.start();
  sim.run(2 * SECOND);
  assert.equal(cp.stats().endpointSliceWrites, 0);
  assert.equal(cp.stats().hints.servicesWithHints, 3);
});

test('a node added in a fourth zone resyncs the Auto Service (overloaded), which falls back; its removal brings hints back only at the next sync', () => {
  const sim = new Simulator({ seed: 1 });
  const cp = new ControlPlane(sim, { ...base, nodeZones: ['a', 'b', 'c'], serviceTopology: () => ({ topologyMode: 'Auto' }) });
  const events: string[] = [];
  cp.endpointSliceController.topology!.onEvent = (_svc, e) => events.push(e.detail);
  cp.start();
  sim.run(1 * SECOND);
  assert.equal(cp.stats().hints.servicesWithHints, 1);
  const node: Node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'node-3', labels: { 'topology.kubernetes.io/zone': 'd' } },
    spec: {},
    status: { allocatable: { cpu: '4' }, conditions: [{ type: 'Ready', status: 'True' }] },
  };
  cp.api.submit<Node>({ kind: 'Node', key: 'node-3', client: 'test', mutate: () => node });
  sim.run(2 * SECOND);
  // 4 even zones, 6 endpoints: each needs ceil(1.5 / 1.2) = 2, 8 in all.
  assert.deepEqual(events, ['Unable to allocate minimum required endpoints to each zone without exceeding overload threshold (6 endpoints, 4 zones)']);
  assert.deepEqual(hinted(cp), ['a>/', 'a>/', 'b>/', 'b>/', 'c>/', 'c>/']);
  assert.deepEqual(cp.stats().hints, { fallbackEvents: 1, enabledEvents: 0, servicesWithHints: 0 });
  // The node goes: the cache has no hints for the Service, so nothing queues it (GetOverloadedServices).
  cp.api.submit<Node>({ kind: 'Node', key: 'node-3', client: 'test', mutate: () => DELETE });
  sim.run(3 * SECOND);
  assert.equal(cp.stats().hints.servicesWithHints, 0);
});

test('node failure: NotReady leaves the zone out of the ratios and the Service is re-hinted without it', () => {
  const sim = new Simulator({ seed: 5 });
  const cp = new ControlPlane(sim, {
    ...base,
    nodes: 3,
    endpointsPerService: 6,
    nodeZones: ['a', 'b', 'c'],
    serviceTopology: () => ({ topologyMode: 'Auto' }),
    nodeMonitorGracePeriod: 40 * SECOND,
    podEvictionTimeout: 1000 * SECOND,
    churn: [{ kind: 'node-failure', start: 10 * SECOND, every: 10000 * SECOND }],
  });
  cp.start();
  sim.run(10 * SECOND);
  const failed = cp.nodeLifecycle.failures[0]!;
  sim.run(failed.notReadyAt + 2 * SECOND);
  const zone = cp.api.get<Node>('Node', failed.node)!.metadata.labels!['topology.kubernetes.io/zone']!;
  const ready = slicesOf(cp).flatMap((s) => s.endpoints).filter((e) => e.conditions?.ready);
  assert.equal(ready.length, 4);
  assert.ok(ready.every((e) => e.hints?.forZones?.length === 1 && e.hints.forZones[0]!.name !== zone && e.hints.forZones[0]!.name === e.zone));
  assert.equal(cp.stats().hints.servicesWithHints, 1);
});

test('same seed, same run, with topology', () => {
  const run = () => {
    const sim = new Simulator({ seed: 9 });
    const cp = new ControlPlane(sim, {
      ...base,
      services: 4,
      nodeZones: ['a', 'b', 'c'],
      serviceTopology: (i) => (i % 2 ? { topologyMode: 'Auto' } : { trafficDistribution: 'PreferClose' }),
      churn: [{ kind: 'rolling-update', start: 1 * SECOND, every: 7 * SECOND }, { kind: 'pod-kill', start: 0, every: SECOND, ratePerMinute: 20 }],
    });
    cp.start();
    sim.run(30 * SECOND);
    return { stats: cp.stats(), slices: [...cp.endpointSlices()] };
  };
  const a = run();
  assert.deepEqual(a, run());
  assert.ok(a.stats.hints.servicesWithHints >= 2);
});
