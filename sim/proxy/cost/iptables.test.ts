import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RandomStream } from '../../engine/random.ts';
import { DEFAULT_COSTS, WALK_CACHE_RULES, withCosts } from '../../cost/cost-model.ts';
import { formatIPv4, parseIPv4 } from '../../net/ipv4.ts';
import { makePacket } from '../../net/packet.ts';
import { compileRuleset } from '../../netfilter/compile.ts';
import { newHookResult, resetHookResult, type EvalContext } from '../../netfilter/context.ts';
import { evaluateHook } from '../../netfilter/evaluate.ts';
import { RecentTables } from '../../netfilter/recent.ts';
import { renderRuleSpec } from '../../netfilter/rule-render.ts';
import { proxyStateFromObjects } from '../from-api.ts';
import { FAKE_PROXIER_OPTIONS, testService, testSlice } from '../testing/golden-fixtures.ts';
import { IptablesProxier } from '../iptables/proxier.ts';
import { nodeRuleset } from '../iptables/node-ruleset.ts';
import { iptablesLinesPerService, iptablesModel } from './iptables.ts';
import { SessionAffinity } from './session-affinity.ts';
import type { ServiceSpec } from '../../k8s/objects.ts';

/**
 * The run model charges a new connection the rules of an analytic walk (iptables.ts) instead of
 * evaluating kube-proxy's rule set packet by packet. This test keeps the two honest: it writes the
 * real rule set with the iptables proxier (kube-proxy's rule text), loads it into the netfilter
 * model, sends a pod's first packet to a ClusterIP through PREROUTING, FORWARD and POSTROUTING, and
 * checks that the rules visited and the CPU cost (plus the conntrack insert, which the node path
 * charges outside netfilter) equal the formula for the same chain position and chosen endpoint.
 */
function cluster(withEndpoints: number, without: number, endpoints: number, extra: Partial<ServiceSpec> = {}, nodeOf: (service: number, e: number) => string = () => '') {
  const services = [];
  const slices = [];
  for (let i = 0; i < withEndpoints + without; i++) {
    const ip = `172.30.${i >> 8}.${i & 255}`;
    services.push(testService('ns', `svc${i}`, { clusterIP: ip, ports: [{ name: 'p80', port: 80, protocol: 'TCP' }], ...extra }));
    if (i < withEndpoints) {
      const eps = Array.from({ length: endpoints }, (_, e) => ({ ip: `10.180.${i}.${e + 1}`, ...(nodeOf(i, e) ? { nodeName: nodeOf(i, e) } : {}) }));
      slices.push(testSlice('ns', `svc${i}`, eps, [{ name: 'p80', port: 8080 }]));
    }
  }
  const state = proxyStateFromObjects(services, slices, FAKE_PROXIER_OPTIONS.nodeName);
  const { ruleset, sync } = nodeRuleset(state, FAKE_PROXIER_OPTIONS);
  return { ruleset, compiled: compileRuleset(ruleset), state, restoreLines: sync.restoreLines };
}

function ctx(seed: number, costs = DEFAULT_COSTS): EvalContext {
  return {
    backend: 'legacy',
    costs,
    firstPacket: true,
    ctState: 2, // NEW
    random: new RandomStream(seed, 'test/statistic'),
    recent: new RecentTables(),
    nowNs: 0,
    ipsets: null,
    localAddrs: new Set([parseIPv4(FAKE_PROXIER_OPTIONS.nodeIP!)]),
    conntrack: null,
    trace: null,
  };
}

