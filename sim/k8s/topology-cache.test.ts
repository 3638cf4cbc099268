import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Endpoint, EndpointSlice } from './objects.ts';
import { autoHints, TopologyCache, topologyNodeOf, zoneAllocations, zoneCpuRatios, type EndpointHints, type HintTarget, type TopologyNode } from './topology-cache.ts';
import { givingAndReceivingZones, hintsByZone, redistributeHints, type ZoneAllocation } from './topology-slice-hints.ts';
import { cpuMilli } from './cpu-quantity.ts';

// Facts from kubernetes/kubernetes staging/src/k8s.io/endpointslice/topologycache/topologycache_test.go
// and utils_test.go (the tables), restated for this model.

/** `ready` 'unknown': no conditions at all. */
function ep(zone: string | undefined, ready: boolean | 'unknown' = true, hint?: string): Endpoint {
  return {
    addresses: ['10.0.0.1'],
    ...(ready === 'unknown' ? {} : { conditions: { ready } }),
    ...(zone !== undefined ? { zone } : {}),
    ...(hint !== undefined ? { hints: { forZones: [{ name: hint }] } } : {}),
  };
}
function slice(name: string, eps: Endpoint[]): EndpointSlice {
  return { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name }, addressType: 'IPv4', endpoints: eps };
}
const hintsOf = (s: EndpointSlice) => s.endpoints.map((e) => e.hints?.forZones?.map((z) => z.name).join(',') ?? null);
function cacheWith(ratios: Record<string, number> | null): TopologyCache {
  const c = new TopologyCache();
  (c as unknown as { ratios: unknown }).ratios = ratios === null ? null : new Map(Object.entries(ratios).sort());
  return c;
}
const node = (zone: string, cpu: number, ready = true, controlPlane = false): TopologyNode => ({ name: `n-${zone}-${cpu}`, zone, allocatableCpuMilli: cpu, ready, ...(controlPlane ? { controlPlane } : {}) });

test('AddHints: no zone ratios removes hints with InsufficientNodeInfo', () => {
  const c = cacheWith(null);
  const s = slice('a', [ep('zone-a')]);
  const ev = c.addHints({ serviceKey: 'ns/svc', addressType: 'IPv4', toCreate: [s], toUpdate: [], unchanged: [] });
  assert.deepEqual(hintsOf(s), [null]);
  assert.equal(ev.length, 1);
  assert.equal(ev[0]!.reason, 'TopologyAwareHintsDisabled');
  assert.equal(ev[0]!.message, 'Insufficient Node information: allocatable CPU or zone not specified on one or more nodes, addressType: IPv4');
  assert.equal(c.hasPopulatedHints('ns/svc'), false);
});

test('AddHints: 2 endpoints and 3 zones: Insufficient number of endpoints', () => {
  const c = cacheWith({ 'zone-a': 0.3, 'zone-b': 0.4, 'zone-c': 0.3 });
  const s = slice('a', [ep('zone-a'), ep('zone-b')]);
  const ev = c.addHints({ serviceKey: 'ns/svc', addressType: 'IPv4', toCreate: [s], toUpdate: [], unchanged: [] });
  assert.deepEqual(hintsOf(s), [null, null]);
  assert.equal(ev[0]!.message, 'Insufficient number of endpoints (2 endpoints, 3 zones), addressType: IPv4');
});

test('AddHints: 2 endpoints and 2 zones: own-zone hints and the Enabled event, once', () => {
  const c = cacheWith({ 'zone-a': 0.45, 'zone-b': 0.55 });
  const s = slice('a', [ep('zone-a'), ep('zone-b')]);
  const si = { serviceKey: 'ns/svc', addressType: 'IPv4' as const, toCreate: [s], toUpdate: [], unchanged: [] };
  const ev = c.addHints(si);
  assert.deepEqual(hintsOf(s), ['zone-a', 'zone-b']);
  assert.deepEqual(ev.map((e) => [e.type, e.reason, e.message]), [['Normal', 'TopologyAwareHintsEnabled', 'Topology Aware Hints has been enabled, addressType: IPv4']]);
  assert.equal(c.hasPopulatedHints('ns/svc'), true);
  // A second sync keeps them and records no new event.
  const s2 = slice('a', [ep('zone-a'), ep('zone-b')]);
  assert.deepEqual(c.addHints({ ...si, toCreate: [s2] }), []);
});

