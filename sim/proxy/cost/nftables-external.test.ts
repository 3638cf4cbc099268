/**
 * The nftables mode model on every external path (nftables-external.ts), against the nft model
 * walking the table the nftables proxier writes for a random cluster of ClusterIP, NodePort and
 * LoadBalancer Services: rules visited, set and map lookups, cost and verdict (which list,
 * masquerade, drop and why, reject) of a first packet from a pod or an external client to a
 * ClusterIP, a node port, a load-balancer IP or an external IP.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RandomStream } from '../../engine/random.ts';
import { DEFAULT_COSTS } from '../../cost/cost-model.ts';
import { formatIPv4, parseIPv4 } from '../../net/ipv4.ts';
import { makePacket } from '../../net/packet.ts';
import { walkPath } from '../../host/packet-path.ts';
import type { Disposition } from '../../netfilter/rule.ts';
import { DynamicSets } from '../../nftables/dynamic-sets.ts';
import { evaluateHook, newHookResult } from '../../nftables/evaluate.ts';
import { CT_STATE_BITS } from '../../nftables/key.ts';
import type { Ruleset } from '../../nftables/types.ts';
import { NftablesProxier } from '../nftables/proxier.ts';
import { nftablesModel } from './nftables.ts';
import { nftablesPathCost } from './nftables-external.ts';
import type { EntryPoint, FirstPacketInput, PacketSource } from './mode-model.ts';
import { buildCluster, destination, endpointLists, entries, NODE, NODE_IP, nodeCounts, serviceShape, sourceAddress, sourceRangeWalk, syncCounts, type ServiceShape } from './testing/external-cluster.ts';
import { proxyStateFromObjects } from '../from-api.ts';

const OPTIONS = { nodeName: 'test-node', nodeIP: NODE_IP, clusterCIDR: '10.0.0.0/8', serviceCIDRs: ['172.30.0.0/16'], nodePortIPs: [NODE_IP], masqueradeMark: '0x4000' };
const HOOK = { PREROUTING: 'prerouting', INPUT: 'input', FORWARD: 'forward', OUTPUT: 'output', POSTROUTING: 'postrouting' } as const;
const VERDICT = { accept: 'ACCEPT', drop: 'DROP', reject: 'REJECT' } as const;

function walk(rs: Ruleset, src: string, dst: string, dport: number, seed: number) {
  const localAddresses = new Set([parseIPv4(NODE_IP)]);
  const ctx = { nowNs: 0, ctState: CT_STATE_BITS.new, localAddresses, numgen: new RandomStream(seed, 'test/numgen'), dynamic: new DynamicSets(), costs: DEFAULT_COSTS };
  const p = makePacket({ proto: 'tcp', src: parseIPv4(src), dst: parseIPv4(dst), sport: 40000, dport });
  const out = newHookResult();
  const total = { rules: 0, lookups: 0, cost: 0, dnat: false, masquerade: false };
  const r = walkPath(
    (hook) => {
      evaluateHook(rs, HOOK[hook], p, ctx, out);
      total.rules += out.rulesVisited;
      total.lookups += out.lookups;
      total.cost += out.costNs;
      total.dnat ||= out.dnat;
      total.masquerade ||= out.masquerade;
      return VERDICT[out.verdict] as Disposition;
    },
    p,
    { localAddrs: localAddresses, firstPacket: true },
  );
  return { verdict: r.verdict, ...total, dst: formatIPv4(p.dst) };
}

const SOURCES: readonly { source: PacketSource; client: number }[] = [
  { source: 'pod', client: 0 },
  { source: 'external', client: 0 },
  { source: 'external', client: 1 },
  { source: 'external', client: 2 },
];

test('external paths: rules, lookups, cost and verdict of the nftables mode model equal a walk of the table kube-proxy writes', () => {
  const model = nftablesModel({ costs: DEFAULT_COSTS, iptablesBackend: 'nft' });
  fc.assert(
    fc.property(fc.array(serviceShape, { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 1000 }), fc.boolean(), (shapes: ServiceShape[], seed, masqueradeAll) => {
      const { state } = buildCluster(shapes);
      const rs = new NftablesProxier({ ...OPTIONS, masqueradeAll }).sync({ state, full: true }).ruleset;
      const { counts, without } = nodeCounts(state, shapes);
      shapes.forEach((s, i) => entries(s).forEach((entry) => SOURCES.forEach((source) => check(s, i, entry, source.source, source.client, seed + i))));
      function check(s: ServiceShape, i: number, entry: EntryPoint, source: PacketSource, client: number, seed: number): void {
        const src = sourceAddress(source, client);
        const { dst, dport } = destination(i, entry);
        const w = walk(rs, src, dst, dport, seed);
        const lists = endpointLists(state, i);
        const list = s.local && entry !== 'clusterIP' && source === 'external' ? lists.local : lists.cluster;
        const input: FirstPacketInput = {
          services: shapes.length,
          servicesWithoutEndpoints: without,
          position: 0,
          endpoints: lists.cluster.length,
          chosen: Math.max(0, list.findIndex((e) => e.ip === w.dst)),
          entry,
          source,
          externalTrafficPolicy: s.local ? 'Local' : 'Cluster',
          localEndpoints: lists.local.length,
          node: counts,
          masqueradeAll,
          ...(entry === 'loadBalancer' && sourceRangeWalk(s, src) ? { sourceRange: sourceRangeWalk(s, src)! } : {}),
        };
        const m = model.firstPacket(input);
        const what = `${entry} from ${source} (${src}) to ${JSON.stringify(s)}`;
        if (m.verdict.kind === 'dnat') {
          assert.equal(w.verdict, 'ACCEPT', `${what}: accepted`);
          assert.ok(w.dnat, `${what}: DNAT`);
          assert.ok(list.some((e) => e.ip === w.dst), `${what}: endpoint from the ${list === lists.local ? 'Local' : 'Cluster'} list`);
          assert.equal(w.masquerade, m.verdict.masquerade, `${what}: masquerade`);
        } else {
          assert.equal(w.verdict, m.verdict.kind === 'drop' ? 'DROP' : 'REJECT', `${what}: verdict`);
        }
        assert.equal(m.rulesVisited, w.rules, `${what}: rules visited`);
        assert.equal(m.lookups, w.lookups, `${what}: lookups`);
        assert.ok(Math.abs(m.costNs - (w.cost + DEFAULT_COSTS.conntrackInsertNs)) < 1e-6, `${what}: cost ${m.costNs} vs ${w.cost} + conntrack insert`);
      }
    }),
    { numRuns: 150 },
  );
});

test("a pod's ClusterIP packet costs the same on the general path as on today's formula", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 6 }),
      fc.nat(),
      fc.option(fc.record({ checked: fc.nat({ max: 6 }), hit: fc.boolean() }), { nil: undefined }),
      fc.boolean(),
      (endpoints, chosen, affinity, noLocal) => {
        const model = nftablesModel({ costs: DEFAULT_COSTS, iptablesBackend: 'nft', sessionAffinity: affinity !== undefined });
        const p: FirstPacketInput = {
          services: 10,
          servicesWithoutEndpoints: 2,
          position: 0,
          endpoints,
          chosen: endpoints === 0 ? 0 : chosen % endpoints,
          ...(affinity && endpoints > 0 ? { affinity: { checked: Math.min(affinity.checked, endpoints), hit: affinity.hit } } : {}),
          ...(endpoints === 0 && noLocal ? { noLocalEndpoints: true } : {}),
        };
        const today = model.firstPacket(p);
        // The model takes this packet through today's formula; the general walk must agree with it.
        const general = nftablesPathCost(DEFAULT_COSTS, p);
        assert.equal(general.rulesVisited, today.rulesVisited, JSON.stringify(p));
        assert.equal(general.lookups, today.lookups, JSON.stringify(p));
        assert.ok(Math.abs(general.costNs - today.costNs) < 1e-6, `${general.costNs} vs ${today.costNs}`);
        assert.deepEqual(general.verdict, today.verdict);
      },
    ),
    { numRuns: 200 },
  );
});

test('external Services: nft -f lines of a full sync, and the table\'s rules and elements, equal what the nftables proxier writes', () => {
  const ready = serviceShape.map((s) => ({ ...s, endpoints: s.endpoints.map((e) => ({ ...e, terminating: false })) }));
  fc.assert(
    fc.property(fc.array(ready, { minLength: 1, maxLength: 8 }), fc.boolean(), (shapes, affinity) => {
      const extra = affinity ? { sessionAffinity: 'ClientIP' as const } : {};
      const withAffinity = (c: ReturnType<typeof buildCluster>) => proxyStateFromObjects(c.services.map((s) => ({ ...s, spec: { ...s.spec, ...extra } })), c.slices, NODE);
      const cluster = buildCluster(shapes);
      const st = withAffinity(cluster);
      const e = {
        ...syncCounts(st, shapes),
        firewalledWithoutEndpoints: shapes.filter((s, i) => s.kind === 'LoadBalancer' && s.ranges > 0 && !endpointLists(st, i).any).length,
      };
      const without = shapes.filter((_, i) => !endpointLists(st, i).any).length;
      const model = nftablesModel({ costs: DEFAULT_COSTS, iptablesBackend: 'nft', sessionAffinity: affinity });
      const full = new NftablesProxier(OPTIONS).sync({ state: st, full: true });
      assert.equal(model.syncCost({ full: true, services: shapes.length, servicesWithoutEndpoints: without, endpoints: e.endpoints, changed: [], external: e }).units, full.lines, 'full sync');
      const plain = withAffinity(buildCluster(shapes.map((s) => ({ ...s, kind: 'ClusterIP' as const, externalIP: false }))));
      const contents = (state: typeof st) => {
        let rules = 0;
        let elements = 0;
        for (const t of new NftablesProxier(OPTIONS).sync({ state, full: true }).ruleset.tables.values()) {
          for (const c of t.chains.values()) rules += c.rules.length;
          for (const set of t.sets.values()) elements += set.elements.size;
        }
        return { rules, elements };
      };
      const a = contents(st);
      const b = contents(plain);
      const grown = model.kernelObjects(shapes.length, e.endpoints, without, e);
      const base = model.kernelObjects(shapes.length, e.endpoints, without);
      assert.equal(grown.rules - base.rules, a.rules - b.rules, 'rules');
      // The local- chains' numgen vmaps hold an entry per local endpoint (as the service- ones do).
      assert.equal(grown.setElements - base.setElements, a.elements - b.elements + e.localPolicyEndpoints, 'elements');
    }),
    { numRuns: 100 },
  );
});
