import type { ExternalSyncCounts, FirstPacketCost, FirstPacketInput, KernelObjects, ModeModel, ModeOptions, SyncCost, SyncWork } from './mode-model.ts';
import { nftablesKernelBytes } from './kernel-memory.ts';
import { clusterIPVerdict, isClusterIPDefault } from './external-path.ts';
import { nftablesPathCost } from './nftables-external.ts';

/**
 * nftables mode as kube-proxy (pkg/proxy/nftables/proxier.go) programs it: one table `ip kube-proxy`
 * where service dispatch is a verdict-map lookup (`ip daddr . meta l4proto . th dport vmap
 * @service-ips`) and endpoint choice is `numgen random mod N vmap { ... }`, so the first packet's
 * cost does not depend on the number of services.
 *
 * The first packet of a pod-to-ClusterIP connection runs four base chains (each its own hook
 * registration): filter-prerouting-pre-dnat and nat-prerouting at prerouting (`jump services`, the
 * service-ips vmap, the service chain's masquerade check and numgen vmap, the endpoint chain's
 * masquerade check and dnat), filter-forward (service-endpoints-check's no-endpoint-services vmap,
 * cluster-ips-check) and nat-postrouting (masquerading: mark test, return): 15 rules and 6 set/map
 * lookups whatever the number of services. A Service without endpoints stops at filter-forward's
 * reject: 3 base chains, 8 rules, 4 lookups. Counted against the nft model walking the nftables
 * proxier's own table (nftables.test.ts).
 *
 * The transaction (`nft -f`) of a full sync: setupNFTables's base chains, maps, sets and their
 * flushes (87 lines), then per service port with n endpoints add + flush of the service chain and its
 * 2 rules, its service-ips and cluster-ips elements, and per endpoint add + flush of its chain and 2
 * rules: 6 + 4n lines; a port without endpoints is a cluster-ips and a no-endpoint-services element.
 * A partial sync sends no setup (kube-proxy skips setupNFTables when tryPartialSync): per changed
 * port, its chains and rules again (4 + 4n), the map elements only when the port gains its first or
 * loses its last endpoint, a flush of each chain that went stale now and its delete in the cleanup
 * transaction of the first sync a second later (counted here, with the change that caused it).
 * Counted line for line against the nftables proxier's transactions (nftables.test.ts).
 *
 * sessionAffinity ClientIP (pkg/proxy/nftables/proxier.go): an `affinity-HASH-…` set (flags dynamic,
 * timeout; timeout T) per endpoint, re-added every sync; the service chain starts, after the
 * masquerade check, with one `ip saddr @affinity-… goto endpoint-…` rule per endpoint, in endpoint
 * order, before the numgen vmap; each endpoint chain gains `update @affinity-… { ip saddr }`. A
 * first packet looks its source up in the sets in order until one holds it (then skips numgen) or
 * through all n, then numgen; the endpoint chain runs one more rule (the update, which the nft model
 * does not charge as a lookup). Lines per port: 5 + 7n (a set, a lookup rule and an update rule more
 * per endpoint).
 */
/**
 * What external Services add to a full transaction and to the table (pkg/proxy/nftables/proxier.go
 * syncProxyRules): per external- chain its add and flush and its rules (Cluster: the masquerade
 * jump and the goto service-; Local: the pod, and two `fib saddr type local` rules, and the goto
 * local- when there are local endpoints); per local- chain its add, flush and numgen rule (with
 * affinity a lookup rule per local endpoint); per firewall- chain its add, flush and drop rule, and a
 * firewall-ips element per LB IP (whatever the endpoints); elements of service-nodeports (node
 * ports), service-ips (LB IPs, external IPs), no-endpoint-services and no-endpoint-nodeports
 * (refused destinations). `chains` counts the chains, `rules` their rules, `elements` the map
 * elements and the local- numgen vmaps' entries.
 */