test('AddHints: not-ready and unknown-readiness endpoints get no hints and do not count', () => {
  const c = cacheWith({ 'zone-a': 0.45, 'zone-b': 0.55 });
  const s = slice('a', [ep('zone-a'), ep('zone-b'), ep('zone-b', false), ep('zone-b', 'unknown')]);
  c.addHints({ serviceKey: 'ns/svc', addressType: 'IPv4', toCreate: [s], toUpdate: [], unchanged: [] });
  assert.deepEqual(hintsOf(s), ['zone-a', 'zone-b', null, null]);
});

test('AddHints: slices to create and update within a 3-zone threshold: one zone-a endpoint moves to zone-b', () => {
  const c = cacheWith({ 'zone-a': 0.35, 'zone-b': 0.35, 'zone-c': 0.3 });
  const create = [slice('c1', [ep('zone-a'), ep('zone-b')]), slice('c2', [ep('zone-c'), ep('zone-c'), ep('zone-a')])];
  const update = [slice('u1', [ep('zone-a'), ep('zone-a')]), slice('u2', [ep('zone-b'), ep('zone-c'), ep('zone-a')])];
  c.addHints({ serviceKey: 'ns/svc', addressType: 'IPv4', toCreate: create, toUpdate: update, unchanged: [] });
  assert.deepEqual(create.map(hintsOf), [['zone-b', 'zone-b'], ['zone-c', 'zone-c', 'zone-a']]);
  assert.deepEqual(update.map(hintsOf), [['zone-a', 'zone-a'], ['zone-b', 'zone-c', 'zone-a']]);
});

test('AddHints: an endpoint without a zone removes every hint (NoZoneSpecified), unchanged slices included', () => {
  const c = cacheWith({ 'zone-a': 0.5, 'zone-b': 0.5 });
  const kept = slice('old', [ep('zone-a', true, 'zone-a')]);
  const s = slice('a', [ep('zone-a'), ep(undefined), ep('zone-b')]);
  const si = { serviceKey: 'ns/svc', addressType: 'IPv4' as const, toCreate: [s], toUpdate: [] as EndpointSlice[], unchanged: [kept] };
  const ev = c.addHints(si);
  assert.equal(ev[0]!.message, 'One or more endpoints do not have a zone specified, addressType: IPv4');
  assert.deepEqual(hintsOf(s), [null, null, null]);
  assert.equal(si.unchanged.length, 0);
  assert.deepEqual(si.toUpdate.map(hintsOf), [[null]]);
  assert.deepEqual(hintsOf(kept), ['zone-a'], 'the informer copy is not modified');
});

test('AddHints: an unchanged slice with valid hints stays unchanged and counts toward its zone', () => {
  const c = cacheWith({ 'zone-a': 0.5, 'zone-b': 0.5 });
  const kept = slice('old', [ep('zone-a', true, 'zone-a'), ep('zone-b', true, 'zone-b')]);
  const s = slice('new', [ep('zone-a'), ep('zone-b')]);
  const si = { serviceKey: 'ns/svc', addressType: 'IPv4' as const, toCreate: [s], toUpdate: [] as EndpointSlice[], unchanged: [kept] };
  c.addHints(si);
  assert.deepEqual(si.unchanged, [kept]);
  assert.deepEqual(hintsOf(s), ['zone-a', 'zone-b']);
});

test('getAllocations: the minimum is ceil(desired / 1.2), the maximum takes the rest', () => {
  const r = zoneAllocations(new Map([['a', 0.5], ['b', 0.45], ['c', 0.05]]), 20);
  assert.ok('allocations' in r);
  assert.deepEqual(Object.fromEntries(r.allocations), {
    a: { minimum: 9, maximum: 11, desired: 10 },
    b: { minimum: 8, maximum: 10, desired: 9 },
    c: { minimum: 1, maximum: 3, desired: 1 },
  });
  // Two even zones, 3 endpoints: each needs ceil(1.5 / 1.2) = 2.
  const bad = zoneAllocations(new Map([['a', 0.5], ['b', 0.5]]), 3);
  assert.ok('detail' in bad);
  assert.equal(bad.detail, 'Unable to allocate minimum required endpoints to each zone without exceeding overload threshold (3 endpoints, 2 zones)');
});

