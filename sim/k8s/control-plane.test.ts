import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../engine/simulator.ts';
import { MS, SECOND } from '../engine/time.ts';
import { ControlPlane, type ControlPlaneOptions, type EndpointChangeRecord } from './control-plane.ts';
import { samplerOf } from '../engine/distribution.ts';
import { resolveFenceposts } from './deployment-controller.ts';
import type { Deployment, Node, Pod } from './objects.ts';
import { withDeletion } from './pod-status.ts';
import { isActive } from './replicaset-controller.ts';
import { Scheduler } from './scheduler.ts';

const base: ControlPlaneOptions = {
  nodes: 2,
  services: 1,
  endpointsPerService: 4,
  watchLatency: samplerOf({ kind: 'constant', value: 5 * MS }),
  apiWriteLatency: samplerOf({ kind: 'constant', value: 10 * MS }),
  podStartupLatency: samplerOf({ kind: 'constant', value: 1 * SECOND }),
};

function podsOf(cp: ControlPlane): Pod[] {
  return [...cp.api.list<Pod>('Pod')];
}

function deployment(cp: ControlPlane): Deployment {
  return cp.api.get<Deployment>('Deployment', 'default/svc-0')!;
}

test('maxSurge/maxUnavailable: surge rounds up, unavailable down, both zero gives unavailable 1 (ResolveFenceposts)', () => {
  const d = (maxSurge: number | string, maxUnavailable: number | string) => ({ spec: { strategy: { rollingUpdate: { maxSurge, maxUnavailable } } } }) as unknown as Deployment;
  assert.deepEqual(resolveFenceposts(d('25%', '25%'), 10), { surge: 3, unavailable: 2 });
  assert.deepEqual(resolveFenceposts(d('0%', '0%'), 10), { surge: 0, unavailable: 1 });
  assert.deepEqual(resolveFenceposts(d(2, 0), 10), { surge: 2, unavailable: 0 });
  assert.deepEqual(resolveFenceposts({ spec: {} } as unknown as Deployment, 4), { surge: 1, unavailable: 1 });
});

test('scheduler: examines numFeasibleNodesToFind nodes and picks the least loaded', () => {
  assert.equal(Scheduler.feasibleNodesToFind(50), 50);
  assert.equal(Scheduler.feasibleNodesToFind(1000), 420); // 50 - 1000/125 = 42%
  assert.equal(Scheduler.feasibleNodesToFind(5000), 500); // 10%
  assert.equal(Scheduler.feasibleNodesToFind(20000), 1000); // floor at 5%
});

function rollingUpdate(maxSurge: number | string, maxUnavailable: number | string) {
  const sim = new Simulator({ seed: 2 });
  const cp = new ControlPlane(sim, { ...base, endpointsPerService: 4, churn: [{ kind: 'rolling-update', start: 5 * SECOND, every: 1000 * SECOND, maxSurge, maxUnavailable, terminationGracePeriod: 2 * SECOND }] });
  const records: EndpointChangeRecord[] = [];
  cp.onEndpointChange((r) => records.push(r));
  let maxActive = 0;
  let minReadyActive = Infinity;
  const sample = () => {
    const active = podsOf(cp).filter(isActive);
    maxActive = Math.max(maxActive, active.length);
    minReadyActive = Math.min(minReadyActive, active.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length);
    if (sim.now < 60 * SECOND) sim.schedule(10 * MS, sample);
  };
  cp.start();
  sim.schedule(0, sample);
  sim.run(60 * SECOND);
  return { sim, cp, records, maxActive, minReadyActive };
}