test('rules visited by a forwarded first packet equal the iptables mode model', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 0, max: 4 }),
      fc.integer({ min: 1, max: 6 }),
      fc.nat(),
      fc.integer({ min: 1, max: 1000 }),
      (withEps, without, endpoints, pick, seed) => {
        const { ruleset, compiled } = cluster(withEps, without, endpoints);
        const service = pick % withEps;
        const vip = `172.30.${service >> 8}.${service & 255}`;
        // Position of the service's jump in nat KUBE-SERVICES, as kube-proxy wrote it.
        const natServices = ruleset.tables.get('nat')!.chains.get('KUBE-SERVICES')!.rules;
        const position = natServices.findIndex((r) => renderRuleSpec(r).includes(`-d ${vip}/32`));
        assert.ok(position >= 0, `no KUBE-SERVICES rule for ${vip}`);

        const c = ctx(seed);
        const res = newHookResult();
        resetHookResult(res);
        const p = makePacket({ proto: 'tcp', src: parseIPv4('10.0.1.5'), dst: parseIPv4(vip), sport: 40000, dport: 80 });
        assert.equal(evaluateHook(compiled, 'PREROUTING', p, c, res), 'ACCEPT');
        assert.ok(res.dnat, 'DNAT to an endpoint');
        const chosen = Number(formatIPv4(p.dst).split('.')[3]) - 1;
        assert.equal(evaluateHook(compiled, 'FORWARD', p, c, res), 'ACCEPT');
        assert.equal(evaluateHook(compiled, 'POSTROUTING', p, c, res), 'ACCEPT');

        const model = iptablesModel({ costs: DEFAULT_COSTS, iptablesBackend: 'legacy' }).firstPacket({
          services: withEps + without,
          servicesWithoutEndpoints: without,
          position,
          endpoints,
          chosen,
        });
        assert.equal(model.rulesVisited, res.rulesVisited, `position ${position}, chosen ${chosen}`);
        assert.ok(Math.abs(model.costNs - (res.costNs + DEFAULT_COSTS.conntrackInsertNs)) < 1e-6, `cost ${model.costNs} vs ${res.costNs} + conntrack insert`);
      },
    ),
    { numRuns: 40 },
  );
});

test('a long walk costs the same in the model as on the packet path: ruleWalkNs per hook, not over the total', () => {
  // 240 ports with endpoints and 120 without: nat KUBE-SERVICES and filter KUBE-SERVICES both run
  // past WALK_CACHE_RULES, so a hook-by-hook charge and one over all the rules would differ.
  const withEps = 240;
  const without = 120;
  assert.ok(without + 7 > WALK_CACHE_RULES);
  const costs = withCosts(DEFAULT_COSTS, { perRuleLogNs: { legacy: 0.7 } });
  const { ruleset, compiled } = cluster(withEps, without, 2);
  const natServices = ruleset.tables.get('nat')!.chains.get('KUBE-SERVICES')!.rules;
  const rejects = ruleset.tables.get('filter')!.chains.get('KUBE-SERVICES')!.rules;
  const model = iptablesModel({ costs, iptablesBackend: 'legacy' });
  for (const service of [0, 7, 119, 200, 239, 240, 300, 359]) {
    const vip = `172.30.${service >> 8}.${service & 255}`;
    const hasEndpoints = service < withEps;
    const position = (hasEndpoints ? natServices : rejects).findIndex((r) => renderRuleSpec(r).includes(`-d ${vip}/32`));
    const res = newHookResult();
    const p = makePacket({ proto: 'tcp', src: parseIPv4('10.0.1.5'), dst: parseIPv4(vip), sport: 40000, dport: 80 });
    const c = ctx(service, costs);
    evaluateHook(compiled, 'PREROUTING', p, c, res);
    const chosen = hasEndpoints ? Number(formatIPv4(p.dst).split('.')[3]) - 1 : 0;
    if (evaluateHook(compiled, 'FORWARD', p, c, res) === 'ACCEPT') evaluateHook(compiled, 'POSTROUTING', p, c, res);
    const m = model.firstPacket({ services: withEps + without, servicesWithoutEndpoints: without, position, endpoints: hasEndpoints ? 2 : 0, chosen });
    assert.equal(m.rulesVisited, res.rulesVisited, `service ${service}`);
    assert.ok(Math.abs(m.costNs - (res.costNs + costs.conntrackInsertNs)) < 1e-6, `service ${service}: cost ${m.costNs} vs ${res.costNs} + conntrack insert`);
  }
});

