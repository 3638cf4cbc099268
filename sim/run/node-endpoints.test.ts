import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { makeEndpoint, compareEndpoints, type Endpoint } from '../proxy/endpoint.ts';
import { EndpointTimeline } from '../proxy/sync/endpoint-timeline.ts';
import { clusterIPPort, type ServicePort } from '../proxy/service-port.ts';
import { categorizeEndpoints } from '../proxy/topology.ts';
import { NodeEndpoints } from './node-endpoints.ts';

/**
 * NodeEndpoints against CategorizeEndpoints applied directly: for random clusters (nodes in zones),
 * Services with random policies (Local, ClientIP, zone and node hints on all, some or none of their
 * endpoints) and random changes, each node's list, its totals, the Services it has nothing for and the
 * affinity Services' endpoints equal what categorizeEndpoints gives with the endpoints marked local
 * for that node, at every version.
 */
const ZONES = ['a', 'b', 'c'];

const endpointArb = (nodes: number) =>
  fc.record({ node: fc.integer({ min: 0, max: nodes - 1 }), ready: fc.boolean(), terminating: fc.boolean(), zoneHint: fc.constantFrom<string | null>(null, 'a', 'b', 'c'), nodeHint: fc.boolean() });

const serviceArb = (nodes: number) =>
  fc.record({
    local: fc.boolean(),
    sticky: fc.boolean(),
    lists: fc.array(fc.array(endpointArb(nodes), { maxLength: 5 }), { minLength: 1, maxLength: 3 }),
  });

const clusterArb = fc.integer({ min: 1, max: 5 }).chain((nodes) => fc.record({ nodes: fc.constant(nodes), zones: fc.array(fc.constantFrom(...ZONES), { minLength: nodes, maxLength: nodes }), services: fc.array(serviceArb(nodes), { minLength: 1, maxLength: 5 }) }));

type EpSpec = { node: number; ready: boolean; terminating: boolean; zoneHint: string | null; nodeHint: boolean };

/** A list as the timeline holds it: Local Services every usable endpoint, Cluster ones CategorizeEndpoints' cluster-wide list. */
function listOf(s: number, specs: EpSpec[], zones: readonly string[], sp: ServicePort): Endpoint[] {
  const all = specs
    .map((e, k) =>
      makeEndpoint({
        ip: `10.244.${s}.${k + 2}`,
        port: 8080,
        nodeName: `node-${e.node}`,
        zone: zones[e.node]!,
        ready: e.ready && !e.terminating,
        serving: true,
        terminating: e.terminating,
        ...(e.zoneHint ? { zoneHints: [e.zoneHint] } : {}),
        ...(e.nodeHint ? { nodeHints: [`node-${e.node}`] } : {}),
      }),
    )
    .sort(compareEndpoints);
  if (sp.internalPolicyLocal) return all.filter((e) => e.ready || (e.serving && e.terminating));
  return [...categorizeEndpoints(all, sp, { nodeName: '', zone: '' }).clusterEndpoints];
}

function direct(list: readonly Endpoint[], sp: ServicePort, node: string, zone: string): readonly Endpoint[] {
  const marked = list.map((e) => ({ ...e, isLocal: e.nodeName === node }));
  const c = categorizeEndpoints(marked, sp, { nodeName: node, zone });
  return sp.internalPolicyLocal ? c.localEndpoints : c.clusterEndpoints;
}

test('each node\'s view and counts equal CategorizeEndpoints applied directly, at every version', () => {
  fc.assert(
    fc.property(clusterArb, ({ nodes, zones, services }) => {
      const t = new EndpointTimeline();
      const names = Array.from({ length: nodes }, (_, n) => `node-${n}`);
      const ports = services.map((s, i) => {
        const sp = clusterIPPort('ns', `s${i}`, 'http', `10.96.0.${i + 10}`, 80, 'TCP', s.sticky ? 60 : 0);
        return s.local ? { ...sp, internalPolicyLocal: true } : sp;
      });
      services.forEach((s, i) => t.addService(ports[i]!, listOf(i, s.lists[0]!, zones, ports[i]!)));
      const view = new NodeEndpoints(t, names, zones);
      services.forEach((s, i) => s.lists.slice(1).forEach((l) => t.apply(i, listOf(i, l, zones, ports[i]!), 0)));
      for (let v = 0; v <= t.version; v++) {
        for (let n = 0; n < nodes; n++) {
          let total = 0;
          let without = 0;
          let affinity = 0;
          for (let s = 0; s < services.length; s++) {
            const want = direct(t.endpointsAt(s, v), ports[s]!, names[n]!, zones[n]!);
            assert.deepEqual(view.at(n, s, v).map((e) => e.endpoint), want.map((e) => e.endpoint), `node ${n} service ${s} version ${v}`);
            total += want.length;
            if (want.length === 0) without++;
            if (services[s]!.sticky) affinity += want.length;
          }
          assert.equal(view.totalAt(n, v), total, `total, node ${n} version ${v}`);
          assert.equal(view.withoutAt(n, v), without, `without, node ${n} version ${v}`);
          assert.equal(view.affinityAt(n, v), affinity, `affinity endpoints, node ${n} version ${v}`);
        }
      }
    }),
    { numRuns: 150 },
  );
});
