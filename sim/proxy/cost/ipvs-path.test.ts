/**
 * The ipvs mode model's first packet (ipvs-path.ts) against the kernel models walking what the ipvs
 * proxier programs for a random cluster of ClusterIP, NodePort and LoadBalancer Services: the
 * netfilter model on its iptables rules and ipsets, then the IPVS table and scheduler
 * (sim/proxy/ipvs/testing/first-packet-walk.ts). Rules visited per hook, set and IPVS lookups,
 * cost and verdict (masquerade, drop, reject, and which real servers) of a first packet from a pod
 * or an external client to a ClusterIP, a node port or a load-balancer IP. This is the first check
 * of the ipvs ClusterIP path too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_COSTS, ruleWalkNs } from '../../cost/cost-model.ts';
import { IpvsProxier } from '../ipvs/proxier.ts';
import { IpvsNodeWalker, type IpvsWalk } from '../ipvs/testing/first-packet-walk.ts';
import { ipvsPathCost } from './ipvs-path.ts';
import { NO_EXTERNAL_SYNC } from './iptables-external.ts';
import { ipvsModel } from './ipvs.ts';
import type { EntryPoint, FirstPacketInput, IpvsSetCounts, PacketSource } from './mode-model.ts';
import { buildCluster, destination, endpointLists, entries, NODE, NODE_IP, serviceShape, sourceAddress, sourceRangeWalk, type ServiceShape } from './testing/external-cluster.ts';

const OPTIONS = { nodeName: NODE, nodeIP: NODE_IP, nodeIPs: [NODE_IP], clusterCIDR: '10.0.0.0/8' };
const SOURCES: readonly { source: PacketSource; client: number }[] = [
  { source: 'pod', client: 0 },
  { source: 'external', client: 0 },
  { source: 'external', client: 1 },
  { source: 'external', client: 2 },
];

/** What a run would count of the ipvs sets for these Services on this node. */
function setCounts(shapes: readonly ServiceShape[]): IpvsSetCounts {
  const count = (f: (s: ServiceShape) => boolean) => shapes.filter(f).length;
  const external = (s: ServiceShape) => s.kind !== 'ClusterIP' || s.externalIP;
  return {
    nodePorts: count((s) => s.kind !== 'ClusterIP'),
    localNodePorts: count((s) => s.kind !== 'ClusterIP' && s.local),
    loadBalancerIPs: count((s) => s.kind === 'LoadBalancer'),
    localLoadBalancerIPs: count((s) => s.kind === 'LoadBalancer' && s.local),
    firewalledIPs: count((s) => s.kind === 'LoadBalancer' && s.ranges > 0),
    externalIPs: count((s) => s.externalIP && !(external(s) && s.local)),
    localExternalIPs: count((s) => s.externalIP && external(s) && s.local),
    localEndpointsOnNode: shapes.some((s) => s.endpoints.some((e) => e.here)),
  };
}

/** The walk's cost priced as the ipvs model prices it: per hook its entry and rule walk; lookups; the scheduler; the conntrack insert. */
function walkCost(w: IpvsWalk): number {
  const c = DEFAULT_COSTS;
  let ns = c.conntrackInsertNs + w.lookups * c.nftLookupNs + (w.ipvs ? c.ipvsScheduleNs : 0);
  for (const h of w.hooks) ns += c.hookNs + ruleWalkNs(c, 'legacy', h.rules);
  return ns;
}

