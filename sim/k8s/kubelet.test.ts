import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../engine/simulator.ts';
import { MS, SECOND, type Nanos } from '../engine/time.ts';
import { ApiServer } from './apiserver.ts';
import { EndpointSliceController } from './endpointslice-controller.ts';
import { parseCidr } from './ipam.ts';
import { Kubelet, type ProbeSpec } from './kubelet.ts';
import { latency } from './latency.ts';
import type { EndpointConditions, EndpointSlice, Node, Pod, Service } from './objects.ts';
import { PodNetwork, type PodIPState } from './pod-network.ts';
import { withDeletion } from './pod-status.ts';
import { readyTransitionTime } from './sim-times.ts';

const probe = (o: Partial<ProbeSpec> = {}): ProbeSpec => ({ initialDelay: 0, period: 10 * SECOND, timeout: SECOND, successThreshold: 1, failureThreshold: 3, ...o });

function rig(o: { probe?: ProbeSpec; startup?: Nanos } = {}) {
  const sim = new Simulator({ seed: 5 });
  const api = new ApiServer(sim, { writeLatency: latency({ constant: '10ms' }), watchLatency: latency({ constant: '5ms' }) });
  const net = new PodNetwork();
  api.commit<Node>({ kind: 'Node', key: 'node-0', client: 't', mutate: () => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-0' }, spec: { podCIDR: '10.244.0.0/24' } }) });
  api.commit<Service>({
    kind: 'Service',
    key: 'default/web',
    client: 't',
    mutate: () => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.0.10', selector: { app: 'web' }, ports: [{ port: 80 }] } }),
  });
  const kubelet = new Kubelet(sim, api, { nodeName: 'node-0', podCIDR: parseCidr('10.244.0.0/24'), podNetwork: net, podStartupLatency: () => o.startup ?? 2 * SECOND, readinessProbe: o.probe ?? probe() });
  kubelet.start();
  const esc = new EndpointSliceController(sim, api);
  esc.start();
  const create = (name: string) =>
    api.submit<Pod>({
      kind: 'Pod',
      key: `default/${name}`,
      client: 'replicaset-controller',
      mutate: () => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels: { app: 'web' } }, spec: { nodeName: 'node-0', containers: [{ name: 'app' }] } }),
    });
  const pod = (name: string) => api.get<Pod>('Pod', `default/${name}`);
  const endpoint = (name: string): EndpointConditions | undefined => {
    for (const s of api.list<EndpointSlice>('EndpointSlice')) for (const e of s.endpoints) if (e.targetRef?.name === name) return e.conditions;
    return undefined;
  };
  /** The pod IP's state at each of the given instants (scheduled first: they see the state before same-instant events). */
  const watchIP = (ip: () => string | undefined, at: Nanos[]) => {
    const got: (PodIPState | undefined)[] = [];
    for (const t of at) sim.scheduleAt(t, () => got.push(ip() === undefined ? undefined : net.state(ip()!)));
    return got;
  };
  return { sim, api, net, kubelet, create, pod, endpoint, watchIP };
}

test('startup: the IP answers after the startup latency; Ready follows the first probe and is written with write latency', () => {
  const r = rig();
  r.create('web-a'); // commits at 10ms; the kubelet hears it at 15ms
  r.sim.run(2 * SECOND + 10 * MS - 1);
  assert.equal(r.pod('web-a')!.status?.podIP, undefined);
  r.sim.run(2 * SECOND + 10 * MS); // creation commit + 2s startup
  assert.equal(r.kubelet.ipam.inUse, 1);
  const ip = '10.244.0.2'; // host-local: the first address after the bridge's .1
  assert.equal(r.net.state(ip), 'accepting');
  assert.equal(r.net.isServing(ip), true, 'the manual probe at container start passes at once');
  r.sim.run(2 * SECOND + 20 * MS);
  const p = r.pod('web-a')!;
  assert.equal(p.status?.podIP, '10.244.0.2');
  assert.equal(p.status?.phase, 'Running');
  assert.equal(readyTransitionTime(p), 2 * SECOND + 10 * MS, 'Ready lastTransitionTime is the probe instant, exact');
  r.sim.run(3 * SECOND);
  assert.deepEqual(r.endpoint('web-a'), { ready: true, serving: true, terminating: false });
});

test('readiness probe: initialDelay skips probes, successThreshold needs consecutive successes on the worker\'s ticks', () => {
  // Admitted at 15ms (watch): ticks at 10.015s, 20.015s...; container starts at 2.01s.
  const r = rig({ probe: probe({ initialDelay: 5 * SECOND, successThreshold: 2 }) });
  r.create('web-a');
  r.sim.run(30 * SECOND);
  assert.equal(readyTransitionTime(r.pod('web-a')!), 20 * SECOND + 15 * MS);
  const r1 = rig({ probe: probe({ initialDelay: 5 * SECOND }) });
  r1.create('web-a');
  r1.sim.run(30 * SECOND);
  assert.equal(readyTransitionTime(r1.pod('web-a')!), 10 * SECOND + 15 * MS);
});