export function nftablesExternalObjects(e: ExternalSyncCounts | undefined, affinity = false): { chains: number; rules: number; elements: number } {
  if (!e) return { chains: 0, rules: 0, elements: 0 };
  const firewalled = e.firewalledPorts + (e.firewalledWithoutEndpoints ?? 0);
  const withLocal = e.localPolicyPortsWithLocalEndpoints;
  const rules =
    2 * (e.externalPorts - e.localPolicyPorts) + 3 * e.localPolicyPorts + withLocal + withLocal + (affinity ? e.localPolicyEndpoints : 0) + firewalled;
  const elements = e.nodePorts + e.loadBalancerIPs + e.externalIPs + e.refusedAddresses + e.refusedNodePorts + e.firewalledIPs + (e.firewalledWithoutEndpoints ?? 0);
  return { chains: e.externalPorts + withLocal + firewalled, rules, elements: elements + e.localPolicyEndpoints };
}

/** setupNFTables on a full sync: base chains, maps, sets, the fixed rules and the flushes. */
const BASE_LINES = 87;
const RULES = 15;
const LOOKUPS = 6;
const BASE_CHAINS = 4;
const NO_ENDPOINT = { rules: 8, lookups: 4, baseChains: 3 };
/** internalTrafficPolicy Local, no endpoint on this node: the map's `drop` verdict ends the walk a rule earlier (no reject chain). */
const NO_LOCAL_ENDPOINT = { rules: 7, lookups: 4, baseChains: 3 };
/** setupNFTables's 16 chains (base chains and fixed regular ones) and its 7 sets and maps. */
const FIXED_CHAINS_AND_SETS = 16 + 7;

function tableContents(services: number, endpoints: number, without: number, sessionAffinity: boolean, affinityEndpoints = 0) {
  return {
    // A port without endpoints has no service chain, only a no-endpoint-services element. Affinity:
    // two rules more per endpoint (every Service's, or the `affinityEndpoints` of those that have it).
    rules: 2 * (services - without) + (sessionAffinity ? 4 : 2) * endpoints + (sessionAffinity ? 0 : 2 * affinityEndpoints) + 30,
    // service-ips, cluster-ips, numgen vmap entries (affinity sets fill with clients as they come; not counted)
    setElements: 2 * services + endpoints,
  };
}

/**
 * The objects of kube-proxy's table that nft -f's costs count (CostModel.nftNsPerLinePerObject,
 * nftNsPerTableObject): rules, set and map elements (the numgen vmaps' entries among them), chains
 * (one per port with endpoints, one per endpoint, and setupNFTables's), sets and maps.
 */
export function nftablesTableObjects(services: number, endpoints: number, without = 0, sessionAffinity = false, affinityEndpoints = 0): number {
  const t = tableContents(services, endpoints, without, sessionAffinity, affinityEndpoints);
  return t.rules + t.setElements + (services - without) + endpoints + FIXED_CHAINS_AND_SETS;
}

