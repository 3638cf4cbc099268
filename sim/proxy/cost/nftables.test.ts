import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RandomStream } from '../../engine/random.ts';
import { DEFAULT_COSTS } from '../../cost/cost-model.ts';
import { parseIPv4 } from '../../net/ipv4.ts';
import { makePacket } from '../../net/packet.ts';
import { DynamicSets } from '../../nftables/dynamic-sets.ts';
import { evaluateHook, newHookResult } from '../../nftables/evaluate.ts';
import { CT_STATE_BITS } from '../../nftables/key.ts';
import { proxyStateFromObjects } from '../from-api.ts';
import { testService, testSlice } from '../testing/golden-fixtures.ts';
import { NftablesProxier } from '../nftables/proxier.ts';
import { nftablesModel, nftablesTableObjects } from './nftables.ts';
import { withCosts } from '../../cost/cost-model.ts';
import { SessionAffinity } from './session-affinity.ts';
import type { ServiceSpec } from '../../k8s/objects.ts';
import { formatIPv4 } from '../../net/ipv4.ts';
import type { Endpoint } from '../endpoint.ts';

/**
 * As iptables.test.ts does for iptables: kube-proxy's nftables rule set, written by the
 * nftables proxier and walked by the nft model, must cost a pod's first packet what the analytic
 * mode model charges (rules, map lookups, CPU), whatever the number of services.
 */
const OPTIONS = { nodeName: 'test-node', nodeIP: '192.168.0.2', clusterCIDR: '10.0.0.0/8', serviceCIDRs: ['172.30.0.0/16'], nodePortIPs: ['192.168.0.2'], masqueradeMark: '0x4000' };

function build(withEndpoints: number, without: number, endpoints: number, extra: Partial<ServiceSpec> = {}, nodeOf: (service: number, e: number) => string = () => '') {
  const counts = Array.from({ length: withEndpoints + without }, (_, i) => (i < withEndpoints ? endpoints : 0));
  const state = counted(counts, extra, nodeOf);
  const sync = new NftablesProxier(OPTIONS).sync({ state, full: true });
  return { rs: sync.ruleset, lines: sync.lines, state };
}

/** A node's state with counts[i] endpoints for service i (IPs 10.180.i.1 upward, so a count change adds or removes at the end). */
function counted(counts: readonly number[], extra: Partial<ServiceSpec> = {}, nodeOf: (service: number, e: number) => string = () => '') {
  const services = counts.map((_, i) => testService('ns', `svc${i}`, { clusterIP: `172.30.${i >> 8}.${i & 255}`, ports: [{ name: 'p80', port: 80, protocol: 'TCP' }], ...extra }));
  const ep = (i: number, e: number) => ({ ip: `10.180.${i}.${e + 1}`, ...(nodeOf(i, e) ? { nodeName: nodeOf(i, e) } : {}) });
  const slices = counts.flatMap((n, i) => (n > 0 ? [testSlice('ns', `svc${i}`, Array.from({ length: n }, (_, e) => ep(i, e)), [{ name: 'p80', port: 8080 }])] : []));
  return proxyStateFromObjects(services, slices, 'test-node');
}

function ruleset(withEndpoints: number, without: number, endpoints: number) {
  return build(withEndpoints, without, endpoints).rs;
}

/** A pod's first packet through prerouting, forward and postrouting: what the nft model charged. */
function walk(rs: ReturnType<typeof ruleset>, ctx: Parameters<typeof evaluateHook>[3], src: number, dst: number, sport: number) {
  const p = makePacket({ proto: 'tcp', src, dst, sport, dport: 80 });
  const res = newHookResult();
  let rules = 0;
  let lookups = 0;
  let cost = 0;
  let verdict = 'accept';
  for (const hook of ['prerouting', 'forward', 'postrouting'] as const) {
    const r = evaluateHook(rs, hook, p, ctx, res);
    rules += r.rulesVisited;
    lookups += r.lookups;
    cost += r.costNs;
    verdict = r.verdict;
    if (verdict !== 'accept') break;
  }
  return { rules, lookups, cost, verdict, dst: formatIPv4(p.dst) };
}

test('first-packet rules, lookups and cost of the nftables mode model equal a walk of kube-proxy\'s table', () => {
  const model = nftablesModel({ costs: DEFAULT_COSTS, iptablesBackend: 'nft' });
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 6 }), fc.nat(), (withEps, without, endpoints, pick) => {
      fc.pre(withEps + without > 0);
      const rs = ruleset(withEps, without, endpoints);
      const service = pick % (withEps + without);
      const hasEndpoints = service < withEps;
      const ctx = {
        nowNs: 0,
        ctState: CT_STATE_BITS.new,
        localAddresses: new Set([parseIPv4('192.168.0.2')]),
        numgen: new RandomStream(pick, 'test/numgen'),
        dynamic: new DynamicSets(),
        costs: DEFAULT_COSTS,
      };
      const { rules, lookups, cost, verdict } = walk(rs, ctx, parseIPv4('10.0.1.5'), parseIPv4(`172.30.${service >> 8}.${service & 255}`), 40000);
      assert.equal(verdict, hasEndpoints ? 'accept' : 'reject');
      const m = model.firstPacket({ services: withEps + without, servicesWithoutEndpoints: without, position: 0, endpoints: hasEndpoints ? endpoints : 0, chosen: 0 });
      assert.equal(m.rulesVisited, rules, 'rules');
      assert.equal(m.lookups, lookups, 'lookups');
      assert.ok(Math.abs(m.costNs - (cost + DEFAULT_COSTS.conntrackInsertNs)) < 1e-6, `cost ${m.costNs} vs ${cost} + conntrack insert`);
    }),
    { numRuns: 40 },
  );
});

