import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Endpoint, EndpointSlice } from './objects.ts';
import { reconcileTrafficDistributionHints, trafficDistributionHints, type TrafficDistribution } from './traffic-distribution-hints.ts';

// Facts from kubernetes/kubernetes staging/src/k8s.io/endpointslice/trafficdist/trafficdist.go and
// trafficdist_test.go, restated for this model.

const t = (zone: string, nodeName: string, ready = true) => ({ zone, nodeName, ready });

test('PreferClose and PreferSameZone: each ready endpoint hinted for its own zone, no node hints', () => {
  for (const td of ['PreferClose', 'PreferSameZone'] as const) {
    assert.deepEqual(trafficDistributionHints([t('a', 'n1'), t('b', 'n2'), t('a', 'n3', false)], td), [
      { forZones: ['a'], forNodes: [] },
      { forZones: ['b'], forNodes: [] },
      { forZones: [], forNodes: [] },
    ]);
  }
});

test('PreferSameNode: own zone and own node', () => {
  assert.deepEqual(trafficDistributionHints([t('a', 'n1'), t('', 'n2'), t('b', '')], 'PreferSameNode'), [
    { forZones: ['a'], forNodes: ['n1'] },
    { forZones: [], forNodes: ['n2'] }, // no zone: node hint only
    { forZones: ['b'], forNodes: [] }, // no nodeName: zone hint only
  ]);
});

test('no overload protection: one endpoint in three zones is still hinted', () => {
  assert.deepEqual(trafficDistributionHints([t('a', 'n1')], 'PreferClose'), [{ forZones: ['a'], forNodes: [] }]);
});

function ep(o: { zone?: string; node?: string; ready?: boolean; hints?: Endpoint['hints'] }): Endpoint {
  return { addresses: ['10.0.0.1'], conditions: { ready: o.ready ?? true }, ...(o.zone ? { zone: o.zone } : {}), ...(o.node ? { nodeName: o.node } : {}), ...(o.hints ? { hints: o.hints } : {}) };
}
const slice = (name: string, eps: Endpoint[]): EndpointSlice => ({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name }, addressType: 'IPv4', endpoints: eps });

test('ReconcileHints: unchanged slices with correct hints stay unchanged; wrong or missing ones are copied to the updates', () => {
  const good = slice('good', [ep({ zone: 'a', node: 'n1', hints: { forZones: [{ name: 'a' }] } })]);
  const stale = slice('stale', [ep({ zone: 'a', node: 'n1', hints: { forZones: [{ name: 'b' }] } })]);
  const missing = slice('missing', [ep({ zone: 'a', node: 'n1' })]);
  const notReady = slice('not-ready', [ep({ zone: 'a', ready: false })]);
  const r = reconcileTrafficDistributionHints('PreferClose', [], [], [good, stale, missing, notReady]);
  assert.deepEqual(r.unchanged.map((s) => s.metadata.name), ['good', 'not-ready']);
  assert.deepEqual(r.toUpdate.map((s) => s.metadata.name), ['stale', 'missing']);
  assert.deepEqual(r.toUpdate.map((s) => s.endpoints[0]!.hints), [{ forZones: [{ name: 'a' }] }, { forZones: [{ name: 'a' }] }]);
  assert.deepEqual(stale.endpoints[0]!.hints, { forZones: [{ name: 'b' }] }, 'the informer copy is not modified');
});

test('ReconcileHints: PreferSameNode wants node hints; PreferClose finds node hints stale', () => {
  const zoneOnly = slice('z', [ep({ zone: 'a', node: 'n1', hints: { forZones: [{ name: 'a' }] } })]);
  const r = reconcileTrafficDistributionHints('PreferSameNode', [], [], [zoneOnly]);
  assert.deepEqual(r.toUpdate[0]!.endpoints[0]!.hints, { forZones: [{ name: 'a' }], forNodes: [{ name: 'n1' }] });
  const both = r.toUpdate[0]!;
  const back = reconcileTrafficDistributionHints('PreferClose', [], [], [both]);
  assert.deepEqual(back.toUpdate[0]!.endpoints[0]!.hints, { forZones: [{ name: 'a' }] });
});

test('ReconcileHints: a ready endpoint without zone or node loses stale hints; a not-ready one keeps what it has', () => {
  const s = slice('new', [ep({ hints: { forZones: [{ name: 'a' }] } }), ep({ zone: 'b', ready: false, hints: { forZones: [{ name: 'x' }] } })]);
  reconcileTrafficDistributionHints('PreferClose', [s], [], []);
  assert.equal(s.endpoints[0]!.hints, undefined);
  assert.deepEqual(s.endpoints[1]!.hints, { forZones: [{ name: 'x' }] });
});

test('property: the static hints match what ReconcileHints writes into a slice being created', () => {
  const arb = fc.array(fc.record({ zone: fc.constantFrom('', 'a', 'b'), node: fc.constantFrom('', 'n1', 'n2'), ready: fc.boolean() }), { maxLength: 20 });
  fc.assert(
    fc.property(arb, fc.constantFrom<TrafficDistribution>('PreferClose', 'PreferSameZone', 'PreferSameNode'), (xs, td) => {
      const s = slice('s', xs.map((x) => ep({ zone: x.zone, node: x.node, ready: x.ready })));
      reconcileTrafficDistributionHints(td, [s], [], []);
      const fromSlice = s.endpoints.map((e) => ({ forZones: e.hints?.forZones?.map((z) => z.name) ?? [], forNodes: e.hints?.forNodes?.map((n) => n.name) ?? [] }));
      assert.deepEqual(trafficDistributionHints(xs.map((x) => ({ zone: x.zone, nodeName: x.node, ready: x.ready })), td), fromSlice);
    }),
  );
});
