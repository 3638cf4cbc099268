import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_COSTS, type IptablesBackend } from '../../cost/cost-model.ts';
import { formatIPv4, parseIPv4 } from '../../net/ipv4.ts';
import { makeEndpoint, compareEndpoints } from '../endpoint.ts';
import { clusterIPPort } from '../service-port.ts';
import { EndpointTimeline } from '../sync/endpoint-timeline.ts';
import { modeModel } from '../cost/index.ts';
import type { FirstPacketInput } from '../cost/mode-model.ts';
import type { ProxyMode } from '../mode.ts';
import { rulesPlane } from './rules-plane.ts';
import type { FirstPacketAt } from './first-packet-plane.ts';

const NODES = ['node-0', 'node-1'];

/**
 * A timeline of `withEps` service ports with `eps` endpoints each (endpoint e of port s on node
 * `nodeOf(s, e)`), then `without` ports without endpoints; port s at 10.96.0.(10 + s).
 */
function timeline(withEps: number, without: number, eps: number, affinitySeconds = 0, nodeOf = (_s: number, e: number) => NODES[e % 2]!) {
  const t = new EndpointTimeline();
  for (let s = 0; s < withEps + without; s++) {
    const sp = clusterIPPort('default', `svc-${s}`, 'http', formatIPv4(parseIPv4('10.96.0.10') + s), 80, 'TCP', affinitySeconds);
    const list = s < withEps ? Array.from({ length: eps }, (_, e) => makeEndpoint({ ip: `10.244.${s}.${e + 2}`, port: 8080, nodeName: nodeOf(s, e) })).sort(compareEndpoints) : [];
    t.addService(sp, list);
  }
  return t;
}

/** The identity order: service port s at position s of its chain (what the formula is then given). */
const identity = (_n: number, _g: number, s: number, size: number) => s % size;