test('sessionAffinity ClientIP: affinity-set lookups, endpoint kept and cost equal the model fed by SessionAffinity', () => {
  const T = 10;
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 1, max: 5 }),
      fc.nat(),
      fc.array(fc.record({ client: fc.integer({ min: 0, max: 4 }), gapS: fc.constantFrom(0, 1, 4, 9, 10, 11, 30) }), { minLength: 1, maxLength: 40 }),
      (withEps, without, endpoints, pick, connections) => {
        const { rs, state } = build(withEps, without, endpoints, { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: T } } });
        const service = pick % withEps;
        const eps: readonly Endpoint[] = [...state.endpoints.values()].find((l) => l[0]!.ip.startsWith(`10.180.${service}.`))!;
        const ctx = {
          nowNs: 0,
          ctState: CT_STATE_BITS.new,
          localAddresses: new Set([parseIPv4('192.168.0.2')]),
          numgen: new RandomStream(pick, 'test/numgen'),
          dynamic: new DynamicSets(),
          costs: DEFAULT_COSTS,
        };
        const affinity = new SessionAffinity('timeout', T * 1e9);
        const model = nftablesModel({ costs: DEFAULT_COSTS, iptablesBackend: 'nft', sessionAffinity: true });
        let sport = 30000;
        for (const { client, gapS } of connections) {
          ctx.nowNs += gapS * 1e9;
          const src = parseIPv4(`10.0.1.${client + 5}`);
          const a = affinity.check(0, service, src, eps, ctx.nowNs);
          const affinityWalk = { checked: a.checked, hit: a.index >= 0 };
          const pinned = a.index;
          const w = walk(rs, ctx, src, parseIPv4(`172.30.${service >> 8}.${service & 255}`), sport++);
          assert.equal(w.verdict, 'accept');
          const chosen = eps.findIndex((e) => e.ip === w.dst);
          if (pinned >= 0) assert.equal(chosen, pinned, 'the client returns to its endpoint');
          const m = model.firstPacket({ services: withEps + without, servicesWithoutEndpoints: without, position: 0, endpoints, chosen, affinity: affinityWalk });
          assert.equal(m.rulesVisited, w.rules, `rules, ${JSON.stringify(affinityWalk)}`);
          assert.equal(m.lookups, w.lookups, 'lookups');
          assert.ok(Math.abs(m.costNs - (w.cost + DEFAULT_COSTS.conntrackInsertNs)) < 1e-6, `cost ${m.costNs} vs ${w.cost} + conntrack insert`);
          affinity.record(0, service, src, eps[chosen]!.endpoint, ctx.nowNs);
        }
      },
    ),
    { numRuns: 40 },
  );
});

test('sync units are the nft -f lines kube-proxy sends: a full sync, and a partial one with its stale-chain cleanup a second later', () => {
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 6 }), fc.boolean()), { minLength: 1, maxLength: 6 }),
      (affinity, spec) => {
        const extra: Partial<ServiceSpec> = affinity ? { sessionAffinity: 'ClientIP' } : {};
        const model = nftablesModel({ costs: DEFAULT_COSTS, iptablesBackend: 'nft', sessionAffinity: affinity });
        const before = spec.map(([b]) => b);
        const after = spec.map(([b, a, change]) => (change ? a : b));
        const proxier = new NftablesProxier(OPTIONS);
        const full = proxier.sync({ state: counted(before, extra), full: true, nowNs: 0 });
        const units = model.syncCost({ full: true, services: before.length, servicesWithoutEndpoints: before.filter((n) => n === 0).length, endpoints: before.reduce((s, n) => s + n, 0), changed: [] }).units;
        assert.equal(units, full.lines, 'full sync');
        const changedServices = new Set(spec.flatMap(([, , change], i) => (change ? [`ns/svc${i}`] : [])));
        const partial = proxier.sync({ state: counted(after, extra), full: false, changedServices, nowNs: 0.5e9 });
        const cleanup = proxier.sync({ state: counted(after, extra), full: false, changedServices: new Set(), nowNs: 2e9 });
        const changed = spec.flatMap(([b, a, change]) => (change ? [{ before: b, after: a }] : []));
        const partialUnits = model.syncCost({ full: false, services: after.length, servicesWithoutEndpoints: 0, endpoints: 0, changed }).units;
        assert.equal(partialUnits, partial.lines + cleanup.lines, 'partial sync and its cleanup');
      },
    ),
    { numRuns: 60 },
  );
});

