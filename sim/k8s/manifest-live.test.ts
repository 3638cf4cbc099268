import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../engine/simulator.ts';
import { MS, SECOND } from '../engine/time.ts';
import { samplerOf } from '../engine/distribution.ts';
import { InputError } from '../io/input-error.ts';
import { ControlPlane, type ChurnSpec } from './control-plane.ts';
import { checkRunnable, liveClusterDefaults, putManifestCluster, templateProbe } from './manifest-live.ts';
import { parseManifests } from './manifests.ts';
import { isPodReady, type Deployment, type Node, type Pod, type ReplicaSet } from './objects.ts';
import { isActive } from './replicaset-controller.ts';

/** One Deployment `shop/web` of `replicas` pods on two nodes in two zones, as kubectl dumps it. */
function dump(o: { replicas?: number; strategy?: string; grace?: number; probe?: string; extra?: string; noRS?: boolean; noPods?: boolean } = {}): string {
  const replicas = o.replicas ?? 4;
  const grace = o.grace === undefined ? '' : `\n      terminationGracePeriodSeconds: ${o.grace}`;
  const probe = o.probe ?? '';
  const template = `
    metadata: { labels: { app: web } }
    spec:${grace}
      containers:
      - name: web
        ports: [{ name: http, containerPort: 8080 }]${probe}`;
  const rsTemplate = template.replace('labels: { app: web }', 'labels: { app: web, pod-template-hash: abc12 }');
  const docs = [
    `apiVersion: v1
kind: Node
metadata: { name: n-a, labels: { topology.kubernetes.io/zone: zone-a } }
spec: { podCIDR: 10.244.0.0/24 }
status: { addresses: [{ type: InternalIP, address: 10.0.0.1 }], conditions: [{ type: Ready, status: "True" }] }`,
    `apiVersion: v1
kind: Node
metadata: { name: n-b, labels: { topology.kubernetes.io/zone: zone-b } }
spec: { podCIDR: 10.244.1.0/24 }
status: { addresses: [{ type: InternalIP, address: 10.0.0.2 }], conditions: [{ type: Ready, status: "True" }] }`,
    `apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec: { clusterIP: 10.96.0.50, selector: { app: web }, ports: [{ name: http, port: 80, targetPort: http }] }`,
    `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: web } }
${o.strategy ?? ''}
  template:${template}`,
  ];
  if (!o.noRS)
    docs.push(`apiVersion: apps/v1
kind: ReplicaSet
metadata: { name: web-abc12, namespace: shop, labels: { app: web, pod-template-hash: abc12 }, ownerReferences: [{ apiVersion: apps/v1, kind: Deployment, name: web, uid: u1, controller: true }] }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: web, pod-template-hash: abc12 } }
  template:${rsTemplate}`);
  if (!o.noRS && !o.noPods)
    for (let i = 0; i < replicas; i++)
      docs.push(`apiVersion: v1
kind: Pod
metadata: { name: web-abc12-p${i}, namespace: shop, labels: { app: web, pod-template-hash: abc12 }, ownerReferences: [{ apiVersion: apps/v1, kind: ReplicaSet, name: web-abc12, uid: u2, controller: true }] }
spec:${grace.replace('      ', '  ')}
  nodeName: ${i % 2 ? 'n-b' : 'n-a'}
  containers:
  - name: web
    ports: [{ name: http, containerPort: 8080 }]${probe.replace('\n        ', '\n    ')}
status: { phase: Running, podIP: 10.244.${i % 2}.${10 + i}, conditions: [{ type: Ready, status: "True" }] }`);
  return docs.join('\n---\n') + (o.extra ?? '');
}

const LAG = {
  watchLatency: samplerOf({ kind: 'constant', value: 5 * MS }),
  apiWriteLatency: samplerOf({ kind: 'constant', value: 10 * MS }),
  podStartupLatency: samplerOf({ kind: 'constant', value: 1 * SECOND }),
};