test('graceful termination: terminating and still serving until the grace period ends, then refusing, then gone', () => {
  const r = rig();
  r.create('web-a');
  r.sim.run(10 * SECOND);
  const ip = r.pod('web-a')!.status!.podIP!;
  r.sim.scheduleAt(20 * SECOND, () =>
    r.api.submit<Pod>({ kind: 'Pod', key: 'default/web-a', client: 'replicaset-controller', mutate: (cur) => withDeletion(cur!, 30 * SECOND, 20 * SECOND) }),
  );
  // Deletion commits at 20.01s; the kubelet hears it at 20.015s and kills at 50.015s.
  let seen: EndpointConditions | undefined;
  r.sim.scheduleAt(21 * SECOND, () => (seen = r.endpoint('web-a')));
  const states = r.watchIP(() => ip, [49 * SECOND, 50 * SECOND + 15 * MS + 1, 50 * SECOND + 25 * MS + 1]);
  r.sim.run(60 * SECOND);
  assert.deepEqual(seen, { ready: false, serving: true, terminating: true });
  assert.deepEqual(states, ['accepting', 'refusing', 'unreachable']);
  assert.equal(r.pod('web-a'), undefined, 'the kubelet confirmed the deletion');
  assert.equal(r.endpoint('web-a'), undefined);
  assert.equal(r.kubelet.ipam.inUse, 0);
});

test('grace period 0: the process stops as soon as the kubelet hears of the deletion', () => {
  const r = rig();
  r.create('web-a');
  r.sim.run(10 * SECOND);
  const ip = r.pod('web-a')!.status!.podIP!;
  r.sim.scheduleAt(20 * SECOND, () => r.api.submit<Pod>({ kind: 'Pod', key: 'default/web-a', client: 'rs', mutate: (cur) => withDeletion(cur!, 0, 20 * SECOND) }));
  const states = r.watchIP(() => ip, [20 * SECOND + 15 * MS - 1, 20 * SECOND + 15 * MS + 1]);
  r.sim.run(60 * SECOND);
  assert.deepEqual(states, ['accepting', 'refusing']);
});

test('crash: refusing at once, not Ready after failureThreshold failed probes, Ready again after recovery', () => {
  const r = rig();
  r.create('web-a'); // admitted at 15ms: ticks at 10.015s, 20.015s, ...
  r.sim.run(10 * SECOND);
  const ip = r.pod('web-a')!.status!.podIP!;
  r.sim.scheduleAt(12 * SECOND, () => assert.ok(r.kubelet.crash('default/web-a', 60 * SECOND)));
  const states = r.watchIP(() => ip, [12 * SECOND]);
  r.sim.run(45 * SECOND);
  assert.deepEqual(states, ['refusing']);
  // Failures at 20.015, 30.015, 40.015: the third marks the pod not Ready.
  const p = r.pod('web-a')!;
  assert.equal(readyTransitionTime(p), 40 * SECOND + 15 * MS);
  assert.deepEqual(r.endpoint('web-a'), { ready: false, serving: false, terminating: false });
  r.sim.run(80 * SECOND); // recovers at 72s, next tick 80.015s
  assert.equal(r.net.state(ip), 'accepting');
  r.sim.run(81 * SECOND);
  assert.deepEqual(r.endpoint('web-a'), { ready: true, serving: true, terminating: false });
  assert.equal(readyTransitionTime(r.pod('web-a')!), 80 * SECOND + 15 * MS);
});

test('node failure: the pods stop answering at once and the kubelet writes nothing more', () => {
  const r = rig();
  r.create('web-a');
  r.sim.run(10 * SECOND);
  const ip = r.pod('web-a')!.status!.podIP!;
  const writes = r.kubelet.statusWrites;
  r.sim.scheduleAt(11 * SECOND, () => r.kubelet.fail());
  r.sim.scheduleAt(12 * SECOND, () => r.api.submit<Pod>({ kind: 'Pod', key: 'default/web-a', client: 'rs', mutate: (cur) => withDeletion(cur!, 30 * SECOND, 12 * SECOND) }));
  r.sim.run(100 * SECOND);
  assert.equal(r.net.state(ip), 'unreachable');
  assert.equal(r.kubelet.statusWrites, writes);
  assert.ok(r.pod('web-a'), 'nobody confirms the deletion of a pod on a dead node');
  assert.deepEqual(r.endpoint('web-a'), { ready: false, serving: true, terminating: true });
});