test('internalTrafficPolicy Local: local endpoints only, and a drop verdict where there is none, as the model counts', () => {
  const model = nftablesModel({ costs: DEFAULT_COSTS, iptablesBackend: 'nft' });
  assert.equal(model.noLocalEndpoints, 'drop');
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 5 }), fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }), fc.nat(), (withEps, without, endpoints, here, pick) => {
      const { rs, state } = build(withEps, without, endpoints, { internalTrafficPolicy: 'Local' }, (i, e) => (here[i * 5 + e] ? 'test-node' : 'other-node'));
      const service = pick % (withEps + without);
      const all = [...state.endpoints.values()].find((l) => l[0]!.ip.startsWith(`10.180.${service}.`)) ?? [];
      const local = all.filter((e) => e.isLocal);
      const ctx = { nowNs: 0, ctState: CT_STATE_BITS.new, localAddresses: new Set([parseIPv4('192.168.0.2')]), numgen: new RandomStream(pick, 'test/numgen'), dynamic: new DynamicSets(), costs: DEFAULT_COSTS };
      const w = walk(rs, ctx, parseIPv4('10.0.1.5'), parseIPv4(`172.30.${service >> 8}.${service & 255}`), 40000);
      assert.equal(w.verdict, local.length > 0 ? 'accept' : all.length > 0 ? 'drop' : 'reject');
      const chosen = local.findIndex((e) => e.ip === w.dst);
      if (local.length > 0) assert.ok(chosen >= 0, 'DNAT to a local endpoint');
      const m = model.firstPacket({ services: withEps + without, servicesWithoutEndpoints: 0, position: 0, endpoints: local.length, chosen: Math.max(0, chosen), ...(local.length === 0 && all.length > 0 ? { noLocalEndpoints: true } : {}) });
      assert.equal(m.rulesVisited, w.rules, 'rules');
      assert.equal(m.lookups, w.lookups, 'lookups');
      assert.ok(Math.abs(m.costNs - (w.cost + DEFAULT_COSTS.conntrackInsertNs)) < 1e-6, `cost ${m.costNs} vs ${w.cost} + conntrack insert`);
    }),
    { numRuns: 60 },
  );
});

test('kernel rules: a port that loses its endpoints loses its service and endpoint chains\' rules, as the model counts', () => {
  const rules = (withEps: number, without: number) => {
    let n = 0;
    for (const t of build(withEps, without, 2).rs.tables.values()) for (const ch of t.chains.values()) n += ch.rules.length;
    return n;
  };
  const model = nftablesModel({ costs: DEFAULT_COSTS, iptablesBackend: 'nft' });
  assert.equal(rules(3, 0) - rules(2, 1), model.kernelObjects(3, 6, 0).rules - model.kernelObjects(3, 4, 1).rules);
});

test("the table objects nft -f is charged for match the nftables proxier's table (chains, rules, sets, elements, numgen entries)", () => {
  for (const [withEps, without, endpoints] of [[0, 0, 0], [1, 0, 1], [10, 2, 3], [50, 5, 4], [200, 20, 2]] as const) {
    const { rs } = build(withEps, without, endpoints);
    let objects = withEps * endpoints; // the numgen vmaps' anonymous entries, one per endpoint
    for (const t of rs.tables.values()) {
      objects += t.chains.size + t.sets.size;
      for (const c of t.chains.values()) objects += c.rules.length;
      for (const set of t.sets.values()) objects += set.elements.size;
    }
    const model = nftablesTableObjects(withEps + without, withEps * endpoints, without);
    // the model's rules carry a few fixed ones more than this proxier's table (kernelObjects' 30)
    assert.ok(Math.abs(model - objects) <= 8, `${withEps}/${without}/${endpoints}: model ${model}, table ${objects}`);
  }
});

test('an nft -f sync pays per line, per line x table object, and (after start-up) per object already in the table', () => {
  const costs = withCosts(DEFAULT_COSTS, { nftTransactionBaseNs: 1e6, nftNsPerLine: 10_000, nftNsPerLinePerObject: 0.5, nftNsPerTableObject: 2000, nftTableFetchNs: 3e6 });
  const m = nftablesModel({ costs, iptablesBackend: 'nft' });
  const work = { services: 1000, servicesWithoutEndpoints: 0, endpoints: 4000, changed: [] };
  const objects = nftablesTableObjects(1000, 4000);
  const cold = m.syncCost({ ...work, full: true, startup: true });
  assert.equal(cold.durationNs, 1e6 + cold.units * (10_000 + objects * 0.5));
  const warm = m.syncCost({ ...work, full: true });
  assert.equal(warm.durationNs - cold.durationNs, 3e6 + objects * 2000);
  // One service's partial sync: small in lines, but it still pays for the whole table.
  const partial = m.syncCost({ ...work, full: false, changed: [{ before: 4, after: 3 }] });
  assert.equal(partial.durationNs, 1e6 + partial.units * (10_000 + objects * 0.5) + 3e6 + objects * 2000);
});