test('first packets of the ipvs mode model (ClusterIP, node port, load-balancer IP) equal a walk of its rules, ipsets and IPVS table', () => {
  fc.assert(
    fc.property(fc.array(serviceShape, { minLength: 1, maxLength: 8 }), fc.boolean(), (shapes: ServiceShape[], masqueradeAll) => {
      const { state } = buildCluster(shapes);
      const proxier = new IpvsProxier({ ...OPTIONS, masqueradeAll });
      const sync = proxier.sync(state);
      const walker = new IpvsNodeWalker(proxier, sync, [NODE_IP], DEFAULT_COSTS);
      const sets = setCounts(shapes);
      shapes.forEach((s, i) =>
        entries(s)
          .filter((e) => e !== 'externalIP')
          .forEach((entry) => SOURCES.forEach(({ source, client }) => check(s, i, entry, source, client))),
      );
      function check(s: ServiceShape, i: number, entry: EntryPoint, source: PacketSource, client: number): void {
        const src = sourceAddress(source, client);
        const { dst, dport } = destination(i, entry);
        const w = walker.walk(src, dst, dport, i);
        const lists = endpointLists(state, i);
        const local = s.local && entry !== 'clusterIP';
        const list = local && lists.local.length > 0 ? lists.local : lists.cluster;
        const input: FirstPacketInput = {
          services: shapes.length,
          servicesWithoutEndpoints: 0,
          position: 0,
          endpoints: lists.cluster.length,
          chosen: Math.max(0, list.findIndex((e) => e.ip === w.realServer)),
          entry,
          source,
          externalTrafficPolicy: s.local ? 'Local' : 'Cluster',
          localEndpoints: lists.local.length,
          masqueradeAll,
          node: { nodePorts: 0, loadBalancerIPs: 0, externalIPs: 0, firewalledIPs: 0, refusedAddresses: 0, refusedNodePorts: 0, healthCheckNodePorts: 0, ipvs: sets },
          ...(entry === 'loadBalancer' && sourceRangeWalk(s, src) ? { sourceRange: sourceRangeWalk(s, src)! } : {}),
        };
        const m = ipvsPathCost(DEFAULT_COSTS, 'legacy', input);
        const what = `${entry} from ${source} (${src}) to ${JSON.stringify(s)}`;
        if (m.verdict.kind === 'dnat') {
          assert.equal(w.verdict, 'ACCEPT', `${what}: accepted`);
          assert.ok(list.some((e) => e.ip === w.realServer), `${what}: real server from the ${list === lists.local ? 'Local' : 'Cluster'} list`);
          assert.equal(w.masquerade, m.verdict.masquerade, `${what}: masquerade`);
          // No SNAT towards a remote endpoint: an outside client's reply does not come back here.
          const remote = !lists.local.some((e) => e.ip === w.realServer);
          assert.equal(m.verdict.replyLost, source === 'external' && !w.masquerade && remote, `${what}: reply lost`);
        } else {
          assert.equal(w.verdict, m.verdict.kind === 'drop' ? 'DROP' : 'REJECT', `${what}: verdict`);
        }
        assert.equal(m.rulesVisited, w.rulesVisited, `${what}: rules visited ${JSON.stringify(w.hooks)}`);
        assert.equal(m.lookups, w.lookups, `${what}: lookups`);
        assert.ok(Math.abs(m.costNs - walkCost(w)) < 1e-6, `${what}: cost ${m.costNs} vs ${walkCost(w)}`);
      }
    }),
    { numRuns: 120 },
  );
});

test('external Services: objects of the start-up sync and kernel objects (virtual and real servers, ipset entries) equal what the ipvs proxier programs', () => {
  const ready = serviceShape.map((s) => ({ ...s, endpoints: s.endpoints.map((e) => ({ ...e, terminating: false })) }));
  fc.assert(
    fc.property(fc.array(ready, { minLength: 1, maxLength: 8 }), (shapes) => {
      const { state } = buildCluster(shapes);
      const proxier = new IpvsProxier(OPTIONS);
      const startup = proxier.sync(state);
      let endpoints = 0;
      let realServers = 0;
      let loopback = 0;
      shapes.forEach((s, i) => {
        const l = endpointLists(state, i);
        endpoints += l.cluster.length;
        loopback += s.endpoints.filter((e) => e.here).length;
        const list = s.local && (s.kind !== 'ClusterIP' || s.externalIP) && l.local.length > 0 ? l.local : l.cluster;
        const addresses = (s.kind !== 'ClusterIP' ? 1 : 0) + (s.kind === 'LoadBalancer' ? 1 : 0) + (s.externalIP ? 1 : 0);
        realServers += addresses * list.length;
      });
      const sets: IpvsSetCounts = {
        ...setCounts(shapes),
        loopbackEntries: loopback,
        externalRealServers: realServers,
        nodeAddresses: 1,
        sourceRanges: shapes.reduce((n, s) => n + (s.kind === 'LoadBalancer' ? s.ranges : 0), 0),
        healthCheckNodePorts: shapes.filter((s) => s.kind === 'LoadBalancer' && s.local).length,
      };
      const external = { ...NO_EXTERNAL_SYNC, ipvs: sets };
      const model = ipvsModel({ costs: DEFAULT_COSTS, iptablesBackend: 'legacy' });
      const work = { full: true, services: shapes.length, servicesWithoutEndpoints: 0, endpoints, changed: [], external };
      assert.equal(model.syncCost(work).units, startup.objectsChanged, 'start-up sync');
      let vs = 0;
      let rs = 0;
      for (const { vs: v } of proxier.table.entries()) {
        vs++;
        rs += v.dests.length;
      }
      const objects = model.kernelObjects(shapes.length, endpoints, 0, external);
      assert.equal(objects.ipvsServers, vs + rs, 'virtual and real servers');
      let entries = 0;
      for (const set of proxier.ipsets.values()) entries += set.size;
      assert.equal(objects.setElements, entries, 'ipset entries');
    }),
    { numRuns: 100 },
  );
});

