/**
 * The iptables mode model on every external path (iptables-external.ts), against the netfilter
 * model walking the rules the iptables proxier writes for a random cluster of ClusterIP, NodePort and
 * LoadBalancer Services: rules visited, cost and verdict (which list, masquerade, drop and why,
 * reject) of a first packet from a pod or an external client to a ClusterIP, a node port, a
 * load-balancer IP or an external IP.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RandomStream } from '../../engine/random.ts';
import { DEFAULT_COSTS, withCosts, type CostModel, type IptablesBackend } from '../../cost/cost-model.ts';
import { formatIPv4, parseIPv4 } from '../../net/ipv4.ts';
import { makePacket } from '../../net/packet.ts';
import { compileRuleset } from '../../netfilter/compile.ts';
import { newHookResult, type EvalContext } from '../../netfilter/context.ts';
import { evaluateHook } from '../../netfilter/evaluate.ts';
import { RecentTables } from '../../netfilter/recent.ts';
import { renderRuleSpec } from '../../netfilter/rule-render.ts';
import { walkPath } from '../../host/packet-path.ts';
import { FAKE_PROXIER_OPTIONS } from '../testing/golden-fixtures.ts';
import { nodeRuleset } from '../iptables/node-ruleset.ts';
import type { Ruleset } from '../../netfilter/ruleset.ts';
import { iptablesModel } from './iptables.ts';
import { NO_EXTERNAL_RULES } from './iptables-external.ts';
import type { EntryPoint, FirstPacketInput, PacketSource } from './mode-model.ts';
import {
  buildCluster,
  destination,
  endpointLists,
  entries,
  NODE_IP,
  nodeCounts,
  serviceShape,
  sourceAddress,
  sourceRangeWalk,
  syncCounts,
  NODE,
  type ServiceShape,
} from './testing/external-cluster.ts';
import { proxyStateFromObjects } from '../from-api.ts';
import { IptablesProxier } from '../iptables/proxier.ts';

function chainRules(rs: Ruleset, table: 'nat' | 'filter', chain: string): string[] {
  return (rs.tables.get(table)?.chains.get(chain)?.rules ?? []).map((r) => renderRuleSpec(r));
}

/** Where the packet's own rules stand in the shared chains, as the run would draw them. */
function positions(rs: Ruleset, dst: string, dport: number, entry: string) {
  const services = chainRules(rs, 'nat', 'KUBE-SERVICES');
  const nodePorts = chainRules(rs, 'nat', 'KUBE-NODEPORTS').filter((r) => !r.includes('127.0.0.0/8'));
  const rejects = chainRules(rs, 'filter', 'KUBE-SERVICES');
  const at = (rules: string[], needle: string) => rules.findIndex((r) => r.includes(needle));
  let position = entry === 'nodePort' ? at(nodePorts, `--dport ${dport} `) : at(services, `-d ${dst}/32`);
  // A ClusterIP without a nat rule is refused in filter KUBE-SERVICES: its position there.
  if (position < 0 && entry === 'clusterIP') position = at(rejects, `-d ${dst}/32`);
  const firewall = chainRules(rs, 'filter', 'KUBE-PROXY-FIREWALL').findIndex((r) => r.includes(`-d ${dst}/32`));
  const ext = chainRules(rs, 'filter', 'KUBE-EXTERNAL-SERVICES');
  const own = ext.findIndex((r) => (entry === 'nodePort' ? r.includes(`--dport ${dport} `) : r.includes(`-d ${dst}/32`)));
  const before = own < 0 ? [] : ext.slice(0, own);
  return {
    position: Math.max(0, position),
    filterBefore: {
      firewall: Math.max(0, firewall),
      addresses: before.filter((r) => /(^| )-d /.test(r)).length,
      nodePorts: before.filter((r) => r.includes('addrtype')).length,
    },
  };
}

function walk(rs: ReturnType<typeof compileRuleset>, src: string, dst: string, dport: number, seed: number, backend: IptablesBackend, costs: CostModel) {
  const ctx: EvalContext = {
    backend,
    costs,
    firstPacket: true,
    ctState: 2,
    random: new RandomStream(seed, 'test/statistic'),
    recent: new RecentTables(),
    nowNs: 0,
    ipsets: null,
    localAddrs: new Set([parseIPv4(NODE_IP)]),
    conntrack: null,
    trace: null,
  };
  const res = newHookResult();
  const p = makePacket({ proto: 'tcp', src: parseIPv4(src), dst: parseIPv4(dst), sport: 40000, dport });
  const r = walkPath((hook) => evaluateHook(rs, hook, p, ctx, res), p, ctx);
  return { verdict: r.verdict, res, dst: formatIPv4(p.dst) };
}

