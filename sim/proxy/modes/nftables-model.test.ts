import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RandomStream } from '../../engine/random.ts';
import { DEFAULT_COSTS } from '../../net/cost-model.ts';
import { parseIPv4 } from '../../net/ipv4.ts';
import { makePacket } from '../../net/packet.ts';
import { DynamicSets } from '../../nftables/dynamic-sets.ts';
import { evaluateHook, newHookResult } from '../../nftables/evaluate.ts';
import { CT_STATE_BITS } from '../../nftables/key.ts';
import { proxyStateFromObjects } from '../from-api.ts';
import { testService, testSlice } from '../iptables/golden-fixtures.ts';
import { NftablesProxier } from '../nftables/proxier.ts';
import { nftablesModel } from './nftables-model.ts';

/**
 * As iptables-model.test.ts does for iptables: kube-proxy's nftables rule set, written by the
 * nftables proxier and walked by the nft model, must cost a pod's first packet what the analytic
 * mode model charges (rules, map lookups, CPU), whatever the number of services.
 */
const OPTIONS = { nodeName: 'test-node', nodeIP: '192.168.0.2', clusterCIDR: '10.0.0.0/8', serviceCIDRs: ['172.30.0.0/16'], nodePortIPs: ['192.168.0.2'], masqueradeMark: '0x4000' };

function ruleset(withEndpoints: number, without: number, endpoints: number) {
  const services = [];
  const slices = [];
  for (let i = 0; i < withEndpoints + without; i++) {
    services.push(testService('ns', `svc${i}`, { clusterIP: `172.30.${i >> 8}.${i & 255}`, ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] }));
    if (i < withEndpoints) slices.push(testSlice('ns', `svc${i}`, Array.from({ length: endpoints }, (_, e) => ({ ip: `10.180.${i}.${e + 1}` })), [{ name: 'p80', port: 8080 }]));
  }
  return new NftablesProxier(OPTIONS).sync({ state: proxyStateFromObjects(services, slices, 'test-node'), full: true }).ruleset;
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
      const p = makePacket({ proto: 'tcp', src: parseIPv4('10.0.1.5'), dst: parseIPv4(`172.30.${service >> 8}.${service & 255}`), sport: 40000, dport: 80 });
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
      assert.equal(verdict, hasEndpoints ? 'accept' : 'reject');
      const m = model.firstPacket({ services: withEps + without, servicesWithoutEndpoints: without, position: 0, endpoints: hasEndpoints ? endpoints : 0, chosen: 0 });
      assert.equal(m.rulesVisited, rules, 'rules');
      assert.equal(m.lookups, lookups, 'lookups');
      assert.ok(Math.abs(m.costNs - (cost + DEFAULT_COSTS.conntrackInsertNs)) < 1e-6, `cost ${m.costNs} vs ${cost} + conntrack insert`);
    }),
    { numRuns: 40 },
  );
});
