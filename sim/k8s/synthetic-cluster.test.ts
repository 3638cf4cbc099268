import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../engine/simulator.ts';
import { isInputError } from '../io/input-error.ts';
import { ApiServer } from './apiserver.ts';
import type { EndpointSlice, Pod } from './objects.ts';
import { autoMaskSize, generateCluster } from './synthetic-cluster.ts';

test('synthetic cluster: nodes with pod CIDRs, Services with ClusterIPs, Ready pods and their EndpointSlices', () => {
  const sim = new Simulator({ seed: 1 });
  const api = new ApiServer(sim);
  const c = generateCluster(sim, api, { nodes: 3, services: 2, endpointsPerService: 250 });
  assert.deepEqual(c.nodes.map((n) => `${n.name} ${n.ip}`), ['node-0 172.18.0.2', 'node-1 172.18.0.3', 'node-2 172.18.0.4']);
  assert.deepEqual(c.nodes.map((n) => n.podCIDR.prefix), [24, 24, 24], '167 pods and half again fit a /24');
  assert.equal(autoMaskSize(200), 23);
  assert.equal(autoMaskSize(5000), 19);
  for (const s of c.services) assert.match(s.clusterIP, /^10\.(9[6-9]|10[0-9]|11[01])\./);
  assert.notEqual(c.services[0]!.clusterIP, '10.96.0.1');
  assert.equal(c.pods, 500);
  assert.equal(c.slices, 6, '250 endpoints per Service: 3 slices of at most 100');
  const perNode = new Map<string, number>();
  for (const p of api.list<Pod>('Pod')) perNode.set(p.spec.nodeName!, (perNode.get(p.spec.nodeName!) ?? 0) + 1);
  assert.deepEqual([...perNode.values()].sort(), [166, 167, 167]);
  const ips = new Set([...api.list<Pod>('Pod')].map((p) => p.status!.podIP));
  assert.equal(ips.size, 500);
  for (const s of api.list<EndpointSlice>('EndpointSlice')) for (const e of s.endpoints) assert.deepEqual(e.conditions, { ready: true, serving: true, terminating: false });
});

test('synthetic cluster: more nodes than the cluster CIDR can hold is an input error', () => {
  const sim = new Simulator({ seed: 1 });
  assert.throws(
    () => generateCluster(sim, new ApiServer(sim), { nodes: 300, services: 1, endpointsPerService: 1, clusterCIDR: '10.244.0.0/16', nodeCIDRMaskSize: 24 }),
    (e) => isInputError(e) && e.where === 'cluster.nodes' && /256 nodes/.test(e.expected),
  );
});