test('rolling update with maxSurge 1, maxUnavailable 0: never more than 5 pods, never fewer than 4 Ready, all pods replaced', () => {
  const r = rollingUpdate(1, 0);
  assert.equal(r.maxActive, 5);
  assert.equal(r.minReadyActive, 4);
  const hash = deployment(r.cp).spec.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'];
  assert.ok(hash, 'the rollout was a restart');
  const pods = podsOf(r.cp);
  assert.equal(pods.length, 4, 'old pods are gone after their grace period');
  assert.equal(r.cp.stats().podsDeleted, 4, 'the 4 old pods, removed by their kubelets');
  assert.equal(r.cp.stats().podsDeletedByReplicaSets, 4, 'deleted by the old ReplicaSet\'s scale-down');
  const sets = r.cp.deploymentController.replicaSetsOf('default/svc-0');
  assert.equal(sets.length, 2);
  const [old, neu] = sets;
  assert.equal(old!.replicas, 0);
  assert.equal(neu!.replicas, 4);
  for (const p of pods) assert.equal(p.metadata.labels!['pod-template-hash'], neu!.hash);
  const readyNames = [...r.cp.endpointSlices()].flatMap((s) => s.endpoints.filter((e) => e.conditions?.ready).map((e) => e.targetRef!.name)).sort();
  assert.deepEqual(readyNames, pods.map((p) => p.metadata.name).sort());
});

test('rolling update with maxSurge 0, maxUnavailable 1: one pod down at a time, no surge', () => {
  const r = rollingUpdate(0, 1);
  assert.equal(r.maxActive, 4);
  assert.equal(r.minReadyActive, 3);
  assert.equal(podsOf(r.cp).length, 4);
});

test('endpoint change records: each new pod reports Ready at its condition instant, each old one terminating at its deletion, then removed', () => {
  const r = rollingUpdate('25%', '25%');
  const ready = r.records.filter((x) => x.change === 'ready');
  const terminating = r.records.filter((x) => x.change === 'terminating');
  const removed = r.records.filter((x) => x.change === 'removed');
  assert.equal(ready.length, 4);
  assert.equal(terminating.length, 4);
  assert.equal(removed.length, 4);
  for (const x of r.records) assert.ok(x.t0 <= x.t1, `${x.change} ${x.pod}: t0 ${x.t0} <= t1 ${x.t1}`);
  // Ready: t0 is the kubelet's probe instant; the pod write (10ms), the controller's watch (5ms) and the
  // slice write (10ms) follow, plus the wait when the Service's previous sync is still writing.
  for (const x of ready) assert.ok(x.t1 - x.t0 >= 25 * MS && x.t1 - x.t0 <= 45 * MS, `${x.pod}`);
  // Terminating: t0 is the deletion's commit; the controller hears it 5ms later and writes in 10ms.
  for (const x of terminating) {
    assert.ok(x.t1 - x.t0 >= 15 * MS && x.t1 - x.t0 <= 35 * MS);
    assert.deepEqual([x.ready, x.serving, x.terminating], [false, true, true]);
  }
});