test('SetNodes: ratios from the CPU of ready, non-control-plane nodes (topologycache_test.go TestSetNodes)', () => {
  assert.equal(zoneCpuRatios([]), null, 'empty');
  assert.equal(zoneCpuRatios([node('zone-a', 1000)]), null, 'single node');
  assert.equal(zoneCpuRatios([node('zone-a', 1000), node('zone-a', 1000)]), null, 'single zone');
  assert.deepEqual(zoneCpuRatios([node('zone-a', 1000), node('zone-b', 1000)]), new Map([['zone-a', 0.5], ['zone-b', 0.5]]));
  assert.equal(zoneCpuRatios([node('zone-a', 1000, false), node('zone-b', 1000)]), null, 'unready node in 1, ready node in 1');
  assert.equal(zoneCpuRatios([node('zone-a', 1000), node('zone-b', 1000, true, true)]), null, 'control plane node in 1');
  assert.deepEqual(zoneCpuRatios([node('zone-a', 1000), node('zone-b', 1000), node('zone-b', 1000, false)]), new Map([['zone-a', 0.5], ['zone-b', 0.5]]));
  assert.deepEqual(zoneCpuRatios([node('zone-a', 1000), node('zone-b', 1000), node('zone-b', 1000, true, true)]), new Map([['zone-a', 0.5], ['zone-b', 0.5]]));
  const three = [1000, 1000, 1000, 2000].map((c) => node('zone-a', c)).concat([node('zone-b', 3000), node('zone-b', 1500), node('zone-c', 500)]);
  assert.deepEqual(zoneCpuRatios(three), new Map([['zone-a', 0.5], ['zone-b', 0.45], ['zone-c', 0.05]]));
  assert.equal(zoneCpuRatios([node('zone-a', 1000), node('', 1000), node('zone-b', 1000)]), null, 'a ready node without zone');
  assert.equal(zoneCpuRatios([node('zone-a', 1000), node('zone-c', 0), node('zone-b', 1000)]), null, 'a ready node without CPU');
  assert.notEqual(zoneCpuRatios([node('zone-a', 1000), node('', 0, false), node('zone-b', 1000)]), null, 'an unready node without zone is skipped');
});

