import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../engine/simulator.ts';
import { MS, SECOND } from '../engine/time.ts';
import { samplerOf } from '../engine/distribution.ts';
import type { WatchEvent } from './apiserver.ts';
import { ControlPlane, type ControlPlaneOptions, type NodeDrainEvent } from './control-plane.ts';
import { ZERO_LATENCY } from './latency.ts';
import type { Node, Pod } from './objects.ts';
import { isActive } from './replicaset-controller.ts';

const base: ControlPlaneOptions = {
  nodes: 3,
  services: 1,
  endpointsPerService: 6,
  watchLatency: samplerOf({ kind: 'constant', value: 5 * MS }),
  apiWriteLatency: samplerOf({ kind: 'constant', value: 10 * MS }),
  podStartupLatency: samplerOf({ kind: 'constant', value: 1 * SECOND }),
};

const drain = { kind: 'node-drain' as const, start: 10 * SECOND, every: 1000 * SECOND, count: 1, taintAfter: 2 * SECOND, evictAfter: 3 * SECOND };

function setup(seed: number, extra: Partial<ControlPlaneOptions['churn'] extends readonly (infer C)[] | undefined ? C : never>) {
  const sim = new Simulator({ seed });
  const cp = new ControlPlane(sim, { ...base, churn: [{ ...drain, ...extra }] });
  const events: NodeDrainEvent[] = [];
  cp.onNodeDrain((e) => events.push(e));
  // Every pod the scheduler places after the start, with its node.
  const placed: { at: number; node: string | undefined }[] = [];
  cp.api.watch({ name: 'test/pods', kind: 'Pod', latency: ZERO_LATENCY, sendInitialEvents: false, handler: (e) => {
    const ev = e as WatchEvent<Pod>;
    if (ev.type === 'ADDED') placed.push({ at: ev.committedAt, node: ev.object.spec.nodeName });
  } });
  cp.start();
  return { sim, cp, events, placed };
}

test('node drain: cordon, autoscaler taint, graceful eviction, replacements elsewhere, Node deleted', () => {
  const { sim, cp, events, placed } = setup(1, { deleteAfter: 40 * SECOND, terminationGracePeriod: 20 * SECOND });
  sim.run(10 * SECOND + 20 * MS);
  const rec = cp.nodeDrainer.records[0]!;
  const node = rec.node;
  assert.equal(cp.api.get<Node>('Node', node)!.spec.unschedulable, true);
  const onNode = [...cp.api.list<Pod>('Pod')].filter((p) => p.spec.nodeName === node).map((p) => `default/${p.metadata.name}`);
  assert.equal(onNode.length, 2);

  sim.run(12 * SECOND + 20 * MS);
  const taint = cp.api.get<Node>('Node', node)!.spec.taints!.find((t) => t.key === 'ToBeDeletedByClusterAutoscaler')!;
  assert.equal(taint.effect, 'NoSchedule');
  assert.match(taint.value!, /^\d{10}$/); // unix seconds, as MarkToBeDeleted writes it

  sim.run(18 * SECOND);
  // Evicted at 15 s with the drain's 20 s grace: terminating, still serving.
  for (const key of onNode) {
    const p = cp.api.get<Pod>('Pod', key)!;
    assert.ok(p.metadata.deletionTimestamp !== undefined, key);
    assert.equal(p.metadata.deletionGracePeriodSeconds, 20);
  }
  const eps = [...cp.endpointSlices()].flatMap((s) => s.endpoints);
  const drained = eps.filter((e) => e.nodeName === node);
  assert.equal(drained.length, 2);
  for (const e of drained) assert.deepEqual([e.conditions?.ready, e.conditions?.serving, e.conditions?.terminating], [false, true, true]);
  const replacements = [...cp.api.list<Pod>('Pod')].filter(isActive);
  assert.equal(replacements.length, 6);
  assert.ok(replacements.every((p) => p.spec.nodeName !== node));

  sim.run(60 * SECOND);
  assert.equal(cp.api.get<Node>('Node', node), undefined, 'Node deleted');
  for (const key of onNode) assert.equal(cp.api.get<Pod>('Pod', key), undefined, `${key} gone after its grace period`);
  assert.deepEqual(events.map((e) => e.kind), ['cordoned', 'tainted', 'evicting', 'deleted']);
  assert.deepEqual(events.map((e) => e.at), [10 * SECOND + 10 * MS, 12 * SECOND + 10 * MS, 15 * SECOND, 55 * SECOND + 10 * MS]);
  assert.ok(events.every((e) => e.node === node));
  assert.ok(placed.every((p) => p.node !== node), 'nothing placed on the cordoned node');
  assert.equal(placed.length, 2);
  assert.equal(cp.stats().churn.nodeDrains, 1);
  const ready = [...cp.endpointSlices()].flatMap((s) => s.endpoints.filter((e) => e.conditions?.ready)).length;
  assert.equal(ready, 6);
});

test('pods left on a deleted node stop answering and are force-deleted by the pod GC', () => {
  const { sim, cp } = setup(2, { deleteAfter: 5 * SECOND, terminationGracePeriod: 120 * SECOND });
  sim.run(21 * SECOND);
  const rec = cp.nodeDrainer.records[0]!;
  assert.equal(rec.deletedAt, 20 * SECOND + 10 * MS);
  const left = [...cp.api.list<Pod>('Pod')].filter((p) => p.spec.nodeName === rec.node);
  assert.equal(left.length, 2, 'still within their grace period');
  for (const p of left) assert.equal(cp.podIPState(p.status!.podIP!), 'unreachable');
  sim.run(rec.deletedAt + 40 * SECOND - 1);
  assert.equal([...cp.api.list<Pod>('Pod')].filter((p) => p.spec.nodeName === rec.node).length, 2, 'not before the 40 s quarantine');
  sim.run(rec.deletedAt + 61 * SECOND);
  assert.equal([...cp.api.list<Pod>('Pod')].filter((p) => p.spec.nodeName === rec.node).length, 0);
});

test('count limits the drains, and one node always stays', () => {
  const { sim, cp } = setup(3, { every: 10 * SECOND, count: 5, fraction: 0.5 });
  sim.run(300 * SECOND);
  assert.equal(cp.nodeDrainer.records.length, 2, 'three nodes: two drained, one stays');
  const limited = setup(4, { every: 10 * SECOND, count: 1, fraction: 1 });
  limited.sim.run(300 * SECOND);
  assert.equal(limited.cp.nodeDrainer.records.length, 1);
});

test('gracefulTermination false evicts with grace 0', () => {
  const { sim, cp } = setup(5, { gracefulTermination: false });
  sim.run(15 * SECOND + 20 * MS);
  const node = cp.nodeDrainer.records[0]!.node;
  sim.run(16 * SECOND);
  assert.equal([...cp.api.list<Pod>('Pod')].filter((p) => p.spec.nodeName === node).length, 0);
});

test('same seed, same drains', () => {
  const run = (seed: number) => {
    const { sim, cp, events } = setup(seed, { every: 20 * SECOND, count: 2 });
    sim.run(200 * SECOND);
    return JSON.stringify({ events, stats: cp.stats() });
  };
  assert.equal(run(7), run(7));
});
