import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_COSTS } from '../../cost/cost-model.ts';
import { proxyStateFromObjects } from '../from-api.ts';
import { FAKE_PROXIER_OPTIONS, testService, testSlice } from '../testing/golden-fixtures.ts';
import { IptablesProxier } from '../iptables/proxier.ts';
import { nodeRuleset } from '../iptables/node-ruleset.ts';
import { NftablesProxier } from '../nftables/proxier.ts';
import { iptablesModel } from './iptables.ts';
import { nftablesModel } from './nftables.ts';

/**
 * Runs where only some Services have ClientIP affinity (SyncWork.affinityEndpoints, changed[].affinity):
 * the sync lines the mode models charge equal what kube-proxy's proxiers write for a rule set whose
 * Services differ, full and partial, and the kernel rules count each Service's own rules.
 */

const NFT_OPTIONS = { nodeName: 'test-node', nodeIP: '192.168.0.2', clusterCIDR: '10.0.0.0/8', serviceCIDRs: ['172.30.0.0/16'], nodePortIPs: ['192.168.0.2'], masqueradeMark: '0x4000' };

/** counts[i] endpoints for Service i (IPs shifted by shift[i] for new pods), sticky[i]: ClientIP. */
function state(counts: readonly number[], sticky: readonly boolean[], node: string, shift: readonly number[] = []) {
  const services = counts.map((_, i) => testService('ns', `svc${i}`, { clusterIP: `172.30.${i >> 8}.${i & 255}`, ports: [{ name: 'p80', port: 80, protocol: 'TCP' }], ...(sticky[i] ? { sessionAffinity: 'ClientIP' } : {}) }));
  const slices = counts.flatMap((n, i) => (n > 0 ? [testSlice('ns', `svc${i}`, Array.from({ length: n }, (_, e) => ({ ip: `10.180.${i}.${(shift[i] ?? 0) + e + 1}` })), [{ name: 'p80', port: 8080 }])] : []));
  return proxyStateFromObjects(services, slices, node);
}

const spec = fc.array(fc.record({ before: fc.integer({ min: 0, max: 5 }), after: fc.integer({ min: 0, max: 5 }), change: fc.boolean(), sticky: fc.boolean() }), { minLength: 1, maxLength: 6 });
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

test('iptables: restore lines and rules of Services that differ in affinity equal the model with affinityEndpoints', () => {
  fc.assert(
    fc.property(spec, (s) => {
      const model = iptablesModel({ costs: DEFAULT_COSTS, iptablesBackend: 'nft' });
      const sticky = s.map((x) => x.sticky);
      const before = s.map((x) => x.before);
      const after = s.map((x) => (x.change ? x.after : x.before));
      const affinityOf = (counts: number[]) => sum(counts.filter((_, i) => sticky[i]));
      const proxier = new IptablesProxier(FAKE_PROXIER_OPTIONS);
      const beforeState = state(before, sticky, FAKE_PROXIER_OPTIONS.nodeName);
      const full = proxier.sync({ state: beforeState, full: true });
      const work = { services: before.length, servicesWithoutEndpoints: before.filter((n) => n === 0).length, endpoints: sum(before), affinityEndpoints: affinityOf(before) };
      assert.equal(model.syncCost({ ...work, full: true, changed: [] }).units, full.restoreLines, 'full sync');
      // Kernel rules: what the sticky Services add over the same cluster without affinity.
      const rules = (st: ReturnType<typeof state>) => {
        let r = 0;
        for (const t of nodeRuleset(st, FAKE_PROXIER_OPTIONS).ruleset.tables.values()) for (const ch of t.chains.values()) r += ch.rules.length;
        return r;
      };
      const plain = state(before, [], FAKE_PROXIER_OPTIONS.nodeName);
      const objects = (a: number) => model.kernelObjects(work.services, work.endpoints, work.servicesWithoutEndpoints, undefined, a).rules;
      assert.equal(objects(work.affinityEndpoints) - objects(0), rules(beforeState) - rules(plain), 'kernel rules');
      const changedServices = new Set(s.flatMap((x, i) => (x.change ? [`ns/svc${i}`] : [])));
      const partial = proxier.sync({ state: state(after, sticky, FAKE_PROXIER_OPTIONS.nodeName), full: false, changedServices, existingNatChains: full.activeNatChains });
      const changed = s.flatMap((x, i) => (x.change ? [{ before: x.before, after: after[i]!, affinity: x.sticky }] : []));
      const units = model.syncCost({ full: false, services: after.length, servicesWithoutEndpoints: after.filter((n) => n === 0).length, endpoints: sum(after), affinityEndpoints: affinityOf(after), changed }).units;
      assert.equal(units, partial.restoreLines, 'partial sync');
    }),
    { numRuns: 60 },
  );
});

test('nftables: nft -f lines of Services that differ in affinity equal the model with affinityEndpoints', () => {
  fc.assert(
    fc.property(spec, (s) => {
      const model = nftablesModel({ costs: DEFAULT_COSTS, iptablesBackend: 'nft' });
      const sticky = s.map((x) => x.sticky);
      const before = s.map((x) => x.before);
      const after = s.map((x) => (x.change ? x.after : x.before));
      const proxier = new NftablesProxier(NFT_OPTIONS);
      const full = proxier.sync({ state: state(before, sticky, 'test-node'), full: true, nowNs: 0 });
      const affinityEndpoints = sum(before.filter((_, i) => sticky[i]));
      const units = model.syncCost({ full: true, services: before.length, servicesWithoutEndpoints: before.filter((n) => n === 0).length, endpoints: sum(before), affinityEndpoints, changed: [] }).units;
      assert.equal(units, full.lines, 'full sync');
      const changedServices = new Set(s.flatMap((x, i) => (x.change ? [`ns/svc${i}`] : [])));
      const partial = proxier.sync({ state: state(after, sticky, 'test-node'), full: false, changedServices, nowNs: 0.5e9 });
      const cleanup = proxier.sync({ state: state(after, sticky, 'test-node'), full: false, changedServices: new Set(), nowNs: 2e9 });
      const changed = s.flatMap((x, i) => (x.change ? [{ before: x.before, after: after[i]!, affinity: x.sticky }] : []));
      const partialUnits = model.syncCost({ full: false, services: after.length, servicesWithoutEndpoints: 0, endpoints: 0, changed }).units;
      assert.equal(partialUnits, partial.lines + cleanup.lines, 'partial sync and its cleanup');
    }),
    { numRuns: 60 },
  );
});