test('topologyNodeOf reads the zone label, allocatable CPU, Ready and the control-plane role', () => {
  const n = topologyNodeOf({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'n1', labels: { 'topology.kubernetes.io/zone': 'z1', 'node-role.kubernetes.io/control-plane': '' } },
    spec: {},
    status: { allocatable: { cpu: '3500m' }, conditions: [{ type: 'Ready', status: 'True' }] },
  });
  assert.deepEqual(n, { name: 'n1', zone: 'z1', allocatableCpuMilli: 3500, ready: true, controlPlane: true });
  assert.deepEqual(topologyNodeOf({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n2' }, spec: {} }), { name: 'n2', zone: '', allocatableCpuMilli: 0, ready: false });
});

test('cpuMilli: quantity.go forms, MilliValue rounds up', () => {
  assert.equal(cpuMilli('4'), 4000);
  assert.equal(cpuMilli('3500m'), 3500);
  assert.equal(cpuMilli('0.1'), 100);
  assert.equal(cpuMilli('1.0005'), 1001);
  assert.equal(cpuMilli('2k'), 2_000_000);
  assert.equal(cpuMilli('1Ki'), 1_024_000);
  assert.equal(cpuMilli('5e-1'), 500);
  assert.equal(cpuMilli(2), 2000);
  assert.equal(cpuMilli('abc'), undefined);
  assert.equal(cpuMilli('-1'), undefined);
  assert.equal(cpuMilli(''), undefined);
});

const alloc = (desired: number, maximum = 0): ZoneAllocation => ({ minimum: 0, maximum, desired });

test('getGivingAndReceivingZones (utils_test.go table)', () => {
  const run = (a: Record<string, number>, have: Record<string, number>) => {
    const r = givingAndReceivingZones(new Map(Object.entries(a).map(([k, v]) => [k, alloc(v)])), new Map(Object.entries(have)));
    return [Object.fromEntries(r.giving), Object.fromEntries(r.receiving)];
  };
  assert.deepEqual(run({}, {}), [{}, {}]);
  assert.deepEqual(run({ a: 1.2, b: 1.1, c: 1.0 }, { a: 1, b: 1, c: 1 }), [{}, {}]);
  assert.deepEqual(run({ a: 5.1, b: 5.1, c: 5.8 }, { a: 16 }), [{ a: 10 }, { b: 5, c: 5 }]);
  assert.deepEqual(run({ a: 5.0, b: 5.6, c: 5.4 }, { a: 16 }), [{ a: 11 }, { b: 6, c: 5 }]);
  assert.deepEqual(run({ a: 5.0, b: 5.6, c: 5.4 }, { b: 8, c: 8 }), [{ b: 2, c: 3 }, { a: 5 }]);
  assert.deepEqual(run({ a: 5, b: 5, c: 5 }, { a: 6, b: 6, c: 6 }), [{}, {}]);
  assert.deepEqual(run({ a: -5, b: -5, c: -5 }, { a: 6, b: 6, c: 6 }), [{}, {}]);
  assert.deepEqual(run({ a: 5, b: 5, c: 5 }, { a: -4, b: -3, c: -2 }), [{}, {}]);
  assert.deepEqual(run({ a: 5, b: 5, c: 5 }, { a: -40, b: 20, c: 20 }), [{ b: 15, c: 15 }, { a: 30 }]);
});

test('redistributeHints (utils_test.go table)', () => {
  assert.deepEqual(redistributeHints([], new Map(), new Map()), new Map());
  const one = [slice('s', [ep('zone-a', true, 'zone-a')])];
  assert.deepEqual(Object.fromEntries(redistributeHints(one, new Map([['zone-a', 1]]), new Map([['zone-b', 1]]))), { 'zone-b': 1, 'zone-a': -1 });
  assert.deepEqual(hintsOf(one[0]!), ['zone-b']);
  const three = [slice('s', [ep('zone-a', true, 'zone-a'), ep('zone-a', true, 'zone-a'), ep('zone-a', true, 'zone-a')])];
  const moved = redistributeHints(three, new Map([['zone-a', 2]]), new Map([['zone-b', 1], ['zone-c', 1]]));
  assert.deepEqual(Object.fromEntries(moved), { 'zone-b': 1, 'zone-a': -2, 'zone-c': 1 });
  assert.deepEqual(hintsOf(three[0]!), ['zone-b', 'zone-c', 'zone-a']);
});

test('getHintsByZone (utils_test.go table)', () => {
  const A = (m: Record<string, number>) => new Map(Object.entries(m).map(([k, v]) => [k, alloc(0, v)]));
  const m = (o: Record<string, number>) => new Map(Object.entries(o));
  assert.deepEqual(hintsByZone(slice('s', []), m({}), A({})), new Map());
  assert.deepEqual(hintsByZone(slice('s', [ep('zone-a', true, 'zone-a')]), m({ 'zone-a': 1 }), A({ 'zone-a': 3 })), m({ 'zone-a': 1 }));
  assert.deepEqual(hintsByZone(slice('s', [ep('zone-a', true, 'zone-a'), ep('zone-a', false, 'zone-a'), ep('zone-a', 'unknown', 'zone-a')]), m({ 'zone-a': 1 }), A({ 'zone-a': 3 })), m({ 'zone-a': 1 }));
  assert.deepEqual(
    hintsByZone(slice('s', [ep('zone-a', true, 'zone-a'), ep('zone-a', true, 'zone-b'), ep('zone-b', true, 'zone-b')]), m({ 'zone-a': 1, 'zone-b': 1, 'zone-c': 1 }), A({ 'zone-a': 3, 'zone-b': 3, 'zone-c': 3 })),
    m({ 'zone-a': 1, 'zone-b': 2 }),
  );
  assert.equal(hintsByZone(slice('s', [ep('zone-a', true, 'zone-non-existent')]), m({}), A({ 'zone-a': 3 })), null, 'zone without allocation');
  assert.equal(hintsByZone(slice('s', [ep('zone-a', true)]), m({}), A({ 'zone-a': 3 })), null, 'nil hints');
  assert.equal(hintsByZone(slice('s', [{ ...ep('zone-a'), hints: { forZones: [] } }]), m({}), A({ 'zone-a': 3 })), null, 'empty hints');
  assert.equal(hintsByZone(slice('s', [ep('zone-a', true, 'zone-a'), ep('zone-a', true, 'zone-a')]), m({ 'zone-a': 1 }), A({ 'zone-a': 2 })), null, 'past the maximum');
});

test('GetOverloadedServices: a node change that leaves a zone short resyncs the Service', () => {
  const c = new TopologyCache();
  c.setNodes([node('a', 1000), node('b', 1000)]);
  const s = slice('s', [ep('a'), ep('a'), ep('b'), ep('b')]);
  c.addHints({ serviceKey: 'ns/svc', addressType: 'IPv4', toCreate: [s], toUpdate: [], unchanged: [] });
  assert.deepEqual(c.overloadedServices(), []);
  // A third zone appears: the Service has no endpoint hinted for it.
  c.setNodes([node('a', 1000), node('b', 1000), node('c', 1000)]);
  assert.deepEqual(c.overloadedServices(), ['ns/svc']);
  // Node info becomes insufficient: every Service with hints is overloaded.
  c.setNodes([node('a', 1000)]);
  assert.deepEqual(c.overloadedServices(), ['ns/svc']);
});

// ---- autoHints (the static form)

const t = (zone: string, nodeName = `node-${zone}`, ready = true): HintTarget => ({ nodeName, zone, ready });
const zones3 = [node('a', 4000), node('b', 4000), node('c', 4000)];

test('autoHints: even zones and endpoints: each endpoint hinted for its own zone', () => {
  const r = autoHints([t('a'), t('b'), t('c'), t('a'), t('b'), t('c')], zones3);
  assert.equal(r.reason, null);
  assert.deepEqual(r.hints!.map((h) => h.forZones), [['a'], ['b'], ['c'], ['a'], ['b'], ['c']]);
  assert.ok(r.hints!.every((h) => h.forNodes.length === 0));
});

test('autoHints: skewed endpoints are redistributed to the short zone', () => {
  // 6 endpoints, 4 in a: a gives 2 (desired 2 each).
  const r = autoHints([t('a', 'n1'), t('a', 'n2'), t('a', 'n3'), t('a', 'n4'), t('b'), t('c')], zones3);
  const counts = new Map<string, number>();
  for (const h of r.hints!) counts.set(h.forZones[0]!, (counts.get(h.forZones[0]!) ?? 0) + 1);
  assert.deepEqual(Object.fromEntries(counts), { a: 2, b: 2, c: 2 });
  // The first a endpoints in (zone, node) order go: n1 to b, n2 to c.
  assert.deepEqual(r.hints!.slice(0, 4).map((h) => h.forZones[0]), ['b', 'c', 'a', 'a']);
});

test('autoHints: fewer ready endpoints than zones, missing zones, insufficient nodes: no hints and the reason', () => {
  assert.equal(autoHints([t('a'), t('b'), t('c', 'x', false)], zones3).reason, 'Insufficient number of endpoints (2 endpoints, 3 zones)');
  assert.equal(autoHints([t('a'), t(''), t('c')], zones3).reason, 'One or more endpoints do not have a zone specified');
  assert.equal(autoHints([t('a'), t('b'), t('c')], [node('a', 4000), node('', 4000)]).reason, 'Insufficient Node information: allocatable CPU or zone not specified on one or more nodes');
  const r = autoHints([t('a'), t('b')], [node('a', 4000), node('b', 4000)]);
  assert.equal(r.reason, null);
  assert.equal(r.event, null);
});

test('autoHints: one zone with most CPU needs more endpoints than the threshold allows', () => {
  // a has 90% of CPU: 3 endpoints, minimum ceil(2.7/1.2)=3 for a plus 1 for b > 3.
  const r = autoHints([t('a'), t('b'), t('b')], [node('a', 9000), node('b', 1000)]);
  assert.equal(r.hints, null);
  assert.equal(r.reason, 'Unable to allocate minimum required endpoints to each zone without exceeding overload threshold (3 endpoints, 2 zones)');
  assert.equal(r.event?.reason, 'TopologyAwareHintsDisabled');
});

test('float64 rounding: CPU 2:4:4 and 6 endpoints fall back, as upstream computes it', () => {
  // Zone a: desired 0.2 x 6 = 1.2000000000000002, times 1 / 1.2 = 1.0000000000000002, so its minimum
  // is 2, not 1; b and c get 3 each: 8 > 6. Go's float64 arithmetic gives the same.
  const r = autoHints([t('a'), t('a'), t('b'), t('b'), t('c'), t('c')], [node('a', 2000), node('b', 4000), node('c', 4000)]);
  assert.equal(r.reason, 'Unable to allocate minimum required endpoints to each zone without exceeding overload threshold (6 endpoints, 3 zones)');
});

// ---- properties

const zoneNames = ['a', 'b', 'c', 'd'];
const arbNodes = fc.array(fc.record({ zone: fc.constantFrom(...zoneNames), cpu: fc.integer({ min: 1, max: 16 }).map((c) => c * 500) }), { minLength: 1, maxLength: 8 }).map((ns) => ns.map((n, i) => ({ name: `n${i}`, zone: n.zone, allocatableCpuMilli: n.cpu, ready: true })));
const arbTargets = (nodes: TopologyNode[]) => fc.array(fc.record({ node: fc.integer({ min: 0, max: nodes.length - 1 }), ready: fc.boolean() }), { maxLength: 40 }).map((ts) => ts.map((x) => ({ nodeName: nodes[x.node]!.name, zone: nodes[x.node]!.zone, ready: x.ready })));
const arbCase = arbNodes.chain((nodes) => arbTargets(nodes).map((targets) => ({ nodes, targets })));

test('property: with Auto every ready endpoint gets exactly one zone hint, or none gets any; not-ready ones get none', () => {
  fc.assert(
    fc.property(arbCase, ({ nodes, targets }) => {
      const r = autoHints(targets, nodes);
      if (r.hints === null) return r.reason !== null;
      return targets.every((tg, i) => (tg.ready ? r.hints![i]!.forZones.length === 1 : r.hints![i]!.forZones.length === 0) && r.hints![i]!.forNodes.length === 0);
    }),
  );
});

test('property: with hints, endpoints move only from zones over their share to zones under it, and the spread shrinks', () => {
  fc.assert(
    fc.property(arbCase, ({ nodes, targets }) => {
      const r = autoHints(targets, nodes);
      if (r.hints === null) return true;
      const ready = targets.filter((x) => x.ready).length;
      const alloc = zoneAllocations(zoneCpuRatios(nodes), ready);
      assert.ok('allocations' in alloc);
      const own = new Map<string, number>();
      const got = new Map<string, number>();
      targets.forEach((tg, i) => {
        if (!tg.ready) return;
        own.set(tg.zone, (own.get(tg.zone) ?? 0) + 1);
        const to = r.hints![i]!.forZones[0]!;
        got.set(to, (got.get(to) ?? 0) + 1);
        if (to !== tg.zone) {
          assert.ok(alloc.allocations.has(to), `hint for ${to}, a zone without CPU`);
          assert.ok(alloc.allocations.has(tg.zone), 'a moved endpoint comes from a zone with CPU');
        }
      });
      let before = 0;
      let after = 0;
      for (const [zone, a] of alloc.allocations) {
        const o = own.get(zone) ?? 0;
        const n = got.get(zone) ?? 0;
        if (n < o) assert.ok(n >= a.desired - 0.5 - 1e-9 && o > a.desired, `zone ${zone} gave ${o - n} with ${o} for a share of ${a.desired}`);
        if (n > o) assert.ok(n <= a.desired + 0.5 + 1e-9 && o < a.desired, `zone ${zone} received ${n - o} with ${o} for a share of ${a.desired}`);
        before += Math.abs(o - a.desired);
        after += Math.abs(n - a.desired);
      }
      assert.ok(after <= before + 1e-9);
      return true;
    }),
    { numRuns: Number(process.env.FC_RUNS ?? 100) },
  );
});

test('a zone with nodes can end with no endpoint hinted for it', () => {
  // Found by fast-check: zone a has 76% of the CPU and 5 of 6 endpoints, c 19% and none, d 5% and one.
  // a's surplus is 5 - 4.57 = 0.43, under half an endpoint, so nothing moves: c gets no hint and its
  // kube-proxies fall back to every endpoint (no endpoint is hinted for their zone).
  const nodes = [
    { name: 'n0', zone: 'd', allocatableCpuMilli: 500, ready: true },
    { name: 'n1', zone: 'c', allocatableCpuMilli: 2000, ready: true },
    { name: 'n2', zone: 'a', allocatableCpuMilli: 8000, ready: true },
  ];
  const r = autoHints([t('a', 'n2'), t('a', 'n2'), t('d', 'n0'), t('a', 'n2'), t('a', 'n2'), t('a', 'n2')], nodes);
  assert.equal(r.reason, null);
  assert.deepEqual(r.hints!.map((h) => h.forZones[0]), ['a', 'a', 'd', 'a', 'a', 'a']);
});

test('the overload bound gates the allocation only: redistribution can leave a zone below its minimum', () => {
  // Found by the property above in an earlier form: zone d has 58.5% of the CPU and all 6 endpoints.
  // Zone c's minimum is ceil(6 x 0.4146 / 1.2) = 3 (desired 3), d's surplus is 6 - 3.51 = 2.49; after
  // two moves d has 0.49 left to give, under half an endpoint, and upstream's loop stops
  // (getGivingAndReceivingZones): c keeps 2 endpoints for 41% of the traffic, 24% over an even share.
  const nodes = [
    { name: 'n0', zone: 'd', allocatableCpuMilli: 6500, ready: true },
    { name: 'n1', zone: 'd', allocatableCpuMilli: 5500, ready: true },
    { name: 'n2', zone: 'c', allocatableCpuMilli: 7000, ready: true },
    { name: 'n3', zone: 'c', allocatableCpuMilli: 1500, ready: true },
  ];
  const r = autoHints(Array.from({ length: 6 }, () => t('d', 'n0')), nodes);
  assert.deepEqual(r.hints!.map((h) => h.forZones[0]).sort(), ['c', 'c', 'd', 'd', 'd', 'd']);
  const alloc = zoneAllocations(zoneCpuRatios(nodes), 6);
  assert.ok('allocations' in alloc);
  assert.equal(alloc.allocations.get('c')!.minimum, 3);
  // GetOverloadedServices agrees that the Service is overloaded, so a node change resyncs it (to the same hints).
  const c = new TopologyCache();
  c.setNodes(nodes);
  c.addHints({ serviceKey: 'ns/s', addressType: 'IPv4', toCreate: [slice('s', Array.from({ length: 6 }, () => ep('d')))], toUpdate: [], unchanged: [] });
  assert.deepEqual(c.overloadedServices(), ['ns/s']);
});

test('property: autoHints is deterministic and does not depend on the order of the endpoints', () => {
  fc.assert(
    fc.property(arbCase, fc.integer(), ({ nodes, targets }, seed) => {
      const a = autoHints(targets, nodes);
      const shuffled = targets.map((x, i) => ({ x, i, k: Math.imul(i + 1, seed | 1) ^ (seed >>> 3) })).sort((p, q) => p.k - q.k || p.i - q.i);
      const b = autoHints(shuffled.map((s) => s.x), [...nodes].reverse());
      assert.deepEqual(autoHints(targets, nodes), a);
      assert.equal(a.reason, b.reason);
      if (a.hints === null) return b.hints === null;
      const bag = (hs: readonly EndpointHints[] | null, ts: readonly HintTarget[]) => hs!.map((h, i) => `${ts[i]!.nodeName}|${ts[i]!.ready}|${h.forZones.join(',')}`).sort();
      assert.deepEqual(bag(b.hints, shuffled.map((s) => s.x)), bag(a.hints, targets));
      return true;
    }),
  );
});