test('rules visited by a first packet to a Service without endpoints equal the model (REJECT in filter)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 1, max: 5 }), fc.nat(), (withEps, without, pick) => {
      const { ruleset, compiled } = cluster(withEps, without, 2);
      const service = withEps + (pick % without);
      const vip = `172.30.${service >> 8}.${service & 255}`;
      const rejects = ruleset.tables.get('filter')!.chains.get('KUBE-SERVICES')!.rules;
      const position = rejects.findIndex((r) => renderRuleSpec(r).includes(`-d ${vip}/32`));
      assert.ok(position >= 0, `no REJECT for ${vip}`);
      const c = ctx(1);
      const res = newHookResult();
      const p = makePacket({ proto: 'tcp', src: parseIPv4('10.0.1.5'), dst: parseIPv4(vip), sport: 40000, dport: 80 });
      assert.equal(evaluateHook(compiled, 'PREROUTING', p, c, res), 'ACCEPT');
      assert.equal(evaluateHook(compiled, 'FORWARD', p, c, res), 'REJECT');
      const model = iptablesModel({ costs: DEFAULT_COSTS, iptablesBackend: 'legacy' }).firstPacket({
        services: withEps + without,
        servicesWithoutEndpoints: without,
        position,
        endpoints: 0,
        chosen: 0,
      });
      assert.equal(model.rulesVisited, res.rulesVisited, `position ${position}`);
      assert.ok(Math.abs(model.costNs - (res.costNs + DEFAULT_COSTS.conntrackInsertNs)) < 1e-6, `cost ${model.costNs} vs ${res.costNs} + conntrack insert`);
    }),
    { numRuns: 30 },
  );
});

test('sessionAffinity ClientIP: rcheck rules walked, endpoint kept and cost equal the model fed by SessionAffinity (xt_recent lists)', () => {
  const T = 10; // timeoutSeconds
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 1, max: 5 }),
      fc.nat(),
      fc.integer({ min: 1, max: 1000 }),
      // Connections: which client (a few, or enough to overflow a list's 100 entries) and the pause before it.
      fc.array(fc.record({ client: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 140 })), gapS: fc.constantFrom(0, 1, 4, 9, 11, 30) }), { minLength: 1, maxLength: 160 }),
      (withEps, without, endpoints, pick, seed, connections) => {
        const { ruleset, compiled, state } = cluster(withEps, without, endpoints, { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: T } } });
        const service = pick % withEps;
        const vip = `172.30.${service >> 8}.${service & 255}`;
        const natServices = ruleset.tables.get('nat')!.chains.get('KUBE-SERVICES')!.rules;
        const position = natServices.findIndex((r) => renderRuleSpec(r).includes(`-d ${vip}/32`));
        const eps = [...state.endpoints.values()].find((l) => l[0]!.ip.startsWith(`10.180.${service}.`))!;
        const affinity = new SessionAffinity('xt_recent', T * 1e9);
        const model = iptablesModel({ costs: DEFAULT_COSTS, iptablesBackend: 'legacy', sessionAffinity: true });
        const c = ctx(seed);
        let sport = 30000;
        for (const { client, gapS } of connections) {
          c.nowNs += gapS * 1e9;
          const src = parseIPv4(`10.0.1.${client + 5}`);
          const a = affinity.check(0, service, src, eps, c.nowNs);
          const walk = { checked: a.checked, hit: a.index >= 0 };
          const pinned = a.index;
          const res = newHookResult();
          const p = makePacket({ proto: 'tcp', src, dst: parseIPv4(vip), sport: sport++, dport: 80 });
          for (const hook of ['PREROUTING', 'FORWARD', 'POSTROUTING'] as const) assert.equal(evaluateHook(compiled, hook, p, c, res), 'ACCEPT');
          const chosen = eps.findIndex((e) => e.ip === formatIPv4(p.dst));
          if (pinned >= 0) assert.equal(chosen, pinned, 'the client returns to its endpoint');
          const m = model.firstPacket({ services: withEps + without, servicesWithoutEndpoints: without, position, endpoints, chosen, affinity: walk });
          assert.equal(m.rulesVisited, res.rulesVisited, `position ${position}, chosen ${chosen}, ${JSON.stringify(walk)}`);
          assert.ok(Math.abs(m.costNs - (res.costNs + DEFAULT_COSTS.conntrackInsertNs)) < 1e-6, `cost ${m.costNs} vs ${res.costNs} + conntrack insert`);
          affinity.record(0, service, src, eps[chosen]!.endpoint, c.nowNs);
        }
      },
    ),
    { numRuns: 40 },
  );
});

