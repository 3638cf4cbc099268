import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../engine/simulator.ts';
import { MS, parseDuration, SECOND } from '../engine/time.ts';
import { ApiServer, DELETE } from './apiserver.ts';
import { EndpointSliceController, type SliceCommit } from './endpointslice-controller.ts';
import { latency } from './latency.ts';
import { ANNOTATION_LAST_CHANGE_TRIGGER_TIME, type EndpointSlice, type Node, type Pod, type Service } from './objects.ts';
import { condition } from './sim-times.ts';
import { formatTimestampNano } from './timestamps.ts';

const service: Service = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'default' },
  spec: { clusterIP: '10.96.0.10', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] },
};

function pod(i: number, ready: boolean, t: number): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `web-${i}`, namespace: 'default', labels: { app: 'web' } },
    spec: { nodeName: 'node-0', containers: [{ name: 'c' }] },
    status: { phase: 'Running', podIP: `10.244.0.${i + 2}`, conditions: [condition('Ready', ready ? 'True' : 'False', t)] },
  };
}

interface Rig {
  sim: Simulator;
  api: ApiServer;
  ctl: EndpointSliceController;
  commits: SliceCommit[];
  setPod(i: number, ready: boolean): void;
  deletePod(i: number): void;
  slices(): EndpointSlice[];
}