function plane(mode: ProxyMode, t: EndpointTimeline, o: { local?: boolean; affinity?: boolean; backend?: IptablesBackend } = {}) {
  const model = modeModel(mode, { costs: DEFAULT_COSTS, iptablesBackend: o.backend ?? 'nft', sessionAffinity: o.affinity ?? false });
  const p = rulesPlane(model, { timeline: t, nodeNames: NODES, costs: DEFAULT_COSTS, iptablesBackend: o.backend ?? 'nft', internalLocal: o.local ?? false, clusterCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12', order: identity });
  return { model, plane: p };
}

function at(t: EndpointTimeline, service: number, chosen: number, node = 0, list = t.endpointsAt(service, 0)): FirstPacketAt {
  return { node, service, version: 0, generation: 0, endpoint: list.length > 0 ? list[chosen]! : null };
}

for (const mode of ['iptables', 'nftables'] as const) {
  test(`${mode}: the walk sends each first packet to the chosen endpoint, at the formula's cost`, () => {
    for (const backend of ['legacy', 'nft'] as const) {
      const t = timeline(5, 2, 4);
      const { model, plane: p } = plane(mode, t, { backend });
      assert.equal(p.walked, true);
      for (let s = 0; s < 5; s++) {
        for (let chosen = 0; chosen < 4; chosen++) {
          const input: FirstPacketInput = { services: 7, servicesWithoutEndpoints: 2, position: s, endpoints: 4, chosen };
          const walked = p.firstPacket(input, at(t, s, chosen));
          const formula = model.firstPacket(input);
          assert.deepEqual(walked.verdict, { kind: 'dnat', endpoint: chosen, masquerade: false, replyLost: false });
          assert.equal(walked.rulesVisited, formula.rulesVisited, `${backend} port ${s} endpoint ${chosen}`);
          assert.equal(walked.lookups, formula.lookups);
          assert.ok(Math.abs(walked.costNs - formula.costNs) < 1e-6, `${walked.costNs} vs ${formula.costNs}`);
        }
      }
    }
  });

  test(`${mode}: a Service without endpoints is rejected by the walk, at the formula's cost`, () => {
    const t = timeline(3, 2, 2);
    const { model, plane: p } = plane(mode, t);
    for (const s of [3, 4]) {
      // The identity order puts port s at s mod 2 in filter KUBE-SERVICES, which holds the two rejects.
      const input: FirstPacketInput = { services: 5, servicesWithoutEndpoints: 2, position: s % 2, endpoints: 0, chosen: 0 };
      const walked = p.firstPacket(input, at(t, s, 0));
      assert.deepEqual(walked.verdict, { kind: 'reject' });
      const formula = model.firstPacket(input);
      assert.equal(walked.rulesVisited, formula.rulesVisited);
      assert.ok(Math.abs(walked.costNs - formula.costNs) < 1e-6, `${walked.costNs} vs ${formula.costNs}`);
    }
  });

  test(`${mode}: internalTrafficPolicy Local drops a pod's packet on a node without a local endpoint`, () => {
    // Port 0's endpoints all run on node-1; port 1 has one on each node.
    const t = timeline(2, 0, 2, 0, (s, e) => (s === 0 ? 'node-1' : NODES[e]!));
    const { model, plane: p } = plane(mode, t, { local: true });
    const input: FirstPacketInput = { services: 2, servicesWithoutEndpoints: 1, position: 0, endpoints: 0, chosen: 0, noLocalEndpoints: true };
    const walked = p.firstPacket(input, at(t, 0, 0, 0, []));
    assert.deepEqual(walked.verdict, { kind: 'drop', reason: 'no-local-endpoints' });
    const formula = model.firstPacket(input);
    assert.equal(walked.rulesVisited, formula.rulesVisited);
    assert.ok(Math.abs(walked.costNs - formula.costNs) < 1e-6, `${walked.costNs} vs ${formula.costNs}`);
    // On node-1 the same port is balanced over its two local endpoints.
    const local = t.endpointsAt(0, 0);
    const there = p.firstPacket({ services: 2, servicesWithoutEndpoints: 0, position: 0, endpoints: 2, chosen: 1 }, at(t, 0, 1, 1, local));
    assert.deepEqual(there.verdict, { kind: 'dnat', endpoint: 1, masquerade: false, replyLost: false });
  });

  test(`${mode}: an affinity hit walks the recent match to the pinned endpoint; a miss walks them all, then chooses`, () => {
    const t = timeline(3, 0, 4, 10800);
    const { model, plane: p } = plane(mode, t, { affinity: true });
    for (let pinned = 0; pinned < 4; pinned++) {
      const hit: FirstPacketInput = { services: 3, servicesWithoutEndpoints: 0, position: 1, endpoints: 4, chosen: pinned, affinity: { checked: pinned + 1, hit: true } };
      const walked = p.firstPacket(hit, at(t, 1, pinned));
      assert.deepEqual(walked.verdict, { kind: 'dnat', endpoint: pinned, masquerade: false, replyLost: false });
      const formula = model.firstPacket(hit);
      assert.equal(walked.rulesVisited, formula.rulesVisited, `hit on ${pinned}`);
      assert.equal(walked.lookups, formula.lookups);
      assert.ok(Math.abs(walked.costNs - formula.costNs) < 1e-6, `${walked.costNs} vs ${formula.costNs}`);
    }
    const miss: FirstPacketInput = { services: 3, servicesWithoutEndpoints: 0, position: 1, endpoints: 4, chosen: 2, affinity: { checked: 4, hit: false } };
    const walked = p.firstPacket(miss, at(t, 1, 2));
    assert.equal(walked.rulesVisited, model.firstPacket(miss).rulesVisited);
    assert.ok(walked.costNs > p.firstPacket({ ...miss, chosen: 0, affinity: { checked: 1, hit: true } }, at(t, 1, 0)).costNs);
  });
}

test('the walk throws when the run expects another verdict than the rules give (a tier out of step)', () => {
  const t = timeline(2, 1, 2);
  const { plane: p } = plane('iptables', t);
  // Port 2 has no endpoints in the rules; a run claiming two would be a bug.
  assert.throws(() => p.firstPacket({ services: 3, servicesWithoutEndpoints: 1, position: 0, endpoints: 2, chosen: 0 }, { ...at(t, 0, 0), service: 2 }), /ended in reject/);
});

test('ipvs, ebpf and userspace keep their formula (walked false)', () => {
  for (const mode of ['ipvs', 'ebpf', 'userspace'] as const) {
    const t = timeline(2, 0, 2);
    const { model, plane: p } = plane(mode, t);
    assert.equal(p.walked, false, mode);
    const input: FirstPacketInput = { services: 2, servicesWithoutEndpoints: 0, position: 1, endpoints: 2, chosen: 1 };
    assert.deepEqual(p.firstPacket(input, at(t, 1, 1)), model.firstPacket(input), mode);
  }
});

test('rules reached by partial syncs walk as a full sync\'s do, version after version', () => {
  for (const mode of ['iptables', 'nftables'] as const) {
    for (const local of [false, true]) {
      const t = timeline(4, 1, 3);
      const ep = (s: number, k: number, node: string) => makeEndpoint({ ip: `10.244.${s}.${100 + k}`, port: 8080, nodeName: node });
      // Endpoints replaced, added, all removed, then back: each change a version.
      t.apply(0, [ep(0, 1, 'node-0'), ep(0, 2, 'node-1')], 1);
      t.apply(1, [...t.endpointsAt(1, 1), ep(1, 3, 'node-0')].sort(compareEndpoints), 2);
      t.apply(2, [], 3);
      t.apply(4, [ep(4, 1, 'node-1')], 4);
      t.apply(2, [ep(2, 5, 'node-0')], 5);
      const stepwise = plane(mode, t, { local }).plane;
      for (let v = 0; v <= t.version; v++) {
        const fresh = plane(mode, t, { local }).plane;
        for (let s = 0; s < 5; s++) {
          for (const node of [0, 1]) {
            const all = t.endpointsAt(s, v);
            const list = local ? all.filter((e) => e.nodeName === NODES[node]) : all;
            const input: FirstPacketInput = { services: 5, servicesWithoutEndpoints: 0, position: 0, endpoints: list.length, chosen: list.length - 1, ...(local && list.length === 0 && all.length > 0 ? { noLocalEndpoints: true } : {}) };
            const where: FirstPacketAt = { node, service: s, version: v, generation: v, endpoint: list.length > 0 ? list[list.length - 1]! : null };
            assert.deepEqual(stepwise.firstPacket(input, where), fresh.firstPacket(input, where), `${mode} local ${local} version ${v} port ${s} node ${node}`);
          }
        }
      }
    }
  }
});

test('iptables: KUBE-SERVICES follows the run\'s order per node and generation, so a permutation gives the formula\'s cost exactly', () => {
  const t = timeline(5, 2, 3);
  // A permutation of each chain for every (node, generation): 5 ports with endpoints, 2 without.
  const order = (n: number, g: number, s: number, size: number) => (s * 3 + n + g) % size;
  const model = modeModel('iptables', { costs: DEFAULT_COSTS, iptablesBackend: 'nft' });
  const p = rulesPlane(model, { timeline: t, nodeNames: NODES, costs: DEFAULT_COSTS, iptablesBackend: 'nft', internalLocal: false, clusterCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12', order });
  for (const [node, generation] of [[0, 0], [1, 0], [0, 3], [1, 7]] as const) {
    for (let s = 0; s < 7; s++) {
      const hasEndpoints = s < 5;
      const input: FirstPacketInput = { services: 7, servicesWithoutEndpoints: 2, position: order(node, generation, s, hasEndpoints ? 5 : 2), endpoints: hasEndpoints ? 3 : 0, chosen: hasEndpoints ? 1 : 0 };
      const walked = p.firstPacket(input, { ...at(t, s, 1), node, generation });
      const formula = model.firstPacket(input);
      assert.equal(walked.rulesVisited, formula.rulesVisited, `node ${node} generation ${generation} port ${s}`);
      assert.ok(Math.abs(walked.costNs - formula.costNs) < 1e-6);
    }
  }
});

test('a port that has internalTrafficPolicy Local itself is walked per node, the others cluster-wide', () => {
  for (const mode of ['iptables', 'nftables'] as const) {
    const t = new EndpointTimeline();
    // Port 0 Local, port 1 Cluster; both with endpoints on node-1 only.
    for (let s = 0; s < 2; s++) {
      const sp = { ...clusterIPPort('default', `svc-${s}`, 'http', `10.96.0.${10 + s}`, 80, 'TCP'), internalPolicyLocal: s === 0 };
      t.addService(sp, [makeEndpoint({ ip: `10.244.${s}.2`, port: 8080, nodeName: 'node-1' })]);
    }
    const { plane: p } = plane(mode, t);
    const dropped = p.firstPacket({ services: 2, servicesWithoutEndpoints: 1, position: 0, endpoints: 0, chosen: 0, noLocalEndpoints: true }, at(t, 0, 0, 0, []));
    assert.deepEqual(dropped.verdict, { kind: 'drop', reason: 'no-local-endpoints' }, mode);
    const sent = p.firstPacket({ services: 2, servicesWithoutEndpoints: 1, position: 0, endpoints: 1, chosen: 0 }, at(t, 1, 0, 0));
    assert.equal(sent.verdict.kind, 'dnat', mode);
  }
});

test('property: for any cluster, order, node, generation and choice the walk costs what the formula costs at the walked position', () => {
  fc.assert(
    fc.property(
      fc.constantFrom('iptables' as const, 'nftables' as const),
      fc.constantFrom('legacy' as const, 'nft' as const),
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 1, max: 5 }),
      fc.record({ node: fc.integer({ min: 0, max: 1 }), generation: fc.nat(50), pick: fc.nat(), chosen: fc.nat(), stride: fc.constantFrom(1, 3, 5, 7) }),
      (mode, backend, withEps, without, eps, q) => {
        const t = timeline(withEps, without, eps);
        // A permutation of each chain (stride coprime with the size, or size 1) per node and generation.
        const order = (n: number, g: number, s: number, size: number) => (gcd(q.stride, size) === 1 ? s * q.stride + n + g : s) % size;
        const model = modeModel(mode, { costs: DEFAULT_COSTS, iptablesBackend: backend });
        const p = rulesPlane(model, { timeline: t, nodeNames: NODES, costs: DEFAULT_COSTS, iptablesBackend: backend, internalLocal: false, clusterCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12', order });
        const s = q.pick % (withEps + without);
        const has = s < withEps;
        const chosen = has ? q.chosen % eps : 0;
        const input: FirstPacketInput = { services: withEps + without, servicesWithoutEndpoints: without, position: order(q.node, q.generation, s, has ? withEps : Math.max(1, without)), endpoints: has ? eps : 0, chosen };
        const walked = p.firstPacket(input, { ...at(t, s, chosen), node: q.node, generation: q.generation });
        const formula = model.firstPacket(input);
        assert.deepEqual(walked.verdict, formula.verdict);
        assert.equal(walked.rulesVisited, formula.rulesVisited);
        assert.equal(walked.lookups, formula.lookups);
        assert.ok(Math.abs(walked.costNs - formula.costNs) < 1e-6, `${walked.costNs} vs ${formula.costNs}`);
      },
    ),
    { numRuns: 80 },
  );
});

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
