import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RandomStream } from '../../engine/random.ts';
import { DEFAULT_COSTS } from '../../net/cost-model.ts';
import { formatIPv4, parseIPv4 } from '../../net/ipv4.ts';
import { makePacket } from '../../net/packet.ts';
import { compileRuleset } from '../../netfilter/compile.ts';
import { newHookResult, resetHookResult, type EvalContext } from '../../netfilter/context.ts';
import { evaluateHook } from '../../netfilter/evaluate.ts';
import { RecentTables } from '../../netfilter/recent.ts';
import { renderRuleSpec } from '../../netfilter/rule-syntax.ts';
import { proxyStateFromObjects } from '../from-api.ts';
import { FAKE_PROXIER_OPTIONS, testService, testSlice } from '../iptables/golden-fixtures.ts';
import { nodeRuleset } from '../iptables/node-ruleset.ts';
import { iptablesModel } from './iptables-model.ts';

/**
 * The run model charges a new connection the rules of an analytic walk (iptables-model.ts) instead of
 * evaluating kube-proxy's rule set packet by packet. This test keeps the two honest: it writes the
 * real rule set with the iptables proxier (kube-proxy's rule text), loads it into the netfilter
 * model, sends a pod's first packet to a ClusterIP through PREROUTING, FORWARD and POSTROUTING, and
 * checks that the rules visited and the CPU cost (plus the conntrack insert, which the node path
 * charges outside netfilter) equal the formula for the same chain position and chosen endpoint.
 */
function cluster(withEndpoints: number, without: number, endpoints: number) {
  const services = [];
  const slices = [];
  for (let i = 0; i < withEndpoints + without; i++) {
    const ip = `172.30.${i >> 8}.${i & 255}`;
    services.push(testService('ns', `svc${i}`, { clusterIP: ip, ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] }));
    if (i < withEndpoints) {
      const eps = Array.from({ length: endpoints }, (_, e) => ({ ip: `10.180.${i}.${e + 1}` }));
      slices.push(testSlice('ns', `svc${i}`, eps, [{ name: 'p80', port: 8080 }]));
    }
  }
  const state = proxyStateFromObjects(services, slices, FAKE_PROXIER_OPTIONS.nodeName);
  const { ruleset } = nodeRuleset(state, FAKE_PROXIER_OPTIONS);
  return { ruleset, compiled: compileRuleset(ruleset) };
}

function ctx(seed: number): EvalContext {
  return {
    backend: 'legacy',
    costs: DEFAULT_COSTS,
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