test('affinity rules cost more restore lines and rules, as kube-proxy writes them', () => {
  const lines = (affinity: boolean, eps: number) => {
    const { ruleset } = cluster(3, 1, eps, affinity ? { sessionAffinity: 'ClientIP' } : {});
    let rules = 0;
    for (const t of ruleset.tables.values()) for (const ch of t.chains.values()) rules += ch.rules.length;
    return rules;
  };
  // One rcheck rule per endpoint of each of the 3 Services with endpoints.
  assert.equal(lines(true, 4) - lines(false, 4), 3 * 4);
  const m = (a: boolean) => iptablesModel({ costs: DEFAULT_COSTS, iptablesBackend: 'legacy', sessionAffinity: a }).kernelObjects(4, 12).rules;
  assert.equal(m(true) - m(false), 12);
  // A port that loses its endpoints: its jump, masquerade check, statistic and SEP rules go, a REJECT comes.
  const real = (withEps: number, without: number) => {
    let rules = 0;
    for (const t of cluster(withEps, without, 2).ruleset.tables.values()) for (const ch of t.chains.values()) rules += ch.rules.length;
    return rules;
  };
  const model = iptablesModel({ costs: DEFAULT_COSTS, iptablesBackend: 'legacy' });
  assert.equal(real(3, 0) - real(2, 1), model.kernelObjects(3, 6, 0).rules - model.kernelObjects(3, 4, 1).rules);
  // iptables-restore input of a full sync: one Service more with e endpoints adds iptablesLinesPerService(e).
  for (const affinity of [false, true]) {
    const extra: Partial<ServiceSpec> = affinity ? { sessionAffinity: 'ClientIP' } : {};
    for (const e of [1, 3]) {
      const grown = cluster(4, 1, e, extra).restoreLines - cluster(3, 1, e, extra).restoreLines;
      assert.equal(grown, iptablesLinesPerService(e, affinity), `${e} endpoints, affinity ${affinity}`);
    }
  }
});