export function nftablesModel({ costs, sessionAffinity = false }: ModeOptions): ModeModel {
  /** Transaction lines per endpoint: add + flush of its chain, its rules, with affinity its set and lookup rule. */
  const perEndpoint = sessionAffinity ? 7 : 4;
  /** Per endpoint that went away: a flush of its chain now (and, with affinity, a delete of its set), the chain's delete later. */
  const perStaleEndpoint = sessionAffinity ? 3 : 2;
  return {
    mode: 'nftables',
    selection: 'random',
    natInConntrack: true,
    activationLagNs: 0,
    affinityStore: 'timeout',
    // pkg/proxy/nftables/proxier.go: internal Local without local endpoints -> a `drop` verdict in
    // the no-endpoint-services map.
    noLocalEndpoints: 'drop',
    syncCost(w: SyncWork): SyncCost {
      let lines = 0;
      const ext = nftablesExternalObjects(w.external, sessionAffinity);
      if (w.full) {
        lines = BASE_LINES + 6 * (w.services - w.servicesWithoutEndpoints) + 2 * w.servicesWithoutEndpoints + perEndpoint * w.endpoints + (sessionAffinity ? 0 : 3 * (w.affinityEndpoints ?? 0));
        // Each chain an add and a flush line, each rule and map element a line (the numgen entries are part of their rule).
        lines += 2 * ext.chains + ext.rules + ext.elements - (w.external?.localPolicyEndpoints ?? 0);
      }
      // A partial sync writes the changed ports' chains and elements; which of them are external
      // SyncWork.changed does not say, so their external- / local- / firewall- parts are not counted.
      else
        for (const { before, after, affinity } of w.changed) {
          // A port with affinity in a run where not every port has it: its endpoints' extra lines.
          const more = affinity && !sessionAffinity ? 1 : 0;
          if (after > 0) lines += 4 + (perEndpoint + 3 * more) * after + (before === 0 ? 2 : 0) + (perStaleEndpoint + more) * Math.max(0, before - after);
          // The last endpoint gone: the no-endpoint-services element in, the service-ips element out,
          // the service chain and every endpoint chain stale.
          else if (before > 0) lines += 3 + (perStaleEndpoint + more) * before + 1;
        }
      // The table's objects after the sync (the change a partial sync makes is small beside it);
      // at start-up the table is empty when the transaction begins.
      const objects = nftablesTableObjects(w.services, w.endpoints, w.servicesWithoutEndpoints, sessionAffinity, w.affinityEndpoints) + ext.chains + ext.rules + ext.elements;
      const durationNs =
        costs.nftTransactionBaseNs +
        lines * (costs.nftNsPerLine + objects * costs.nftNsPerLinePerObject) +
        (w.startup ? 0 : costs.nftTableFetchNs + objects * costs.nftNsPerTableObject);
      return { durationNs, units: lines };
    },
    firstPacket(p: FirstPacketInput): FirstPacketCost {
      // Every path but a pod's to a ClusterIP: nftables-external.ts. (The node's external Services
      // add map elements only, which a lookup does not walk: a pod's ClusterIP packet costs the same.)
      if (!isClusterIPDefault({ ...p, node: undefined })) return nftablesPathCost(costs, p);
      const a = p.endpoints === 0 ? undefined : p.affinity;
      // Affinity: the set lookups walked; a hit skips the numgen vmap (a rule and a lookup); the update rule.
      const skip = a?.hit ? 1 : 0;
      const w =
        p.endpoints === 0
          ? p.noLocalEndpoints
            ? NO_LOCAL_ENDPOINT
            : NO_ENDPOINT
          : a
            ? { rules: RULES + a.checked - skip + 1, lookups: LOOKUPS + a.checked - skip, baseChains: BASE_CHAINS }
            : { rules: RULES, lookups: LOOKUPS, baseChains: BASE_CHAINS };
      const costNs = w.baseChains * costs.hookNs + w.rules * costs.nftRuleNs + w.lookups * costs.nftLookupNs + costs.conntrackInsertNs;
      const parts = { hooksNs: w.baseChains * costs.hookNs, conntrackNs: costs.conntrackInsertNs, modeNs: w.rules * costs.nftRuleNs + w.lookups * costs.nftLookupNs };
      return { rulesVisited: w.rules, lookups: w.lookups, costNs, parts, verdict: clusterIPVerdict(p) };
    },
    // Later packets skip nat but still enter the filter base chains and postrouting's hook.
    laterPacketNs: () => 3 * costs.hookNs + costs.conntrackLookupNs,
    laterPacketParts: () => ({ hooksNs: 3 * costs.hookNs, conntrackNs: costs.conntrackLookupNs, modeNs: 0 }),
    kernelObjects(services: number, endpoints: number, without = 0, external?: ExternalSyncCounts, affinityEndpoints = 0): KernelObjects {
      const t = tableContents(services, endpoints, without, sessionAffinity, affinityEndpoints);
      const ext = nftablesExternalObjects(external, sessionAffinity);
      const rules = t.rules + ext.rules;
      const setElements = t.setElements + ext.elements;
      return { rules, setElements, ipvsServers: 0, memoryBytes: nftablesKernelBytes({ ports: services - without, without, endpoints, affinity: sessionAffinity, affinityEndpoints }) };
    },
  };
}