function live(text: string, churn: ChurnSpec[] = [], seed = 3): { sim: Simulator; cp: ControlPlane } {
  const sim = new Simulator({ seed });
  const m = parseManifests(text, 'dump.yaml');
  const cp = new ControlPlane(sim, { nodes: 0, services: 0, endpointsPerService: 0, ...LAG, churn, cluster: (s, api, cache) => putManifestCluster(s, api, m, { nodes: 0, file: 'dump.yaml' }, cache), probeOf: templateProbe });
  return { sim, cp };
}

/** Samples, every 10 ms, the most active pods and the fewest Ready active pods of shop/web. */
function watchRollout(sim: Simulator, cp: ControlPlane, until: number): { maxActive: number; minReady: number } {
  const out = { maxActive: 0, minReady: Infinity };
  const sample = () => {
    const active = [...cp.api.list<Pod>('Pod')].filter(isActive);
    out.maxActive = Math.max(out.maxActive, active.length);
    out.minReady = Math.min(out.minReady, active.filter(isPodReady).length);
    if (sim.now < until) sim.schedule(10 * MS, sample);
  };
  sim.schedule(0, sample);
  return out;
}

const restart = (extra: Partial<ChurnSpec> = {}): ChurnSpec => ({ kind: 'rolling-update', start: 5 * SECOND, every: 1000 * SECOND, deployments: ['shop/web'], ...extra });

test('a dump runs as it stands: the current ReplicaSet is adopted (no rollout), kubelets on its nodes, zones on the endpoints', () => {
  const { sim, cp } = live(dump());
  cp.start();
  sim.run(20 * SECOND);
  assert.equal(cp.stats().podsCreated, 0, 'no rollout at start: the Deployment keeps its ReplicaSet');
  assert.deepEqual(cp.nodes().map((n) => n.ip), ['10.0.0.1', '10.0.0.2']);
  const eps = [...cp.endpointSlices()].flatMap((s) => s.endpoints);
  assert.equal(eps.length, 4);
  assert.deepEqual(new Set(eps.map((e) => e.zone)), new Set(['zone-a', 'zone-b']));
  assert.ok(eps.every((e) => e.conditions?.ready));
  assert.equal(cp.podIPState('10.244.1.11'), 'accepting');
});

test('the Deployment\'s own strategy: maxSurge 1, maxUnavailable 0 keeps every replica Ready and at most one extra pod', () => {
  const { sim, cp } = live(dump({ strategy: '  strategy: { type: RollingUpdate, rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }' }), [restart()]);
  const seen = watchRollout(sim, cp, 60 * SECOND);
  cp.start();
  sim.run(60 * SECOND);
  assert.equal(cp.stats().podsCreated, 4, 'every pod replaced');
  assert.equal(seen.maxActive, 5, 'surge of one pod');
  assert.equal(seen.minReady, 4, 'never below replicas');
  const rs = [...cp.api.list<ReplicaSet>('ReplicaSet')].find((r) => r.metadata.name !== 'web-abc12')!;
  assert.equal(rs.spec.replicas, 4);
  assert.deepEqual(cp.api.get<Deployment>('Deployment', 'shop/web')!.spec.strategy?.rollingUpdate, { maxSurge: 1, maxUnavailable: 0 }, 'a plain rollout restart keeps the strategy');
});

test('percentages: maxSurge 50% of 3 rounds up to 2, maxUnavailable 50% rounds down to 1 (rolling.go, ResolveFenceposts)', () => {
  const { sim, cp } = live(dump({ replicas: 3, strategy: '  strategy: { rollingUpdate: { maxSurge: "50%", maxUnavailable: "50%" } }' }), [restart()]);
  const seen = watchRollout(sim, cp, 60 * SECOND);
  cp.start();
  sim.run(60 * SECOND);
  assert.equal(cp.stats().podsCreated, 3);
  assert.equal(seen.maxActive, 5, '3 + 2 surge');
  assert.equal(seen.minReady, 2, '3 - 1 unavailable');
});

