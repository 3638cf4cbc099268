/**
 * One CPU accounting for every mode: a packet's cost is the netfilter hooks left in its path, its
 * connection tracking, and what the mode adds (PacketCostParts), and the parts add up to the cost
 * the run charges. No mode's packet costs nothing, and every packet the kernel processes pays for
 * connection tracking of some kind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_COSTS, IPTABLES_BACKENDS, withCosts } from '../../cost/cost-model.ts';
import { PROXY_MODES } from '../mode.ts';
import { modeModel, partsTotalNs, type FirstPacketInput, type PacketCostParts } from './index.ts';

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
const nonNegative = (p: PacketCostParts) => p.hooksNs >= 0 && p.conntrackNs >= 0 && p.modeNs >= 0;

const firstPacketInput: fc.Arbitrary<FirstPacketInput> = fc
  .record({
    withEps: fc.integer({ min: 1, max: 3000 }),
    without: fc.integer({ min: 0, max: 50 }),
    endpoints: fc.integer({ min: 0, max: 8 }),
    position: fc.nat(),
    chosen: fc.nat(),
    affinity: fc.option(fc.record({ checked: fc.nat({ max: 8 }), hit: fc.boolean() }), { nil: undefined }),
    entry: fc.constantFrom('clusterIP' as const, 'nodePort' as const, 'loadBalancer' as const, 'externalIP' as const),
    source: fc.constantFrom('pod' as const, 'external' as const),
    local: fc.boolean(),
    localEndpoints: fc.integer({ min: 0, max: 8 }),
    masqueradeAll: fc.boolean(),
    nodePorts: fc.integer({ min: 0, max: 40 }),
    lbIPs: fc.integer({ min: 0, max: 40 }),
  })
  .map((r) => {
    const affinity = r.affinity ? { checked: Math.min(r.affinity.checked, r.endpoints), hit: r.affinity.hit && r.endpoints > 0 } : undefined;
    const chosen = r.endpoints === 0 ? 0 : r.chosen % r.endpoints;
    return {
      services: r.withEps + r.without,
      servicesWithoutEndpoints: r.without,
      position: r.position % (r.endpoints === 0 ? Math.max(1, r.without) : r.withEps),
      endpoints: r.endpoints,
      chosen,
      ...(affinity ? { affinity } : {}),
      entry: r.entry,
      source: r.source,
      externalTrafficPolicy: r.local ? 'Local' : 'Cluster',
      localEndpoints: Math.min(r.localEndpoints, r.endpoints),
      masqueradeAll: r.masqueradeAll,
      node: { nodePorts: r.nodePorts, loadBalancerIPs: r.lbIPs, externalIPs: 0, firewalledIPs: 0, refusedAddresses: 0, refusedNodePorts: 0, healthCheckNodePorts: 0 },
    } satisfies FirstPacketInput;
  });

test("every mode's first packet: hooks, conntrack and the mode's part add up to its cost", () => {
  fc.assert(
    fc.property(fc.constantFrom(...PROXY_MODES), fc.constantFrom(...IPTABLES_BACKENDS), firstPacketInput, fc.boolean(), (mode, backend, p, logWalk) => {
      // A walk that grows per rule with its length (legacy's measured one) and one that does not.
      const costs = withCosts(DEFAULT_COSTS, { perRuleLogNs: { legacy: logWalk ? 0.461 : 0, nft: logWalk ? 0.0857 : 0 } });
      const m = modeModel(mode, { costs, iptablesBackend: backend, sessionAffinity: p.affinity !== undefined });
      const c = m.firstPacket(p);
      assert.ok(nonNegative(c.parts), JSON.stringify(c.parts));
      assert.ok(close(partsTotalNs(c.parts), c.costNs), `${mode}: parts ${partsTotalNs(c.parts)} vs cost ${c.costNs}`);
      // Whatever gets a packet onto the wire pays for tracking it: kube-proxy's modes in
      // nf_conntrack, ebpf in its CT map and nf_conntrack both (only ebpf's refused connect() sends none).
      if (!(mode === 'ebpf' && p.endpoints === 0)) assert.ok(c.parts.conntrackNs > 0 && c.parts.hooksNs > 0, `${mode}: ${JSON.stringify(c.parts)}`);
      assert.ok(c.parts.modeNs > 0, `${mode}: the mode adds nothing: ${JSON.stringify(c.parts)}`);
    }),
    { numRuns: 1500 },
  );
});

test("every mode's later packet: the parts add up, and none is free", () => {
  for (const mode of PROXY_MODES) {
    for (const backend of IPTABLES_BACKENDS) {
      const m = modeModel(mode, { costs: DEFAULT_COSTS, iptablesBackend: backend });
      const parts = m.laterPacketParts();
      assert.ok(close(partsTotalNs(parts), m.laterPacketNs()), `${mode}`);
      assert.ok(m.laterPacketNs() > 0, `${mode} pays nothing for a later packet`);
      assert.ok(parts.conntrackNs > 0 && parts.hooksNs > 0, `${mode}: ${JSON.stringify(parts)}`);
    }
  }
});

test('every mode pays the same hooks and conntrack for a later packet; ebpf adds its CT program, userspace its hop', () => {
  const parts = (mode: (typeof PROXY_MODES)[number]) => modeModel(mode, { costs: DEFAULT_COSTS, iptablesBackend: 'legacy' }).laterPacketParts();
  const common = { hooksNs: 3 * DEFAULT_COSTS.hookNs, conntrackNs: DEFAULT_COSTS.conntrackLookupNs, modeNs: 0 };
  for (const mode of ['iptables', 'nftables'] as const) assert.deepEqual(parts(mode), common);
  assert.deepEqual(parts('ebpf'), { ...common, conntrackNs: DEFAULT_COSTS.conntrackLookupNs + DEFAULT_COSTS.ebpfDatapathNs });
  assert.deepEqual(parts('userspace').modeNs, DEFAULT_COSTS.userspaceHopNs);
});

test("ebpf's first packet: three connect-time lookups, the CT entry in both tables, the host's hooks; none when connect() is refused", () => {
  const c = DEFAULT_COSTS;
  const m = modeModel('ebpf', { costs: c, iptablesBackend: 'legacy' });
  const p: FirstPacketInput = { services: 100, servicesWithoutEndpoints: 0, position: 3, endpoints: 4, chosen: 1 };
  const first = m.firstPacket(p);
  assert.equal(first.lookups, 3);
  assert.deepEqual(first.parts, { hooksNs: 3 * c.hookNs, conntrackNs: c.conntrackInsertNs + c.ebpfCtCreateNs, modeNs: 3 * c.ebpfLookupNs });
  // the map sizes do not enter: a hash lookup
  assert.equal(m.firstPacket({ ...p, services: 50_000, position: 40_000 }).costNs, first.costNs);
  assert.equal(m.firstPacket({ ...p, affinity: { checked: 0, hit: false } }).lookups, 5);
  const refused = m.firstPacket({ ...p, endpoints: 0, chosen: 0 });
  assert.deepEqual(refused.parts, { hooksNs: 0, conntrackNs: 0, modeNs: c.ebpfLookupNs });
  assert.equal(refused.verdict.kind, 'reject');
});
