import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { reconcileEndpointSlices } from './endpointslice-reconciler.ts';
import type { EndpointSlice, Pod, Service } from './objects.ts';

function svc(over: Partial<Service['spec']> = {}): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default', uid: 'svc-uid' },
    spec: { clusterIP: '10.96.0.10', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' }], ...over },
  };
}

function pod(i: number, o: { ready?: boolean; deleting?: boolean; portName?: string } = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `web-${i}`, namespace: 'default', uid: `pod-${i}`, labels: { app: 'web' }, ...(o.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
    spec: { nodeName: `node-${i % 7}`, containers: [{ name: 'c', ports: [{ name: o.portName ?? 'http', containerPort: 8080, protocol: 'TCP' }] }] },
    status: {
      phase: 'Running',
      podIP: `10.244.${i >> 8}.${i & 255}`,
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
    },
  };
}

let counter = 0;
const gen = (p: string) => `${p}${(counter++).toString(36).padStart(5, '0')}`;

/** Applies a reconcile's changes to the slice set, as the API server would. */
function apply(existing: EndpointSlice[], service: Service, pods: Pod[], max = 100): { slices: EndpointSlice[]; writes: number } {
  const ch = reconcileEndpointSlices({ service, pods, existing, maxEndpointsPerSlice: max, generateName: gen });
  const gone = new Set([...ch.update, ...ch.delete].map((s) => s.metadata.name));
  return { slices: [...existing.filter((s) => !gone.has(s.metadata.name)), ...ch.update, ...ch.create], writes: ch.create.length + ch.update.length + ch.delete.length };
}

// kubernetes/kubernetes staging/src/k8s.io/endpointslice/reconciler_test.go TestReconcileManyPods: 250
// pods, every third not ready (a not-ready pod is still an endpoint, ready=false), and no existing
// slice give exactly 3 creates, filling two slices completely.
test('TestReconcileManyPods: 250 pods, every third not ready, give 3 creates of 100, 100 and 50 endpoints', () => {
  const pods = Array.from({ length: 250 }, (_, i) => pod(i, { ready: i % 3 !== 0 }));
  const ch = reconcileEndpointSlices({ service: svc(), pods, existing: [], generateName: gen });
  assert.deepEqual([ch.create.length, ch.update.length, ch.delete.length], [3, 0, 0]);
  assert.deepEqual(ch.create.map((s) => s.endpoints.length).sort((a, b) => b - a), [100, 100, 50]);
  const eps = ch.create.flatMap((s) => s.endpoints);
  assert.equal(eps.filter((e) => e.conditions?.ready === false).length, 84);
  assert.equal(new Set(eps.map((e) => e.addresses[0])).size, 250);
});

test('250 ready pods give 3 slices of at most 100 endpoints', () => {
  const pods = Array.from({ length: 250 }, (_, i) => pod(i));
  const { slices } = apply([], svc(), pods);
  assert.equal(slices.length, 3);
  assert.deepEqual(slices.map((s) => s.endpoints.length).sort((a, b) => b - a), [100, 100, 50]);
  for (const s of slices) {
    assert.equal(s.metadata.labels!['kubernetes.io/service-name'], 'web');
    assert.equal(s.metadata.labels!['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
    assert.deepEqual(s.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
  }
});

test('a terminating pod stays with ready=false serving=true while it passes readiness, then leaves', () => {
  const pods = [pod(1), pod(2)];
  let { slices } = apply([], svc(), pods);
  ({ slices } = apply(slices, svc(), [pod(1), pod(2, { deleting: true })]));
  const ep = slices[0]!.endpoints.find((e) => e.targetRef?.name === 'web-2')!;
  assert.deepEqual(ep.conditions, { ready: false, serving: true, terminating: true });
  ({ slices } = apply(slices, svc(), [pod(1), pod(2, { deleting: true, ready: false })]));
  assert.deepEqual(slices[0]!.endpoints.find((e) => e.targetRef?.name === 'web-2')!.conditions, { ready: false, serving: false, terminating: true });
  ({ slices } = apply(slices, svc(), [pod(1)]));
  assert.deepEqual(slices.flatMap((s) => s.endpoints.map((e) => e.targetRef?.name)), ['web-1']);
});

test('publishNotReadyAddresses publishes not-ready and terminating pods as ready', () => {
  const { slices } = apply([], svc({ publishNotReadyAddresses: true }), [pod(1, { ready: false }), pod(2, { deleting: true })]);
  assert.deepEqual(slices[0]!.endpoints.map((e) => e.conditions!.ready), [true, true]);
});

test('no matching pods leaves one placeholder slice with no ports and no endpoints, and keeps it', () => {
  let { slices } = apply([], svc(), []);
  assert.equal(slices.length, 1);
  assert.deepEqual(slices[0]!.endpoints, []);
  assert.deepEqual(slices[0]!.ports, []);
  const again = apply(slices, svc(), []);
  assert.equal(again.writes, 0, 'the placeholder is not deleted and re-created');
  ({ slices } = apply(slices, svc(), [pod(1)]));
  assert.equal(slices.length, 1, 'the placeholder is reused (turned into an update) when endpoints appear');
});

test('pods whose named targetPort resolves differently go to separate slices', () => {
  const { slices } = apply([], svc(), [pod(1), pod(2, { portName: 'web' })]);
  assert.equal(slices.length, 2);
  const noPort = slices.find((s) => (s.ports ?? []).length === 0)!;
  assert.deepEqual(noPort.endpoints.map((e) => e.targetRef?.name), ['web-2']);
});

test('one pod change rewrites one slice and shares unchanged endpoint objects', () => {
  const pods = Array.from({ length: 250 }, (_, i) => pod(i));
  const first = apply([], svc(), pods);
  pods[17] = pod(17, { ready: false });
  const ch = reconcileEndpointSlices({ service: svc(), pods, existing: first.slices, generateName: gen });
  assert.equal(ch.create.length + ch.delete.length, 0);
  assert.equal(ch.update.length, 1);
  const before = first.slices.find((s) => s.metadata.name === ch.update[0]!.metadata.name)!;
  const shared = ch.update[0]!.endpoints.filter((e) => before.endpoints.includes(e)).length;
  assert.equal(shared, before.endpoints.length - 1);
});

test('property: after any sequence of pod sets, slices hold exactly the desired endpoints, none over max, no duplicates', () => {
  fc.assert(
    fc.property(fc.array(fc.uniqueArray(fc.integer({ min: 0, max: 60 }), { maxLength: 60 }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 20 }), (steps, max) => {
      let slices: EndpointSlice[] = [];
      for (const ids of steps) {
        ({ slices } = apply(slices, svc(), ids.map((i) => pod(i)), max));
        const names = slices.flatMap((s) => s.endpoints.map((e) => e.targetRef!.name!));
        assert.deepEqual([...names].sort(), ids.map((i) => `web-${i}`).sort());
        for (const s of slices) assert.ok(s.endpoints.length <= max);
        if (ids.length === 0) assert.equal(slices.length, 1);
        else assert.ok(slices.length >= Math.ceil(ids.length / max));
      }
    }),
    { numRuns: 150 },
  );
});