const SOURCES: readonly { source: PacketSource; client: number }[] = [
  { source: 'pod', client: 0 },
  { source: 'external', client: 0 },
  { source: 'external', client: 1 },
  { source: 'external', client: 2 },
];

test('external paths: rules visited, cost and verdict of the iptables mode model (both backends) equal a walk of the rules kube-proxy writes', () => {
  // A per-rule cost that grows past WALK_CACHE_RULES, so a hook-by-hook charge is checked too.
  const costs = withCosts(DEFAULT_COSTS, { perRuleLogNs: { legacy: 0.7, nft: 0.4 } });
  fc.assert(
    fc.property(fc.array(serviceShape, { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 1000 }), fc.boolean(), fc.constantFrom<IptablesBackend>('legacy', 'nft'), (shapes: ServiceShape[], seed, masqueradeAll, backend) => {
      const model = iptablesModel({ costs, iptablesBackend: backend });
      const { state } = buildCluster(shapes);
      const { ruleset } = nodeRuleset(state, { ...FAKE_PROXIER_OPTIONS, masqueradeAll });
      const compiled = compileRuleset(ruleset);
      const { counts, without } = nodeCounts(state, shapes);
      // Every Service, by every entry it has, from a pod and from clients inside and outside its source ranges.
      shapes.forEach((s, i) => entries(s).forEach((entry) => SOURCES.forEach((source) => check(s, i, entry, { ...source, seed: seed + i }))));
      function check(s: ServiceShape, i: number, entry: EntryPoint, pr: { source: PacketSource; client: number; seed: number }): void {
      const src = sourceAddress(pr.source, pr.client);
      const { dst, dport } = destination(i, entry);
      const w = walk(compiled, src, dst, dport, pr.seed, backend, costs);
      const lists = endpointLists(state, i);
      const pos = positions(ruleset, dst, dport, entry);
      const local = s.local && entry !== 'clusterIP';
      // The list the DNAT chose from: Local for an external client under Local, else Cluster.
      const list = local && pr.source === 'external' ? lists.local : lists.cluster;
      const chosen = Math.max(0, list.findIndex((e) => e.ip === w.dst));
      const input: FirstPacketInput = {
        services: shapes.length,
        servicesWithoutEndpoints: without,
        position: pos.position,
        endpoints: lists.cluster.length,
        chosen,
        entry,
        source: pr.source,
        externalTrafficPolicy: s.local ? 'Local' : 'Cluster',
        localEndpoints: lists.local.length,
        node: counts,
        masqueradeAll,
        filterBefore: pos.filterBefore,
        ...(entry === 'loadBalancer' && sourceRangeWalk(s, src) ? { sourceRange: sourceRangeWalk(s, src)! } : {}),
      };
      const m = model.firstPacket(input);
      const what = `${entry} from ${pr.source} (${src}) to ${JSON.stringify(s)}`;
      if (m.verdict.kind === 'dnat') {
        assert.equal(w.verdict, 'ACCEPT', `${what}: accepted`);
        assert.ok(w.res.dnat, `${what}: DNAT`);
        assert.ok(list.some((e) => e.ip === w.dst), `${what}: endpoint from the ${list === lists.local ? 'Local' : 'Cluster'} list`);
        assert.equal(w.res.masquerade, m.verdict.masquerade, `${what}: masquerade`);
      } else {
        assert.equal(w.verdict, m.verdict.kind === 'drop' ? 'DROP' : 'REJECT', `${what}: verdict`);
      }
      assert.equal(m.rulesVisited, w.res.rulesVisited, `${what}: rules visited`);
      assert.ok(Math.abs(m.costNs - (w.res.costNs + costs.conntrackInsertNs)) < 1e-6, `${what}: cost ${m.costNs} vs ${w.res.costNs} + conntrack insert`);
      }
    }),
    { numRuns: 100 },
  );
});

