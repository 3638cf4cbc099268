import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_COSTS } from '../../cost/cost-model.ts';
import { proxyStateFromObjects } from '../from-api.ts';
import { testService, testSlice } from '../testing/golden-fixtures.ts';
import { IpvsProxier } from '../ipvs/proxier.ts';
import { endpointChange } from '../sync/proxy-agent.ts';
import { ipvsModel } from './ipvs.ts';

/**
 * As iptables.test.ts and nftables.test.ts do for their modes: the ipvs mode model that
 * runs charge (sync objects, what every sync lists, kernel objects) must count what kube-proxy's ipvs
 * proxier (sim/proxy/ipvs/proxier.ts, golden-tested against pkg/proxy/ipvs) does for the same
 * cluster and the same changes, over random clusters and random endpoint changes.
 */
const OPTIONS = { nodeName: 'test-node', nodeIPs: ['192.168.0.2'], randomFully: false };

/** Endpoint IPs of service i: 10.180.i.(first+1) upward, so shifting `first` replaces endpoints. */
function ips(n: number, first: number, i: number): string[] {
  return Array.from({ length: n }, (_, e) => `10.180.${i}.${first + e + 1}`);
}

function state(lists: readonly string[][], protocol: 'TCP' | 'UDP') {
  const services = lists.map((_, i) => testService('ns', `svc${i}`, { clusterIP: `172.30.${i >> 8}.${i & 255}`, ports: [{ name: 'p80', port: 80, protocol }] }));
  const slices = lists.flatMap((l, i) => (l.length > 0 ? [testSlice('ns', `svc${i}`, l.map((ip) => ({ ip })), [{ name: 'p80', port: 8080, protocol }])] : []));
  return proxyStateFromObjects(services, slices, 'test-node');
}

const work = (lists: readonly string[][], full: boolean, changed: { before: number; after: number; kept: number }[] = []) => ({
  full,
  services: lists.length,
  servicesWithoutEndpoints: lists.filter((l) => l.length === 0).length,
  endpoints: lists.reduce((s, l) => s + l.length, 0),
  changed,
});

test('ipvs mode model against the ipvs proxier: objects written by the start-up sync and by each later sync, what every sync lists, kernel objects', () => {
  const model = ipvsModel({ costs: DEFAULT_COSTS, iptablesBackend: 'legacy' });
  fc.assert(
    fc.property(
      fc.constantFrom('TCP' as const, 'UDP' as const),
      // Per service: endpoints before, and per round of changes endpoints after and how many replaced.
      fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 }), fc.boolean()), { minLength: 8, maxLength: 8 }), { minLength: 1, maxLength: 3 }),
      (protocol, initial, rounds) => {
        const proxier = new IpvsProxier(OPTIONS);
        let lists = initial.map((n, i) => ips(n, 0, i));
        let first = initial.map(() => 0);
        // Start-up: from an empty kernel.
        const startup = proxier.sync(state(lists, protocol));
        assert.equal(model.syncCost(work(lists, true)).units, startup.objectsChanged, 'start-up sync');
        for (const round of rounds) {
          const next = lists.map((l, i) => {
            const [n, shift, change] = round[i]!;
            if (!change) return l;
            // `shift` endpoints of the old list replaced by new addresses (a pod deleted, another created).
            first[i] = first[i]! + Math.min(shift, l.length);
            return ips(n, first[i]!, i);
          });
          const changed = next.flatMap((l, i) => (l === lists[i] ? [] : [endpointChange(lists[i]!.map((ip) => ({ endpoint: ip })), l.map((ip) => ({ endpoint: ip })))]));
          const result = proxier.sync(state(next, protocol));
          // No connections in the IPVS table: graceful termination deletes a TCP real server at once,
          // as it does a UDP one, so the sync's requests are the real servers added and deleted.
          assert.equal(result.gracefulPending, 0);
          assert.equal(model.syncCost(work(next, false, changed)).units, result.objectsChanged, `partial sync ${JSON.stringify(changed)}`);
          // Every sync, partial or not, looks up each virtual server and lists its real servers.
          assert.equal(result.virtualServersListed, next.length);
          lists = next;
        }
        let vs = 0;
        let rs = 0;
        for (const { vs: v } of proxier.table.entries()) {
          vs++;
          rs += v.dests.length;
        }
        const w = work(lists, false);
        const objects = model.kernelObjects(w.services, w.endpoints, w.servicesWithoutEndpoints);
        assert.equal(objects.ipvsServers, vs + rs, 'virtual and real servers');
        const sets = proxier.ipsets;
        const entries = ['KUBE-CLUSTER-IP', 'KUBE-IPVS-IPS'].reduce((s, name) => s + (sets.get(name)?.size ?? 0), 0);
        assert.equal(objects.setElements, entries, 'ipset entries');
      },
    ),
    { numRuns: 60 },
  );
});
