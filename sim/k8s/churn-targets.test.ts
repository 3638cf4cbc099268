import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../engine/simulator.ts';
import { MS, SECOND } from '../engine/time.ts';
import { samplerOf } from '../engine/distribution.ts';
import { InputError } from '../io/input-error.ts';
import { ControlPlane, type ChurnSpec, type ControlPlaneOptions } from './control-plane.ts';
import type { Deployment, Pod } from './objects.ts';

const base: ControlPlaneOptions = {
  nodes: 3,
  services: 4,
  endpointsPerService: 3,
  watchLatency: samplerOf({ kind: 'constant', value: 5 * MS }),
  apiWriteLatency: samplerOf({ kind: 'constant', value: 10 * MS }),
  podStartupLatency: samplerOf({ kind: 'constant', value: 1 * SECOND }),
};

function run(churn: ChurnSpec[], until = 60 * SECOND): { cp: ControlPlane; deleted: Pod[] } {
  const sim = new Simulator({ seed: 5 });
  const cp = new ControlPlane(sim, { ...base, churn });
  const deleted: Pod[] = [];
  cp.api.watch({ name: 't', kind: 'Pod', sendInitialEvents: false, handler: (e) => {
    if (e.type !== 'DELETED' && (e.object as Pod).metadata.deletionTimestamp !== undefined && (e.previous as Pod | undefined)?.metadata.deletionTimestamp === undefined) deleted.push(e.object as Pod);
  } });
  cp.start();
  sim.run(until);
  return { cp, deleted };
}

const generation = (cp: ControlPlane, key: string) => cp.api.get<Deployment>('Deployment', key)!.metadata.generation;

test('rolling-update of named Deployments rolls those, every one at each event, and no other', () => {
  const { cp } = run([{ kind: 'rolling-update', start: 5 * SECOND, every: 20 * SECOND, deployments: ['default/svc-1', 'default/svc-3'], terminationGracePeriod: 1 * SECOND }]);
  assert.equal(cp.stats().churn.rollouts, 6, 'two Deployments at each of 3 events');
  assert.equal(generation(cp, 'default/svc-1'), 4);
  assert.equal(generation(cp, 'default/svc-3'), 4);
  assert.equal(generation(cp, 'default/svc-0'), 1);
  assert.equal(generation(cp, 'default/svc-2'), 1);
  // Without names: one Deployment per event, whichever the draw gives.
  const all = run([{ kind: 'rolling-update', start: 5 * SECOND, every: 20 * SECOND, terminationGracePeriod: 1 * SECOND }]).cp;
  assert.equal(all.stats().churn.rollouts, 3);
});

test('pod-kill with a selector kills only matching pods; with deployments only theirs', () => {
  const bySelector = run([{ kind: 'pod-kill', start: 1 * SECOND, every: 10 * SECOND, ratePerMinute: 60, selector: { app: 'svc-2' }, terminationGracePeriod: 1 * SECOND }]);
  assert.ok(bySelector.deleted.length > 20, `${bySelector.deleted.length} kills`);
  assert.ok(bySelector.deleted.every((p) => p.metadata.labels?.app === 'svc-2'));
  const byName = run([{ kind: 'pod-kill', start: 1 * SECOND, every: 10 * SECOND, ratePerMinute: 60, deployments: ['default/svc-0'], terminationGracePeriod: 1 * SECOND }]);
  assert.ok(byName.deleted.length > 20);
  assert.ok(byName.deleted.every((p) => p.metadata.labels?.app === 'svc-0'));
});

test('a Deployment that is not in the cluster, or a selector matching no pod, is refused naming the entry', () => {
  assert.throws(() => run([{ kind: 'rolling-update', every: 10 * SECOND, deployments: ['default/svc-0', 'shop/web'] }], SECOND), (e: unknown) => e instanceof InputError && e.where === 'churn[0].deployments[1]' && /default\/svc-0/.test(e.message));
  assert.throws(() => run([{ kind: 'scale', every: 10 * SECOND }, { kind: 'pod-kill', every: 10 * SECOND, ratePerMinute: 1, selector: { app: 'nope' } }], SECOND), (e: unknown) => e instanceof InputError && e.where === 'churn[1].selector');
});
