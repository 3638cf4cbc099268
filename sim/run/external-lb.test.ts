import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../engine/simulator.ts';
import { MS, SECOND } from '../engine/time.ts';
import type { ControlPlane } from '../k8s/control-plane.ts';
import type { Node } from '../k8s/objects.ts';
import { makeEndpoint } from '../proxy/endpoint.ts';
import { clusterIPPort } from '../proxy/service-port.ts';
import { EndpointTimeline } from '../proxy/sync/endpoint-timeline.ts';
import type { NodeProxy } from '../proxy/sync/node-proxy.ts';
import { NodeHealth } from './external-health.ts';
import { ExternalLoadBalancers } from './external-lb.ts';
import { ExternalMetrics } from './external-metrics.ts';
import type { ExternalServicePort } from './external-services.ts';

const NODES = ['node-0', 'node-1', 'node-2'];

/** A control plane that only holds Node objects, as `nodes(now)` says they are. */
function fakeControlPlane(sim: Simulator, nodes: (name: string, now: number) => Node | undefined): ControlPlane {
  return { nodeLifecycle: { failures: [] }, api: { get: (_kind: string, name: string) => nodes(name, sim.now) } } as unknown as ControlPlane;
}

function node(name: string, o: { taint?: boolean; deleting?: boolean } = {}): Node {
  return {
    kind: 'Node',
    apiVersion: 'v1',
    metadata: { name, ...(o.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
    spec: o.taint ? { taints: [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1', effect: 'NoSchedule' }] } : {},
  } as Node;
}

function setup(local: boolean, cp: (sim: Simulator) => ControlPlane | null) {
  const sim = new Simulator({ seed: 3 });
  const timeline = new EndpointTimeline();
  const eps = NODES.map((n, i) => makeEndpoint({ ip: `10.244.${i}.2`, port: 8080, nodeName: n }));
  timeline.addService(clusterIPPort('default', 'svc-0', '', '10.96.0.10', 80, 'TCP'), eps);
  const agents: NodeProxy[] = NODES.map((_, n) => ({ node: n, heard: 0, active: 0, generation: 0, heardUpTo() {}, startLoop() {} }));
  const health = new NodeHealth(sim, NODES, 30 * SECOND, cp(sim));
  const port: ExternalServicePort = { service: 0, kind: 'LoadBalancer', nodePort: 30000, healthCheckNodePort: local ? 30001 : 0, address: '198.18.0.1', local, sourceRanges: [] };
  const lbs = new ExternalLoadBalancers([port], timeline, agents, NODES, health, 'gcp', {}, new ExternalMetrics(SECOND), 0, 'iptables', true, sim);
  return { sim, lbs, port, health };
}

test('a draining node (ToBeDeletedByClusterAutoscaler) fails /healthz, and the gcp load balancer stops sending to it after 3 failed 8 s probes', () => {
  const T = 20 * SECOND;
  const { sim, lbs, port, health } = setup(false, (sim) => fakeControlPlane(sim, (name, now) => node(name, { taint: name === 'node-1' && now >= T })));
  health.start();
  lbs.start();
  let last = -1;
  const tick = () => {
    if (lbs.pick(port) === 1) last = sim.now;
    if (sim.now < 80 * SECOND) sim.schedule(50 * MS, tick);
  };
  sim.schedule(0, tick);
  sim.run(80 * SECOND);
  // Unhealthy at the third failed probe after T: between 2 and 3 intervals later (the probe's phase).
  assert.ok(last >= T + 16 * SECOND - 200 * MS && last <= T + 24 * SECOND, `last connection to node-1 at ${last / SECOND} s`);
});

test('/healthz fails when the Node is being deleted or tainted; the healthCheckNodePort ignores that and counts local Ready endpoints', () => {
  const sim = new Simulator({ seed: 1 });
  const states: Record<string, Node | undefined> = { 'node-0': node('node-0'), 'node-1': node('node-1', { deleting: true }), 'node-2': node('node-2', { taint: true }) };
  const health = new NodeHealth(sim, NODES, 30 * SECOND, fakeControlPlane(sim, (n) => states[n]));
  health.start();
  assert.deepEqual([0, 1, 2].map((n) => health.healthzOk(n)), [true, false, false]);
  const svc = { namespace: 'default', name: 'svc-0' };
  assert.deepEqual([0, 1, 2].map((n) => health.serviceOk(n, svc, 1)), [true, true, true]);
  assert.equal(health.serviceOk(0, svc, 0), false);
  states['node-0'] = undefined;
  assert.equal(health.up(0), false, 'a deleted Node answers nothing');
});

test('kube-proxy turns unhealthy when a change it heard waits 2 x syncPeriod without a successful sync', () => {
  const sim = new Simulator({ seed: 1 });
  const health = new NodeHealth(sim, NODES, 30 * SECOND, null);
  health.start();
  sim.schedule(1 * SECOND, () => health.queued(0));
  let at59 = false;
  let at61 = true;
  sim.schedule(60 * SECOND, () => (at59 = health.healthzOk(0)));
  sim.schedule(61 * SECOND + 1, () => (at61 = health.healthzOk(0)));
  sim.schedule(62 * SECOND, () => health.synced(0, true));
  let after = false;
  sim.schedule(63 * SECOND, () => (after = health.healthzOk(0)));
  sim.run(70 * SECOND);
  assert.equal(at59, true);
  assert.equal(at61, false);
  assert.equal(after, true);
});