test('the pod template\'s grace period: old pods terminate for terminationGracePeriodSeconds, then go', () => {
  for (const grace of [3, 12]) {
    const { sim, cp } = live(dump({ grace }), [restart()]);
    const terminating = new Map<string, number>();
    const lived: number[] = [];
    cp.api.watch({ name: 't', kind: 'Pod', sendInitialEvents: false, handler: (e) => {
      const p = e.object as Pod;
      if (e.type !== 'DELETED' && p.metadata.deletionTimestamp !== undefined && !terminating.has(e.key)) terminating.set(e.key, e.committedAt);
      if (e.type === 'DELETED' && terminating.has(e.key)) lived.push(e.committedAt - terminating.get(e.key)!);
    } });
    cp.start();
    sim.run(60 * SECOND);
    assert.equal(lived.length, 4, `grace ${grace}: the four old pods went`);
    for (const t of lived) assert.ok(t >= grace * SECOND && t < grace * SECOND + SECOND, `grace ${grace}: terminated for ${t / SECOND}s`);
  }
});

test('Recreate: the old pods are scaled away before a new one is created (recreate.go)', () => {
  const { sim, cp } = live(dump({ strategy: '  strategy: { type: Recreate }', grace: 0 }), [restart()]);
  let overlap = false;
  const sample = () => {
    const active = [...cp.api.list<Pod>('Pod')].filter(isActive);
    const hashes = new Set(active.map((p) => p.metadata.labels?.['pod-template-hash']));
    if (hashes.size > 1) overlap = true;
    if (sim.now < 40 * SECOND) sim.schedule(10 * MS, sample);
  };
  sim.schedule(0, sample);
  cp.start();
  sim.run(40 * SECOND);
  assert.equal(overlap, false, 'never old and new pods at once');
  assert.equal(cp.stats().podsCreated, 4);
});

test('the template\'s readiness probe decides when a new pod is Ready', () => {
  const probe = '\n        readinessProbe: { tcpSocket: { port: 8080 }, initialDelaySeconds: 7, periodSeconds: 2 }';
  const { sim, cp } = live(dump({ probe, strategy: '  strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }' }), [restart()]);
  const readyAfterCreate: number[] = [];
  const created = new Map<string, number>();
  cp.api.watch({ name: 't', kind: 'Pod', sendInitialEvents: false, handler: (e) => {
    if (e.type === 'ADDED') created.set(e.key, e.committedAt);
    else if (e.type === 'MODIFIED' && isPodReady(e.object as Pod) && e.previous && !isPodReady(e.previous as Pod) && created.has(e.key)) readyAfterCreate.push(e.committedAt - created.get(e.key)!);
  } });
  cp.start();
  sim.run(90 * SECOND);
  assert.equal(readyAfterCreate.length, 4);
  // Started 1 s after creation, then not before the 7 s initial delay.
  for (const t of readyAfterCreate) assert.ok(t >= 8 * SECOND, `Ready ${t / SECOND}s after creation`);
  assert.deepEqual(templateProbe({ spec: { containers: [{ name: 'c', readinessProbe: {} }] } } as Pod), { initialDelay: 0, period: 10 * SECOND, timeout: 1 * SECOND, successThreshold: 1, failureThreshold: 3 });
  assert.equal(templateProbe({ spec: { containers: [{ name: 'c' }] } } as Pod), undefined);
});