test("a pod's ClusterIP packet costs the same on the general path with no external rules as on today's formula", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 300 }),
      fc.integer({ min: 0, max: 200 }),
      fc.integer({ min: 0, max: 6 }),
      fc.nat(),
      fc.nat(),
      fc.option(fc.record({ checked: fc.nat({ max: 6 }), hit: fc.boolean() }), { nil: undefined }),
      fc.boolean(),
      fc.boolean(),
      (withEps, without, endpoints, position, chosen, affinity, largeCluster, noLocal) => {
        const costs = withCosts(DEFAULT_COSTS, { perRuleLogNs: { legacy: 0.7 } });
        const model = iptablesModel({ costs, iptablesBackend: 'legacy', sessionAffinity: affinity !== undefined });
        const p: FirstPacketInput = {
          services: withEps + without,
          servicesWithoutEndpoints: without,
          position: position % (endpoints === 0 ? Math.max(1, without) : withEps),
          endpoints,
          chosen: endpoints === 0 ? 0 : chosen % endpoints,
          largeCluster,
          ...(affinity ? { affinity: { checked: Math.min(affinity.checked, endpoints), hit: affinity.hit && endpoints > 0 } } : {}),
          ...(endpoints === 0 && noLocal ? { noLocalEndpoints: true } : {}),
        };
        const today = model.firstPacket(p);
        const general = model.firstPacket({ ...p, node: NO_EXTERNAL_RULES });
        assert.equal(general.rulesVisited, today.rulesVisited);
        assert.ok(Math.abs(general.costNs - today.costNs) < 1e-6, `${general.costNs} vs ${today.costNs}`);
        assert.deepEqual(general.verdict, today.verdict);
      },
    ),
    { numRuns: 300 },
  );
});

test('external Services: restore lines of a full sync and of a partial one, and kernel rules, equal what the iptables proxier writes', () => {
  const ready = serviceShape.map((s) => ({ ...s, endpoints: s.endpoints.map((e) => ({ ...e, terminating: false })) }));
  fc.assert(
    fc.property(fc.array(ready, { minLength: 1, maxLength: 8 }), fc.boolean(), fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), (shapes, affinity, change) => {
      const extra = affinity ? { sessionAffinity: 'ClientIP' as const } : {};
      const { services, slices, state } = buildCluster(shapes);
      const withAffinity = services.map((s) => ({ ...s, spec: { ...s.spec, ...extra } }));
      const st = proxyStateFromObjects(withAffinity, slices, NODE);
      const e = syncCounts(st, shapes);
      const without = shapes.filter((_, i) => !endpointLists(state, i).any).length;
      const model = iptablesModel({ costs: DEFAULT_COSTS, iptablesBackend: 'legacy', sessionAffinity: affinity });
      const proxier = new IptablesProxier(FAKE_PROXIER_OPTIONS);
      const full = proxier.sync({ state: st, full: true });
      const work = { services: shapes.length, servicesWithoutEndpoints: without, endpoints: e.endpoints, external: e };
      assert.equal(model.syncCost({ ...work, full: true, changed: [] }).units, full.restoreLines, 'full sync');
      // A partial sync that changes no endpoint of the ClusterIP-only Services it names: the shared chains whole, their chains again.
      const changed = shapes.flatMap((s, i) => (change[i] && s.kind === 'ClusterIP' && !s.externalIP ? [i] : []));
      const partial = proxier.sync({ state: st, full: false, changedServices: new Set(changed.map((i) => `ns/svc${i}`)), existingNatChains: full.activeNatChains });
      const counts = changed.map((i) => endpointLists(state, i).cluster.length);
      assert.equal(model.syncCost({ ...work, full: false, changed: counts.map((n) => ({ before: n, after: n })) }).units, partial.restoreLines, 'partial sync');
      // Kernel rules: against the same Services without their external parts.
      const plain = buildCluster(shapes.map((s) => ({ ...s, kind: 'ClusterIP' as const, externalIP: false })));
      const plainServices = plain.services.map((s) => ({ ...s, spec: { ...s.spec, ...extra } }));
      const rulesOf = (svcs: typeof services, sl: typeof slices) => {
        let n = 0;
        for (const t of nodeRuleset(proxyStateFromObjects(svcs, sl, NODE), FAKE_PROXIER_OPTIONS).ruleset.tables.values()) for (const ch of t.chains.values()) n += ch.rules.length;
        return n;
      };
      const grown = rulesOf(withAffinity, slices) - rulesOf(plainServices, plain.slices);
      assert.equal(model.kernelObjects(shapes.length, e.endpoints, without, e).rules - model.kernelObjects(shapes.length, e.endpoints, without).rules, grown, 'kernel rules');
    }),
    { numRuns: 100 },
  );
});
