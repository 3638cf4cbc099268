import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../engine/simulator.ts';
import { MS, SECOND, type Nanos } from '../engine/time.ts';
import { ApiServer } from './apiserver.ts';
import { EndpointSliceController } from './endpointslice-controller.ts';
import { parseNetworkCidr as parseCidr } from './ipam.ts';
import { Kubelet, type ProbeSpec } from './kubelet.ts';
import { latency, ZERO_LATENCY } from './latency.ts';
import type { EndpointConditions, EndpointSlice, Node, Pod, Service } from './objects.ts';
import { PodNetwork, type PodIPState } from './pod-network.ts';
import { withDeletion } from './pod-status.ts';
import { readyTransitionTime, stoppedServingTime } from './sim-times.ts';

const probe = (o: Partial<ProbeSpec> = {}): ProbeSpec => ({ initialDelay: 0, period: 10 * SECOND, timeout: SECOND, successThreshold: 1, failureThreshold: 3, ...o });

function rig(o: { probe?: ProbeSpec | null; startup?: Nanos; exitAfterSigterm?: Nanos } = {}) {
  const sim = new Simulator({ seed: 5 });
  const api = new ApiServer(sim, { writeLatency: latency({ kind: 'constant', value: 10 * MS }), watchLatency: latency({ kind: 'constant', value: 5 * MS }) });
  const net = new PodNetwork();
  api.commit<Node>({ kind: 'Node', key: 'node-0', client: 't', mutate: () => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-0' }, spec: { podCIDR: '10.244.0.0/24' } }) });
  api.commit<Service>({
    kind: 'Service',
    key: 'default/web',
    client: 't',
    mutate: () => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.0.10', selector: { app: 'web' }, ports: [{ port: 80 }] } }),
  });
  const kubelet = new Kubelet(sim, api, { nodeName: 'node-0', podCIDR: parseCidr('10.244.0.0/24'), podNetwork: net, podStartupLatency: () => o.startup ?? 2 * SECOND, ...(o.probe === null ? {} : { readinessProbe: o.probe ?? probe() }),
    ...(o.exitAfterSigterm !== undefined ? { exitAfterSigterm: () => o.exitAfterSigterm! } : {}),
  });
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

test('an app that exits after draining: refusing when it exits, well before the grace period ends; phase Succeeded', () => {
  const r = rig({ exitAfterSigterm: 2 * SECOND });
  r.create('web-a');
  r.sim.run(10 * SECOND);
  const ip = r.pod('web-a')!.status!.podIP!;
  r.sim.scheduleAt(20 * SECOND, () => r.api.submit<Pod>({ kind: 'Pod', key: 'default/web-a', client: 'rs', mutate: (cur) => withDeletion(cur!, 30 * SECOND, 20 * SECOND) }));
  // Deletion commits at 20.01s, heard at 20.015s: SIGTERM then, exit 2 s later.
  const states = r.watchIP(() => ip, [22 * SECOND + 15 * MS - 1, 22 * SECOND + 15 * MS + 1]);
  let phase: string | undefined;
  r.api.watch({ name: 't', kind: 'Pod', latency: ZERO_LATENCY, sendInitialEvents: false, handler: (e) => void ((e.object as Pod).status?.phase && (phase = (e.object as Pod).status!.phase)) });
  r.sim.run(60 * SECOND);
  assert.deepEqual(states, ['accepting', 'refusing']);
  assert.equal(phase, 'Succeeded');
  assert.equal(r.pod('web-a'), undefined);
});

test('an app slower to exit than the grace period is killed when it ends', () => {
  const r = rig({ exitAfterSigterm: 90 * SECOND });
  r.create('web-a');
  r.sim.run(10 * SECOND);
  const ip = r.pod('web-a')!.status!.podIP!;
  r.sim.scheduleAt(20 * SECOND, () => r.api.submit<Pod>({ kind: 'Pod', key: 'default/web-a', client: 'rs', mutate: (cur) => withDeletion(cur!, 30 * SECOND, 20 * SECOND) }));
  const states = r.watchIP(() => ip, [50 * SECOND + 15 * MS - 1, 50 * SECOND + 15 * MS + 1]);
  r.sim.run(60 * SECOND);
  assert.deepEqual(states, ['accepting', 'refusing']);
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

test('crash: refusing at once, not Ready at the next PLEG relist whatever the probes, restarted at once, Ready at its first probe', () => {
  const r = rig();
  r.create('web-a'); // admitted at 15ms: ticks at 10.015s, 20.015s, ...
  r.sim.run(10 * SECOND);
  const ip = r.pod('web-a')!.status!.podIP!;
  // Every Ready transition the API commits, as it commits it.
  const log: { at: Nanos; ready: boolean; transition: Nanos; stopped: Nanos }[] = [];
  let was = true;
  r.api.watch({
    name: 'test',
    kind: 'Pod',
    latency: ZERO_LATENCY,
    sendInitialEvents: false,
    handler: (e) => {
      const p = e.object as Pod;
      const ready = stoppedServingTime(p) === -1;
      if (ready !== was) log.push({ at: r.sim.now, ready, transition: readyTransitionTime(p), stopped: stoppedServingTime(p) });
      was = ready;
    },
  });
  const crashAt = 12 * SECOND + 300 * MS;
  const states = r.watchIP(() => ip, [crashAt, crashAt + 1]);
  r.sim.scheduleAt(crashAt, () => assert.ok(r.kubelet.crash('default/web-a')));
  r.sim.run(crashAt + 5 * SECOND);
  assert.deepEqual(states, ['accepting', 'refusing']);
  assert.equal(log.length, 2, JSON.stringify(log));
  const [down, up] = log as [(typeof log)[0], (typeof log)[0]];
  assert.equal(down.ready, false);
  assert.ok(down.transition > crashAt && down.transition <= crashAt + SECOND, `Ready=False written at the relist after the crash, got ${down.transition}`);
  assert.equal(down.at, down.transition + 10 * MS, 'with the write latency');
  assert.equal(down.stopped, crashAt, 'the stop instant is the crash, not the write');
  // Restarted at the relist (first crash: no backoff); seen running at the next relist, probed at once.
  assert.equal(up.ready, true);
  assert.equal(up.transition, down.transition + SECOND);
  assert.equal(r.net.state(ip), 'accepting');
  assert.deepEqual(r.endpoint('web-a'), { ready: true, serving: true, terminating: false });
  assert.equal(r.pod('web-a')!.status!.containerStatuses![0]!.restartCount, 1);
});

test('crash without a readiness probe: not Ready all the same (the container is not running)', () => {
  const r = rig({ probe: null });
  r.create('web-a');
  r.sim.run(10 * SECOND);
  const ip = r.pod('web-a')!.status!.podIP!;
  r.sim.scheduleAt(20 * SECOND, () => assert.ok(r.kubelet.crash('default/web-a')));
  r.sim.run(20 * SECOND + 1);
  assert.equal(r.net.state(ip), 'refusing');
  r.sim.run(23 * SECOND);
  // Not Ready at the relist (within 1 s), restarted then (first crash), seen running and Ready (no probe) one relist later.
  assert.ok(stoppedServingTime(r.pod('web-a')!) === -1, 'Ready again');
  assert.ok(readyTransitionTime(r.pod('web-a')!) > 21 * SECOND && readyTransitionTime(r.pod('web-a')!) <= 22 * SECOND);
  assert.equal(r.net.state(ip), 'accepting');
  // Crash again right after each restart: the restarts wait 10 s, then 20 s (CrashLoopBackOff).
  assert.ok(r.kubelet.crash('default/web-a'));
  const second = r.sim.now;
  r.sim.run(second + 5 * SECOND);
  assert.equal(r.net.state(ip), 'refusing', 'the second crash waits out the 10 s backoff');
  assert.deepEqual(r.endpoint('web-a'), { ready: false, serving: false, terminating: false });
  r.sim.run(second + 10 * SECOND + 1);
  assert.equal(r.net.state(ip), 'accepting');
  assert.ok(r.kubelet.crash('default/web-a'));
  const third = r.sim.now;
  r.sim.run(third + 19 * SECOND);
  assert.equal(r.net.state(ip), 'refusing', 'then 20 s');
  r.sim.run(third + 20 * SECOND + 1);
  assert.equal(r.net.state(ip), 'accepting');
  r.sim.run(third + 21 * SECOND); // the status write commits
  assert.equal(r.pod('web-a')!.status!.containerStatuses![0]!.restartCount, 3);
});

test('crash with restartPolicy Never: the pod ends Failed, its IP is released and the object stays', () => {
  const r = rig();
  r.api.submit<Pod>({
    kind: 'Pod',
    key: 'default/web-n',
    client: 'rs',
    mutate: () => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-n', namespace: 'default', labels: { app: 'web' } }, spec: { nodeName: 'node-0', restartPolicy: 'Never', containers: [{ name: 'app' }] } }),
  });
  r.sim.run(10 * SECOND);
  assert.ok(r.kubelet.crash('default/web-n'));
  r.sim.run(20 * SECOND);
  assert.equal(r.pod('web-n')!.status!.phase, 'Failed');
  assert.equal(r.kubelet.ipam.inUse, 0);
  assert.equal(r.endpoint('web-n'), undefined, 'a terminal pod is no endpoint');
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