test('manifests that cannot run are refused naming the object; kinds without use are listed as ignored', () => {
  const refused = (text: string, what: RegExp) =>
    assert.throws(() => checkRunnable(parseManifests(text, 'dump.yaml'), 'dump.yaml'), (e: unknown) => e instanceof InputError && what.test(e.where) && e.message.length > 0);
  refused(dump({ noRS: true }), /Deployment shop\/web/);
  refused(dump({ noPods: true }), /Deployment shop\/web/);
  const statefulPod = `\n---\napiVersion: v1\nkind: Pod\nmetadata: { name: db-0, namespace: shop, labels: { app: web }, ownerReferences: [{ apiVersion: apps/v1, kind: StatefulSet, name: db, uid: u, controller: true }] }\nspec: { nodeName: n-a, containers: [{ name: db }] }\n`;
  refused(dump({ extra: statefulPod }), /Pod shop\/db-0, behind Service shop\/web/);
  const m = parseManifests(dump({ extra: '\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: cfg, namespace: shop }\n' }), 'dump.yaml');
  assert.deepEqual(m.ignored, ['ConfigMap shop/cfg']);
  const defaults = liveClusterDefaults(m, { nodes: 0, file: 'dump.yaml' });
  assert.ok(defaults.some((d) => /maxSurge: 25%/.test(d)), defaults.join('\n'));
  assert.ok(defaults.some((d) => /ignored .*ConfigMap shop\/cfg/.test(d)));
  assert.ok(defaults.some((d) => /without terminationGracePeriodSeconds: 30 s/.test(d)));
});

test('what the dump lacks gets the synthetic defaults: addresses, pod CIDRs, Ready', () => {
  const bare = dump().replace(/spec: \{ podCIDR: [^}]*\}\nstatus: \{[^\n]*\}/g, 'spec: {}');
  const m = parseManifests(bare, 'dump.yaml');
  const defaults = liveClusterDefaults(m, { nodes: 0, file: 'dump.yaml' });
  assert.ok(defaults.some((d) => /2 Nodes without an IPv4 InternalIP: addresses from 172.18.0.0\/16/.test(d)), defaults.join('\n'));
  assert.ok(defaults.some((d) => /2 Nodes without an IPv4 spec.podCIDR/.test(d)));
  const { sim, cp } = live(bare);
  cp.start();
  sim.run(5 * SECOND);
  assert.deepEqual(cp.nodes().map((n) => n.ip), ['172.18.0.2', '172.18.0.3']);
  assert.ok([...cp.api.list<Node>('Node')].every((n) => n.spec.podCIDR !== undefined));
});

test('a Service asking for Auto: nodes without allocatable CPU get 4 cores (listed), the slices carry own-zone hints, the start sync writes nothing', () => {
  const text = dump().replace('metadata: { name: web, namespace: shop }\nspec: { clusterIP', "metadata: { name: web, namespace: shop, annotations: { service.kubernetes.io/topology-mode: Auto } }\nspec: { clusterIP");
  const m = parseManifests(text, 'dump.yaml');
  assert.ok(liveClusterDefaults(m, { nodes: 0, file: 'dump.yaml' }).includes('2 Nodes without status.allocatable.cpu: 4 cores (topology-mode Auto shares endpoints by CPU)'));
  const { sim, cp } = live(text);
  const hints = () => [...cp.endpointSlices()].flatMap((s) => s.endpoints.map((e) => `${e.zone}>${e.hints?.forZones?.map((z) => z.name).join(',')}`)).sort();
  assert.deepEqual(hints(), ['zone-a>zone-a', 'zone-a>zone-a', 'zone-b>zone-b', 'zone-b>zone-b']);
  cp.start();
  sim.run(3 * SECOND);
  assert.equal(cp.stats().endpointSliceWrites, 0);
  assert.deepEqual(cp.stats().hints, { fallbackEvents: 0, enabledEvents: 0, servicesWithHints: 1 });
});

test('a Service with trafficDistribution PreferSameNode gets node hints; a dump without topology fields keeps no cache', () => {
  const text = dump().replace('spec: { clusterIP: 10.96.0.50,', 'spec: { trafficDistribution: PreferSameNode, clusterIP: 10.96.0.50,');
  const { cp } = live(text);
  assert.ok([...cp.endpointSlices()].every((s) => s.endpoints.every((e) => e.hints?.forNodes?.[0]?.name === e.nodeName)));
  assert.ok(!liveClusterDefaults(parseManifests(text, 'dump.yaml'), { nodes: 0, file: 'dump.yaml' }).some((d) => d.includes('allocatable')));
  assert.equal(live(dump()).cp.topologyCache, undefined);
});
