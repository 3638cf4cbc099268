import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_COSTS } from '../../cost/cost-model.ts';
import { makeEndpoint, compareEndpoints, type Endpoint } from '../endpoint.ts';
import { clusterIPPort, type ServicePort } from '../service-port.ts';
import { EndpointTimeline } from '../sync/endpoint-timeline.ts';
import { modeModel } from '../cost/index.ts';
import { categorizeEndpoints } from '../topology.ts';
import { NodeGroups, type WalkHints } from './node-groups.ts';
import { rulesPlane } from './rules-plane.ts';
import type { RunEndpoints } from './endpoint-list-check.ts';

const NAMES = ['node-0', 'node-1', 'node-2', 'node-3', 'node-4', 'node-5'];
const ZONES = ['a', 'a', 'b', 'b', 'c', 'c'];

test('nodes share rules without per-node policy, per zone with zone hints, per node with Local or node hints', () => {
  const groupsOf = (g: NodeGroups) => NAMES.map((_, n) => g.group(n));
  const cluster = new NodeGroups(NAMES, ZONES, 'none', false);
  assert.equal(cluster.scope, 'cluster');
  assert.deepEqual(groupsOf(cluster), [0, 0, 0, 0, 0, 0]);
  const zone = new NodeGroups(NAMES, ZONES, 'zone', false);
  assert.equal(zone.scope, 'zone');
  assert.deepEqual(groupsOf(zone), [0, 0, 1, 1, 2, 2]);
  assert.deepEqual(zone.topology(1), { nodeName: 'node-2', zone: 'b' });
  assert.equal(zone.localName(1), null, 'no Local Service: nothing marked local');
  assert.deepEqual(groupsOf(new NodeGroups(NAMES, ZONES, 'node', false)), [0, 1, 2, 3, 4, 5]);
  const local = new NodeGroups(NAMES, ZONES, 'zone', true);
  assert.deepEqual(groupsOf(local), [0, 1, 2, 3, 4, 5]);
  assert.equal(local.localName(3), 'node-3');
  assert.deepEqual(local.topology(4), { nodeName: 'node-4', zone: 'c' });
  // Zone hints without zones cannot match a node: every node alike.
  assert.equal(new NodeGroups(NAMES, null, 'zone', false).scope, 'cluster');
});

/** Endpoints with the hints `hints` allows: a zone hint for some zone, and (with node hints) a node hint. */
const endpointsArb = (hints: WalkHints) =>
  fc.array(
    fc.record({ node: fc.integer({ min: 0, max: 5 }), zoneHint: fc.constantFrom('', 'a', 'b', 'c'), nodeHint: fc.integer({ min: -1, max: 5 }), ready: fc.boolean() }),
    { minLength: 0, maxLength: 6 },
  ).map((specs) =>
    specs
      .map((x, i) =>
        makeEndpoint({
          ip: `10.244.0.${i + 2}`,
          port: 8080,
          nodeName: NAMES[x.node]!,
          zone: ZONES[x.node]!,
          ready: x.ready,
          serving: true,
          terminating: !x.ready,
          ...(hints !== 'none' && x.zoneHint ? { zoneHints: [x.zoneHint] } : {}),
          ...(hints === 'node' && x.nodeHint >= 0 ? { nodeHints: [NAMES[x.nodeHint]!] } : {}),
        }),
      )
      .sort(compareEndpoints),
  );

/** A node's internal traffic list as its proxier computes it (isLocal by its name). */
function listOn(list: readonly Endpoint[], sp: ServicePort, n: number): string[] {
  const marked = list.map((e) => ({ ...e, isLocal: e.nodeName === NAMES[n] }));
  const c = categorizeEndpoints(marked, sp, { nodeName: NAMES[n]!, zone: ZONES[n]! });
  return (sp.internalPolicyLocal ? c.localEndpoints : c.clusterEndpoints).map((e) => e.endpoint);
}

test('property: nodes of one group get the same endpoints from CategorizeEndpoints, so one rule set serves them', () => {
  fc.assert(
    fc.property(
      fc.constantFrom<WalkHints>('none', 'zone', 'node'),
      fc.boolean(),
      fc.constantFrom<WalkHints>('none', 'zone', 'node').chain((h) => fc.tuple(fc.constant(h), endpointsArb(h))),
      (hints, local, [drawn, list]) => {
        // The groups are built for hints at least as fine as those the endpoints carry.
        const order: WalkHints[] = ['none', 'zone', 'node'];
        const groups = new NodeGroups(NAMES, ZONES, order[Math.max(order.indexOf(hints), order.indexOf(drawn))]!, local);
        const sp = { ...clusterIPPort('default', 'svc', 'http', '10.96.0.10', 80, 'TCP'), internalPolicyLocal: local };
        for (let n = 0; n < NAMES.length; n++) {
          const g = groups.group(n);
          assert.deepEqual(listOn(list, sp, n), listOn(list, sp, groups.node(g)), `node ${n} in group ${g}`);
        }
      },
    ),
    { numRuns: 300 },
  );
});

/** One Service of three endpoints, one per zone, each hinted for its own zone (PreferClose). */
function hintedTimeline(): EndpointTimeline {
  const t = new EndpointTimeline();
  const list = [0, 2, 4].map((n, i) => makeEndpoint({ ip: `10.244.0.${i + 2}`, port: 8080, nodeName: NAMES[n]!, zone: ZONES[n]!, zoneHints: [ZONES[n]!] })).sort(compareEndpoints);
  t.addService(clusterIPPort('default', 'svc', 'http', '10.96.0.10', 80, 'TCP'), list);
  return t;
}

for (const mode of ['iptables', 'nftables'] as const) {
  test(`${mode}: a node's walk balances over its zone's hinted endpoints, and a wrong grouping throws`, () => {
    const t = hintedTimeline();
    const all = t.endpointsAt(0, 0);
    // The run's list: the endpoint hinted for the node's zone.
    const runEndpoints: RunEndpoints = (node) => all.filter((e) => e.zoneHints.has(ZONES[node]!));
    const model = modeModel(mode, { costs: DEFAULT_COSTS, iptablesBackend: 'nft' });
    const setup = { timeline: t, nodeNames: NAMES, costs: DEFAULT_COSTS, iptablesBackend: 'nft' as const, internalLocal: false, clusterCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12', order: () => 0, runEndpoints };
    const p = rulesPlane(model, { ...setup, nodeZones: ZONES, hints: 'zone' });
    const input = { services: 1, servicesWithoutEndpoints: 0, position: 0, endpoints: 1, chosen: 0 };
    for (let node = 0; node < NAMES.length; node++) {
      const ep = runEndpoints(node, 0, 0)[0]!;
      const walked = p.firstPacket(input, { node, service: 0, version: 0, generation: 0, endpoint: ep });
      assert.equal(walked.verdict.kind, 'dnat', `node ${node}`);
    }
    // Without the nodes' zones the rules hold every endpoint, which is not the run's list.
    const blind = rulesPlane(model, setup);
    assert.throws(() => blind.firstPacket(input, { node: 2, service: 0, version: 0, generation: 0, endpoint: runEndpoints(2, 0, 0)[0]! }), /node 2's rules for service port 0 at version 0 hold \[10\.244\.0\.2:8080 10\.244\.0\.3:8080 10\.244\.0\.4:8080\], the run's list is \[10\.244\.0\.3:8080\]/);
  });
}
