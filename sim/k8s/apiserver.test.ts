import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Simulator } from '../engine/simulator.ts';
import { MS } from '../engine/time.ts';
import { ApiServer, DELETE, type WatchEvent } from './apiserver.ts';
import { latency } from './latency.ts';
import type { Service } from './objects.ts';

function service(name: string, port: number): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { ports: [{ port }] } };
}

function scenario(seed: number, writes: number, watchers: number) {
  const sim = new Simulator({ seed });
  const api = new ApiServer(sim, { watchLatency: latency({ kind: 'exponential', mean: 30 * MS }), writeLatency: latency({ kind: 'uniform', min: 1 * MS, max: 10 * MS }) });
  const heard: { rv: number; at: number; committedAt: number; type: string }[][] = [];
  for (let w = 0; w < watchers; w++) {
    const got: (typeof heard)[number] = [];
    heard.push(got);
    api.watch({ name: `w${w}`, kind: 'Service', handler: (e: WatchEvent) => got.push({ rv: e.resourceVersion, at: sim.now, committedAt: e.committedAt, type: e.type }) });
  }
  const rng = sim.rng('test/writer');
  for (let i = 0; i < writes; i++) {
    const name = `s${rng.integer(0, 4)}`;
    const del = rng.bernoulli(0.2);
    sim.schedule(rng.integer(0, 200) * MS, () =>
      api.submit<Service>({ kind: 'Service', key: `default/${name}`, client: `c${i % 3}`, mutate: (cur) => (del ? (cur ? DELETE : undefined) : service(name, 80 + i)) }),
    );
  }
  sim.run();
  return { api, heard };
}

test('every watcher hears every committed change once, in resourceVersion order, never before its commit', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 5 }), (seed, writes, watchers) => {
      const { api, heard } = scenario(seed, writes, watchers);
      for (const got of heard) {
        assert.equal(got.length, api.writes);
        for (let i = 0; i < got.length; i++) {
          assert.ok(got[i]!.at >= got[i]!.committedAt);
          if (i > 0) {
            assert.ok(got[i]!.rv > got[i - 1]!.rv, 'a later event never overtakes an earlier one');
            assert.ok(got[i]!.at >= got[i - 1]!.at);
          }
        }
      }
    }),
    { numRuns: 60 },
  );
});

test('watchers differ in delay (own streams) and runs are deterministic', () => {
  const a = scenario(7, 40, 3);
  const b = scenario(7, 40, 3);
  assert.deepEqual(a.heard, b.heard);
  assert.notDeepEqual(a.heard[0]!.map((h) => h.at), a.heard[1]!.map((h) => h.at));
});

test('initial events: a late watcher first lists what exists, then follows changes', () => {
  const sim = new Simulator({ seed: 1 });
  const api = new ApiServer(sim);
  api.commit<Service>({ kind: 'Service', key: 'default/a', client: 't', mutate: () => service('a', 80) });
  api.commit<Service>({ kind: 'Service', key: 'default/b', client: 't', mutate: () => service('b', 80) });
  const seen: string[] = [];
  api.watch({ name: 'late', kind: 'Service', handler: (e) => seen.push(`${e.type} ${e.key}`) });
  api.submit<Service>({ kind: 'Service', key: 'default/a', client: 't', mutate: () => DELETE });
  sim.run();
  assert.deepEqual(seen, ['ADDED default/a', 'ADDED default/b', 'DELETED default/a']);
  assert.equal(api.get('Service', 'default/b')!.metadata.resourceVersion, '2');
  assert.ok(api.get('Service', 'default/b')!.metadata.uid);
});

test('a node-scoped pod watch sees only that node\'s pods', () => {
  const sim = new Simulator({ seed: 1 });
  const api = new ApiServer(sim);
  const seen: string[] = [];
  api.watch({ name: 'kubelet-n1', kind: 'Pod', nodeName: 'n1', handler: (e) => seen.push(e.key) });
  for (const [p, n] of [['a', 'n1'], ['b', 'n2'], ['c', 'n1']] as const) {
    api.submit({ kind: 'Pod', key: `default/${p}`, client: 't', mutate: () => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: p, namespace: 'default' }, spec: { nodeName: n, containers: [] } }) });
  }
  sim.run();
  assert.deepEqual(seen, ['default/a', 'default/c']);
});