test('internalTrafficPolicy Local: a node walks only its local endpoints, and drops what has none here, as the model counts', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 1, max: 5 }),
      fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
      fc.nat(),
      fc.integer({ min: 1, max: 1000 }),
      (withEps, without, endpoints, here, pick, seed) => {
        // Endpoint e of Service i runs on this node when here[i * 5 + e].
        const node = FAKE_PROXIER_OPTIONS.nodeName;
        const { ruleset, compiled, state } = cluster(withEps, without, endpoints, { internalTrafficPolicy: 'Local' }, (i, e) => (here[i * 5 + e] ? node : 'other-node'));
        const service = pick % (withEps + without);
        const vip = `172.30.${service >> 8}.${service & 255}`;
        const all = [...state.endpoints.values()].find((l) => l[0]!.ip.startsWith(`10.180.${service}.`)) ?? [];
        const local = all.filter((e) => e.isLocal);
        // What the run model knows per node: Services whose traffic the node rejects or drops.
        let notHere = 0;
        for (let i = 0; i < withEps + without; i++) if (i >= withEps || !Array.from({ length: endpoints }, (_, e) => here[i * 5 + e]).some(Boolean)) notHere++;
        const rejectsAndDrops = ruleset.tables.get('filter')!.chains.get('KUBE-SERVICES')!.rules;
        assert.equal(rejectsAndDrops.length, notHere);
        const c = ctx(seed);
        const res = newHookResult();
        const p = makePacket({ proto: 'tcp', src: parseIPv4('10.0.1.5'), dst: parseIPv4(vip), sport: 40000, dport: 80 });
        const model = iptablesModel({ costs: DEFAULT_COSTS, iptablesBackend: 'legacy' });
        let position: number;
        let chosen = 0;
        if (local.length > 0) {
          position = ruleset.tables.get('nat')!.chains.get('KUBE-SERVICES')!.rules.findIndex((r) => renderRuleSpec(r).includes(`-d ${vip}/32`));
          for (const hook of ['PREROUTING', 'FORWARD', 'POSTROUTING'] as const) assert.equal(evaluateHook(compiled, hook, p, c, res), 'ACCEPT');
          chosen = local.findIndex((e) => e.ip === formatIPv4(p.dst));
          assert.ok(chosen >= 0, 'DNAT to a local endpoint');
        } else {
          position = rejectsAndDrops.findIndex((r) => renderRuleSpec(r).includes(`-d ${vip}/32`));
          assert.equal(evaluateHook(compiled, 'PREROUTING', p, c, res), 'ACCEPT');
          assert.equal(evaluateHook(compiled, 'FORWARD', p, c, res), all.length > 0 ? 'DROP' : 'REJECT');
        }
        assert.ok(position >= 0);
        const m = model.firstPacket({ services: withEps + without, servicesWithoutEndpoints: notHere, position, endpoints: local.length, chosen, ...(local.length === 0 && all.length > 0 ? { noLocalEndpoints: true } : {}) });
        assert.equal(m.rulesVisited, res.rulesVisited, `position ${position}, ${local.length} local of ${all.length}`);
        assert.ok(Math.abs(m.costNs - (res.costNs + DEFAULT_COSTS.conntrackInsertNs)) < 1e-6, `cost ${m.costNs} vs ${res.costNs} + conntrack insert`);
        assert.equal(model.noLocalEndpoints, 'drop');
      },
    ),
    { numRuns: 60 },
  );
});

test('large-cluster mode (over 1000 endpoints): per-endpoint rules without comments, as the model counts, with and without affinity', () => {
  for (const affinity of [false, true]) {
    // 205 Services x 5 endpoints = 1025 endpoints: kube-proxy drops the per-endpoint comments.
    const { ruleset, compiled, state } = cluster(205, 0, 5, affinity ? { sessionAffinity: 'ClientIP' } : {});
    const model = iptablesModel({ costs: DEFAULT_COSTS, iptablesBackend: 'legacy', sessionAffinity: affinity });
    const natServices = ruleset.tables.get('nat')!.chains.get('KUBE-SERVICES')!.rules;
    const sessions = new SessionAffinity('xt_recent', 10800e9);
    const c = ctx(3);
    for (let k = 0; k < 30; k++) {
      const service = ((k * 37) % 11) * 19; // 11 Services, each several times: affinity hits too
      const vip = `172.30.${service >> 8}.${service & 255}`;
      const position = natServices.findIndex((r) => renderRuleSpec(r).includes(`-d ${vip}/32`));
      const eps = [...state.endpoints.values()].find((l) => l[0]!.ip.startsWith(`10.180.${service}.`))!;
      const src = parseIPv4('10.0.1.5');
      c.nowNs += 1e9;
      const a = sessions.check(0, service, src, eps, c.nowNs);
      const walk = { checked: a.checked, hit: a.index >= 0 };
      const res = newHookResult();
      const p = makePacket({ proto: 'tcp', src, dst: parseIPv4(vip), sport: 40000 + k, dport: 80 });
      for (const hook of ['PREROUTING', 'FORWARD', 'POSTROUTING'] as const) assert.equal(evaluateHook(compiled, hook, p, c, res), 'ACCEPT');
      const chosen = eps.findIndex((e) => e.ip === formatIPv4(p.dst));
      const m = model.firstPacket({ services: 205, servicesWithoutEndpoints: 0, position, endpoints: 5, chosen, largeCluster: true, ...(affinity ? { affinity: walk } : {}) });
      assert.equal(m.rulesVisited, res.rulesVisited);
      assert.ok(Math.abs(m.costNs - (res.costNs + DEFAULT_COSTS.conntrackInsertNs)) < 1e-6, `affinity ${affinity}: cost ${m.costNs} vs ${res.costNs} + conntrack insert`);
      if (affinity) sessions.record(0, service, src, eps[chosen]!.endpoint, c.nowNs);
    }
  }
});