function rig(o: { pods: number; batchPeriod?: number; max?: number; write?: string; watch?: string }): Rig {
  const sim = new Simulator({ seed: 3 });
  const api = new ApiServer(sim, { writeLatency: latency({ kind: 'constant', value: parseDuration(o.write ?? '10ms') }), watchLatency: latency({ kind: 'constant', value: parseDuration(o.watch ?? '5ms') }) });
  // Pods on a Node the controller cannot find are left out (reconciler.go), so the node exists.
  api.commit<Node>({ kind: 'Node', key: 'node-0', client: 'test', mutate: () => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-0' }, spec: {} }) });
  api.commit<Service>({ kind: 'Service', key: 'default/web', client: 'test', mutate: () => service });
  for (let i = 0; i < o.pods; i++) api.commit<Pod>({ kind: 'Pod', key: `default/web-${i}`, client: 'test', mutate: () => pod(i, true, 0) });
  const ctl = new EndpointSliceController(sim, api, { batchPeriod: o.batchPeriod ?? 0, maxEndpointsPerSlice: o.max ?? 100 });
  const commits: SliceCommit[] = [];
  ctl.onSliceCommit = (c) => commits.push(c);
  ctl.start();
  return {
    sim,
    api,
    ctl,
    commits,
    setPod: (i, ready) => {
      const p = pod(i, ready, sim.now); // the kubelet stamps the condition when it issues the write
      api.submit<Pod>({ kind: 'Pod', key: `default/web-${i}`, client: 'kubelet', mutate: () => p });
    },
    deletePod: (i) => api.submit<Pod>({ kind: 'Pod', key: `default/web-${i}`, client: 'kubelet', mutate: (cur) => (cur ? DELETE : undefined) }),
    slices: () => [...api.list<EndpointSlice>('EndpointSlice')],
  };
}

const readyNames = (slices: EndpointSlice[]) =>
  slices
    .flatMap((s) => s.endpoints.filter((e) => e.conditions?.ready).map((e) => e.targetRef!.name!))
    .sort();

test('initial sync writes the slices once; a resync with nothing changed writes nothing', () => {
  const r = rig({ pods: 3 });
  r.sim.run();
  assert.equal(r.ctl.syncs, 1);
  assert.equal(r.commits.length, 1);
  assert.deepEqual(readyNames(r.slices()), ['web-0', 'web-1', 'web-2']);
  // A pod update that changes nothing an endpoint shows (GetPodUpdateProjectionKey) queues no sync.
  r.api.submit<Pod>({ kind: 'Pod', key: 'default/web-0', client: 'x', mutate: (cur) => ({ ...cur!, status: { ...cur!.status, startTime: 'x' } }) });
  r.sim.run();
  assert.equal(r.ctl.syncs, 1);
});

test('batch period: pod changes within one period share one sync and one slice write', () => {
  const run = (batchPeriod: number) => {
    const r = rig({ pods: 5, batchPeriod });
    r.sim.run();
    const before = r.commits.length;
    const syncs = r.ctl.syncs;
    for (const [i, t] of [[1, 0], [2, 300], [3, 600]] as const) r.sim.scheduleAt(10 * SECOND + t * MS, () => r.setPod(i, false));
    r.sim.run();
    assert.deepEqual(readyNames(r.slices()), ['web-0', 'web-4']);
    return { writes: r.commits.length - before, syncs: r.ctl.syncs - syncs, last: r.commits.at(-1)!.committedAt };
  };
  const unbatched = run(0);
  assert.equal(unbatched.writes, 3);
  assert.equal(unbatched.syncs, 3);
  const batched = run(1 * SECOND);
  assert.equal(batched.writes, 1);
  assert.equal(batched.syncs, 1);
  // The first change is heard at 10s + 10ms write + 5ms watch; the sync waits one period after it.
  assert.equal(batched.last, 10 * SECOND + 15 * MS + 1 * SECOND + 10 * MS);
});

test('at most maxEndpointsPerSlice endpoints per slice', () => {
  const r = rig({ pods: 25, max: 10 });
  r.sim.run();
  assert.deepEqual(r.slices().map((s) => s.endpoints.length).sort((a, b) => a - b), [5, 10, 10]);
});

test('slice reuse: replacing a pod updates one existing slice in place, creating and deleting none', () => {
  const r = rig({ pods: 250 });
  r.sim.run();
  const names = r.slices().map((s) => s.metadata.name).sort();
  assert.equal(names.length, 3);
  r.commits.length = 0;
  r.deletePod(17);
  r.api.submit<Pod>({ kind: 'Pod', key: 'default/web-300', client: 'kubelet', mutate: () => pod(300, true, r.sim.now) });
  r.sim.run();
  assert.deepEqual(r.slices().map((s) => s.metadata.name).sort(), names, 'same slice names');
  assert.ok(r.commits.every((c) => c.type === 'MODIFIED'));
  assert.ok(r.commits.length <= 2);
  const all = readyNames(r.slices());
  assert.equal(all.length, 250);
  assert.ok(all.includes('web-300') && !all.includes('web-17'));
});

test('trigger time: the annotation and the watch event carry the Ready transition that caused the write', () => {
  const r = rig({ pods: 2 });
  r.sim.run();
  const t0 = 7 * SECOND + 123_456_789;
  r.sim.scheduleAt(t0, () => r.setPod(1, false));
  r.sim.run();
  const c = r.commits.at(-1)!;
  // The kubelet built the condition when it issued the write, at t0.
  assert.equal(c.triggerTime, t0);
  assert.equal(c.slice.metadata.annotations?.[ANNOTATION_LAST_CHANGE_TRIGGER_TIME], formatTimestampNano(t0));
  assert.equal(c.committedAt, t0 + 10 * MS + 5 * MS + 10 * MS);
  assert.equal(formatTimestampNano(t0), '2026-01-01T00:00:07.123456789Z');
});

test('a change that lands while its Service is being synced is synced again afterwards', () => {
  // Writes take 100ms: the sync for pod 1 is still writing when pod 2's change arrives.
  const r = rig({ pods: 3, write: '100ms' });
  r.sim.run();
  const syncs = r.ctl.syncs;
  r.sim.scheduleAt(10 * SECOND, () => r.setPod(1, false));
  // Pod 1's change commits at 10.1s, is heard at 10.105s; the slice write is in flight until 10.205s.
  r.sim.scheduleAt(10 * SECOND + 50 * MS, () => r.setPod(2, false)); // commits 10.15s, heard 10.155s
  r.sim.run();
  assert.equal(r.ctl.syncs - syncs, 2);
  assert.deepEqual(readyNames(r.slices()), ['web-0']);
  const last = r.commits.at(-1)!;
  assert.equal(last.committedAt, 10 * SECOND + 205 * MS + 100 * MS, 'the second sync starts when the first one is done');
});

test('concurrent syncs: workers write as separate clients, one sync issues its writes one after another', () => {
  const r = rig({ pods: 250, max: 100, write: '10ms' });
  r.sim.run();
  // Three slices created by one sync: committed 10ms apart (finalize issues them sequentially).
  const t = r.commits.map((c) => c.committedAt);
  assert.deepEqual(t, [10 * MS, 20 * MS, 30 * MS]);
});

test('deleting the Service deletes its slices', () => {
  const r = rig({ pods: 3 });
  r.sim.run();
  r.api.submit<Service>({ kind: 'Service', key: 'default/web', client: 'user', mutate: () => DELETE });
  r.sim.run();
  assert.equal(r.slices().length, 0);
  assert.equal(r.commits.at(-1)!.type, 'DELETED');
});