test('pod kills at a rate: pods are deleted gracefully and replaced by the ReplicaSet', () => {
  const sim = new Simulator({ seed: 3 });
  const cp = new ControlPlane(sim, { ...base, services: 3, endpointsPerService: 3, churn: [{ kind: 'pod-kill', start: 0, every: 10 * SECOND, ratePerMinute: 30, terminationGracePeriod: 5 * SECOND }] });
  let removed = 0;
  let killedBefore55s = 0;
  cp.api.watch({ name: 'test', kind: 'Pod', sendInitialEvents: false, handler: (e) => {
    if (e.type === 'DELETED') removed++;
    else if (e.object.metadata.deletionTimestamp !== undefined && e.previous?.metadata.deletionTimestamp === undefined && e.committedAt < 55 * SECOND) killedBefore55s++;
  } });
  cp.start();
  sim.run(60 * SECOND);
  const kills = cp.stats().churn.podKills;
  assert.ok(kills >= 15 && kills <= 50, `about 30 kills in a minute, got ${kills}`);
  assert.equal(cp.stats().podsCreated, kills);
  // Kubectl's deletes, not the ReplicaSet's: each killed pod is removed once its 5s grace period is over.
  assert.equal(cp.stats().podsDeleted, removed);
  assert.ok(removed >= killedBefore55s && removed <= kills, `${removed} removed, ${killedBefore55s} killed before 55s, ${kills} kills`);
  assert.equal(cp.stats().podsDeletedByReplicaSets, 0);
  sim.run(70 * SECOND); // the last kills' replacements start and pass their probe
  const active = podsOf(cp).filter(isActive);
  assert.equal(active.length, 9);
  assert.ok(active.every((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')));
});

test('scale: up by the fraction, then back down at the next event', () => {
  const sim = new Simulator({ seed: 4 });
  const cp = new ControlPlane(sim, { ...base, churn: [{ kind: 'scale', start: 1 * SECOND, every: 20 * SECOND, fraction: 1 }] });
  cp.start();
  sim.run(15 * SECOND);
  assert.equal(deployment(cp).spec.replicas, 8);
  assert.equal(podsOf(cp).filter(isActive).length, 8);
  sim.run(35 * SECOND);
  assert.equal(deployment(cp).spec.replicas, 4);
  assert.equal(podsOf(cp).filter(isActive).length, 4);
});

test('node failure: pods unreachable at once, node NotReady after the grace period, pods evicted and replaced after the eviction timeout', () => {
  const sim = new Simulator({ seed: 5 });
  const cp = new ControlPlane(sim, { ...base, nodes: 2, endpointsPerService: 4, nodeMonitorGracePeriod: 40 * SECOND, podEvictionTimeout: 30 * SECOND, churn: [{ kind: 'node-failure', start: 10 * SECOND, every: 1000 * SECOND }] });
  cp.start();
  sim.run(10 * SECOND);
  const failed = cp.nodeLifecycle.failures[0]!;
  const onFailed = podsOf(cp).filter((p) => p.spec.nodeName === failed.node);
  assert.equal(onFailed.length, 2);
  for (const p of onFailed) assert.equal(cp.podIPState(p.status!.podIP!), 'unreachable');
  // Last lease renewal at most 10s before the failure; NotReady on the first 5s monitor pass after it + 40s.
  assert.ok(failed.lastHeartbeat <= 10 * SECOND && failed.lastHeartbeat > 0);
  assert.ok(failed.notReadyAt > failed.lastHeartbeat + 40 * SECOND && failed.notReadyAt <= failed.lastHeartbeat + 45 * SECOND);
  sim.run(failed.notReadyAt + 1 * SECOND);
  const node = cp.api.get<Node>('Node', failed.node)!;
  assert.equal(node.status!.conditions!.find((c) => c.type === 'Ready')!.status, 'Unknown');
  for (const p of onFailed) {
    const cur = cp.api.get<Pod>('Pod', `default/${p.metadata.name}`)!;
    assert.equal(cur.status!.conditions!.find((c) => c.type === 'Ready')!.status, 'False', 'MarkPodsNotReady');
  }
  assert.equal(podsOf(cp).length, 4, 'no replacement before eviction');
  sim.run(failed.evictAt + 10 * SECOND);
  const pods = podsOf(cp);
  assert.equal(pods.length, 6, 'evicted pods stay Terminating (nobody confirms) beside their replacements');
  const replacements = pods.filter(isActive).filter((p) => p.spec.nodeName !== failed.node);
  assert.equal(replacements.length, 4);
  const ready = [...cp.endpointSlices()].flatMap((s) => s.endpoints.filter((e) => e.conditions?.ready)).length;
  assert.equal(ready, 4);
});

test('same seed, same run', () => {
  const run = () => {
    const sim = new Simulator({ seed: 9 });
    const cp = new ControlPlane(sim, {
      ...base,
      nodes: 3,
      services: 4,
      watchLatency: samplerOf({ kind: 'lognormal', median: 5 * MS, p99: 50 * MS }),
      churn: [
        { kind: 'rolling-update', start: 1 * SECOND, every: 7 * SECOND },
        { kind: 'pod-kill', start: 0, every: SECOND, ratePerMinute: 20 },
      ],
    });
    const recs: EndpointChangeRecord[] = [];
    cp.onEndpointChange((r) => recs.push(r));
    cp.start();
    sim.run(30 * SECOND);
    return { stats: cp.stats(), recs };
  };
  assert.deepEqual(run(), run());
});

test('delays: samplerOf follows the schema\'s distributions; { stream, sample } draws from that one named stream', () => {
  const sim = new Simulator({ seed: 11 });
  const r = sim.rng('test/sampler');
  const ln = samplerOf({ kind: 'lognormal', median: 5 * MS, p99: 50 * MS });
  const xs = Array.from({ length: 20000 }, () => ln(r)).sort((a, b) => a - b);
  const median = xs[10000]!;
  const p99 = xs[19800]!;
  assert.ok(Math.abs(median - 5 * MS) < 0.3 * MS, `median ${median}`);
  assert.ok(Math.abs(p99 - 50 * MS) < 6 * MS, `p99 ${p99}`);
  assert.ok(xs.every((x) => Number.isInteger(x)));
  assert.equal(samplerOf({ kind: 'constant', value: 7 })(r), 7);
  const u = samplerOf({ kind: 'uniform', min: 10, max: 20 });
  assert.ok(Array.from({ length: 100 }, () => u(r)).every((x) => x >= 10 && x <= 20));

  // The named-stream form: every pod's startup comes from k8s/test/startup, whatever the node.
  const drawn: number[] = [];
  const sim2 = new Simulator({ seed: 12 });
  const cp = new ControlPlane(sim2, {
    ...base,
    podStartupLatency: { stream: 'k8s/test/startup', sample: (rng) => { const v = Math.round(rng.uniform(1, 2) * SECOND); drawn.push(v); return v; } },
    churn: [{ kind: 'pod-kill', start: 0, every: SECOND, ratePerMinute: 10 }],
  });
  cp.start();
  sim2.run(30 * SECOND);
  const check = new Simulator({ seed: 12 }).rng('k8s/test/startup');
  assert.ok(drawn.length > 0);
  assert.deepEqual(drawn, drawn.map(() => Math.round(check.uniform(1, 2) * SECOND)));
});

test('a deleted pod through controller, kubelet and API: ready=false serving=true terminating=true for its grace period, then out of the slice', () => {
  const sim = new Simulator({ seed: 6 });
  const cp = new ControlPlane(sim, { ...base, readinessProbe: { initialDelay: 0, period: 1 * SECOND, timeout: 1 * SECOND, successThreshold: 1, failureThreshold: 3 } });
  cp.start();
  sim.run(1 * SECOND);
  const victim = podsOf(cp)[0]!;
  const key = `default/${victim.metadata.name}`;
  // `kubectl delete pod --grace-period=10`: the deletionTimestamp is set, the pod stays until the kubelet confirms.
  cp.api.submit<Pod>({ kind: 'Pod', key, client: 'kubectl', mutate: (cur) => (cur ? withDeletion(cur, 10 * SECOND, sim.now) : undefined) });
  const entry = () => [...cp.endpointSlices()].flatMap((s) => s.endpoints).find((e) => e.targetRef?.name === victim.metadata.name);
  const seen: string[] = [];
  const at: number[] = [];
  const sample = () => {
    const e = entry();
    const c = e ? `${e.conditions?.ready}/${e.conditions?.serving}/${e.conditions?.terminating}` : 'gone';
    if (seen[seen.length - 1] !== c) {
      seen.push(c);
      at.push(sim.now);
    }
    if (sim.now < 20 * SECOND) sim.schedule(10 * MS, sample);
  };
  sample();
  sim.run(20 * SECOND);
  // The probe keeps passing while the process serves its grace period (kubelet.ts), so serving stays true.
  assert.deepEqual(seen, ['true/true/false', 'false/true/true', 'gone']);
  const terminatingFor = at[2]! - at[1]!;
  assert.ok(terminatingFor >= 10 * SECOND - 100 * MS && terminatingFor <= 10 * SECOND + 200 * MS, `terminating for ${terminatingFor} ns, about the 10 s grace period`);
  assert.equal(cp.api.get<Pod>('Pod', key), undefined, 'the kubelet confirmed the deletion');
  const others = [...cp.endpointSlices()].flatMap((s) => s.endpoints).filter((e) => e.conditions?.ready);
  assert.equal(others.length, 4, 'three survivors and the ReplicaSet\'s replacement');
});

test('a crash starts the endpoint change at the crash: the record t0 and the commit stoppedAt are the crash, the trigger time the Ready write', () => {
  const sim = new Simulator({ seed: 5 });
  const cp = new ControlPlane(sim, { ...base, readinessProbe: null });
  const records: EndpointChangeRecord[] = [];
  const commits: { triggerTime: number; stoppedAt: number }[] = [];
  cp.onEndpointChange((r) => records.push(r));
  cp.onEndpointSliceCommit((c) => commits.push({ triggerTime: c.triggerTime, stoppedAt: c.stoppedAt }));
  cp.start();
  sim.run(5 * SECOND);
  const victim = podsOf(cp)[0]!;
  const crashAt = 5 * SECOND + 123 * MS;
  sim.scheduleAt(crashAt, () => assert.ok(cp.crashPod(`default/${victim.metadata.name}`)));
  sim.run(10 * SECOND);
  const down = records.find((r) => r.pod === `default/${victim.metadata.name}` && r.change === 'not-ready');
  assert.ok(down, JSON.stringify(records));
  assert.equal(down.t0, crashAt);
  assert.ok(down.t1 > crashAt);
  const c = commits.find((x) => x.stoppedAt === crashAt);
  assert.ok(c && c.triggerTime > crashAt && c.triggerTime <= crashAt + SECOND, JSON.stringify(commits));
  const back = records.find((r) => r.pod === `default/${victim.metadata.name}` && r.change === 'ready' && r.t0 > crashAt);
  assert.ok(back, 'restarted and Ready again');
});

test('container-crash churn: crashes at the rate, nothing deleted, the pods come back', () => {
  const sim = new Simulator({ seed: 7 });
  const cp = new ControlPlane(sim, { ...base, endpointsPerService: 10, churn: [{ kind: 'container-crash', start: 1 * SECOND, every: 0, ratePerMinute: 60 }] });
  cp.start();
  sim.run(61 * SECOND);
  const n = cp.churn.counts.containerCrashes;
  assert.ok(n >= 35 && n <= 90, `about 60 crashes in a minute, got ${n}`);
  assert.equal(cp.stats().podsDeleted, 0);
  const restarts = podsOf(cp).reduce((a, p) => a + (p.status?.containerStatuses?.[0]?.restartCount ?? 0), 0);
  assert.ok(restarts > 0 && restarts <= n);
});

test('node failure: the not-ready records start when the pods stopped answering (failedAt), not at NotReady', () => {
  const sim = new Simulator({ seed: 5 });
  const cp = new ControlPlane(sim, { ...base, podEvictionTimeout: 300 * SECOND, churn: [{ kind: 'node-failure', start: 10 * SECOND, every: 1000 * SECOND }] });
  const records: EndpointChangeRecord[] = [];
  cp.onEndpointChange((r) => records.push(r));
  cp.start();
  sim.run(120 * SECOND);
  const failed = cp.nodeLifecycle.failures[0]!;
  const down = records.filter((r) => r.change === 'not-ready' || r.change === 'not-serving');
  assert.equal(down.length, 2);
  for (const r of down) {
    assert.equal(r.t0, failed.failedAt);
    assert.ok(r.t1 > failed.notReadyAt);
  }
});