/**
 * A node's state with counts[i] endpoints for service i. `shift` moves service i's endpoint IPs
 * (10.180.i.(shift+1) upward), so a change can replace endpoints as well as add or remove them.
 */
function countedState(counts: readonly number[], shift: readonly number[], extra: Partial<ServiceSpec> = {}) {
  const services = counts.map((_, i) => testService('ns', `svc${i}`, { clusterIP: `172.30.${i >> 8}.${i & 255}`, ports: [{ name: 'p80', port: 80, protocol: 'TCP' }], ...extra }));
  const slices = counts.flatMap((n, i) => (n > 0 ? [testSlice('ns', `svc${i}`, Array.from({ length: n }, (_, e) => ({ ip: `10.180.${i}.${(shift[i] ?? 0) + e + 1}` })), [{ name: 'p80', port: 8080 }])] : []));
  return proxyStateFromObjects(services, slices, FAKE_PROXIER_OPTIONS.nodeName);
}

test('sync units are the iptables-restore lines kube-proxy writes: a full sync, and a partial one after random endpoint changes', () => {
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.array(fc.record({ before: fc.integer({ min: 0, max: 5 }), after: fc.integer({ min: 0, max: 5 }), replaced: fc.boolean(), change: fc.boolean() }), { minLength: 1, maxLength: 6 }),
      (affinity, spec) => {
        const extra: Partial<ServiceSpec> = affinity ? { sessionAffinity: 'ClientIP' } : {};
        const model = iptablesModel({ costs: DEFAULT_COSTS, iptablesBackend: 'nft', sessionAffinity: affinity });
        const before = spec.map((s) => s.before);
        const after = spec.map((s) => (s.change ? s.after : s.before));
        // A replaced service's endpoints after the change all have new IPs (new pods).
        const shift = spec.map((s) => (s.change && s.replaced ? 100 : 0));
        const proxier = new IptablesProxier(FAKE_PROXIER_OPTIONS);
        const full = proxier.sync({ state: countedState(before, before.map(() => 0), extra), full: true });
        const fullUnits = model.syncCost({ full: true, services: before.length, servicesWithoutEndpoints: before.filter((n) => n === 0).length, endpoints: before.reduce((a, n) => a + n, 0), changed: [] }).units;
        assert.equal(fullUnits, full.restoreLines, 'full sync');
        const changedServices = new Set(spec.flatMap((s, i) => (s.change ? [`ns/svc${i}`] : [])));
        const partial = proxier.sync({ state: countedState(after, shift, extra), full: false, changedServices, existingNatChains: full.activeNatChains });
        const changed = spec.flatMap((s, i) => (s.change ? [{ before: s.before, after: after[i]!, kept: shift[i] ? 0 : Math.min(s.before, after[i]!) }] : []));
        const partialUnits = model.syncCost({ full: false, services: after.length, servicesWithoutEndpoints: after.filter((n) => n === 0).length, endpoints: after.reduce((a, n) => a + n, 0), changed }).units;
        assert.equal(partialUnits, partial.restoreLines, `partial sync ${JSON.stringify(changed)}`);
      },
    ),
    { numRuns: 80 },
  );
});
