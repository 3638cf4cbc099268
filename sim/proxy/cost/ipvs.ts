import { ipvsPathCost } from './ipvs-path.ts';
import type { ExternalSyncCounts, IpvsSetCounts, FirstPacketCost, FirstPacketInput, KernelObjects, ModeModel, ModeOptions, SyncCost, SyncWork } from './mode-model.ts';

/**
 * ipvs mode as kube-proxy (pkg/proxy/ipvs/proxier.go) programs it: ClusterIPs bound to the kube-ipvs0
 * dummy interface, one IPVS virtual server per ClusterIP:port with the endpoints as real servers
 * (scheduler rr by default), and a fixed set of iptables rules that match ipsets.
 *
 * First packet, on every entry (ClusterIP, node port, LB IP, external IP): ipvs-path.ts walks the
 * proxier's fixed rules and ipsets in nat PREROUTING and filter INPUT, IPVS at LOCAL_IN (virtual
 * server lookup, persistence template, scheduler), then filter FORWARD and nat POSTROUTING; it is
 * checked against a walk of the rules `render` writes (ipvs-path.test.ts).
 *
 * Sync: the ipvs proxier has no partial sync. Every sync lists the virtual servers and, per virtual
 * server, its real servers over netlink, then adds or deletes what differs; it also restores its
 * small fixed iptables rule set and the ipsets.
 *
 * sessionAffinity ClientIP: kube-proxy makes the virtual server persistent (`-p T`, flag
 * IP_VS_SVC_F_PERSISTENT with timeout T: pkg/proxy/ipvs/proxier.go syncService). The kernel's
 * ip_vs_sched_persist (net/netfilter/ipvs/ip_vs_core.c) first looks up a persistence template for
 * (client IP, VIP, port): if one exists and its real server is still there, the connection goes to
 * it without calling the scheduler (so rr does not advance); otherwise the scheduler picks and a new
 * template is created. Each new connection re-arms the template's timer to T (ip_vs_conn_put);
 * templates of deleted real servers are dropped (ip_vs_check_template), and kube-proxy sets
 * expire_quiescent_template so weight-0 ones go too. Templates held alive by still-open connections
 * are not modelled (connections here are short against T). Cost: one template lookup more, and no
 * scheduler on a hit.
 */
const HOOKS = 4; // PREROUTING, INPUT (IPVS LOCAL_IN), then out through POSTROUTING... and OUTPUT of the DNATed packet
const FIXED_RESTORE_LINES = 40;
/**
 * Per ClusterIP service port the proxier binds the address to kube-ipvs0 and puts it in two ipsets,
 * KUBE-CLUSTER-IP (ip,port) and KUBE-IPVS-IPS (ip) (pkg/proxy/ipvs/proxier.go syncProxyRules). The
 * address and the KUBE-IPVS-IPS entry are per ClusterIP, counted here per service port: exact with one
 * port per Service, an overcount with several. KUBE-LOOP-BACK entries (hairpin to local endpoints)
 * are not counted.
 */
const IPSET_ENTRIES_PER_PORT = 2;
/** Kernel memory: ip_vs_service ~ 300 bytes, ip_vs_dest ~ 250 bytes, ipset element ~ 64 bytes. */
const VS_BYTES = 300;
const RS_BYTES = 250;
const SET_BYTES = 64;

/**
 * What external Services add to the ipvs kernel objects (pkg/proxy/ipvs/proxier.go syncService,
 * syncEndpoint, syncProxyRules' ipset entries): virtual servers on every node address per node port
 * and on each LB IP and external IP, their real servers; LB and external IPs bound to kube-ipvs0
 * (and in KUBE-IPVS-IPS); the entries of KUBE-NODE-PORT-TCP(-LOCAL), KUBE-LOAD-BALANCER(-LOCAL, -FW,
 * -SOURCE-CIDR), KUBE-EXTERNAL-IP(-LOCAL), KUBE-HEALTH-CHECK-NODE-PORT and KUBE-LOOP-BACK.
 */
export function ipvsExternalObjects(s: IpvsSetCounts | undefined): { virtual: number; real: number; servers: number; bound: number; setEntries: number } {
  if (!s) return { virtual: 0, real: 0, servers: 0, bound: 0, setEntries: 0 };
  const virtual = s.nodePorts * (s.nodeAddresses ?? 1) + s.loadBalancerIPs + s.externalIPs + s.localExternalIPs;
  const real = s.externalRealServers ?? 0;
  const servers = virtual + real;
  const bound = s.loadBalancerIPs + s.externalIPs + s.localExternalIPs;
  const setEntries =
    s.nodePorts + s.localNodePorts + s.loadBalancerIPs + s.localLoadBalancerIPs + s.firewalledIPs + (s.sourceRanges ?? 0) + s.externalIPs + s.localExternalIPs +
    (s.healthCheckNodePorts ?? 0) + (s.loopbackEntries ?? 0) + bound;
  return { virtual, real, servers, bound, setEntries };
}

export function ipvsModel({ costs, iptablesBackend: b }: ModeOptions): ModeModel {
  return {
    mode: 'ipvs',
    selection: 'round-robin',
    natInConntrack: true,
    activationLagNs: 0,
    affinityStore: 'timeout',
    // The virtual server stays with no real server (the proxier's Local list is empty); IPVS finds no
    // destination and ip_vs_leave answers ICMP port unreachable (net/netfilter/ipvs/ip_vs_core.c).
    noLocalEndpoints: 'reject',
    syncCost(w: SyncWork): SyncCost {
      let objects = 0;
      // A full sync is charged as the start-up one into an empty kernel: every virtual server, its
      // address on kube-ipvs0, its ipset entries, and every real server (checked against IpvsProxier
      // by the property in ipvs.test.ts).
      const ext = ipvsExternalObjects(w.external?.ipvs);
      if (w.full) objects += w.services * (2 + IPSET_ENTRIES_PER_PORT) + w.endpoints + ext.servers + ext.bound + ext.setEntries;
      else
        for (const c of w.changed) {
          // Real servers gone are deleted, new ones added (a replaced endpoint is both); the virtual
          // server stays (syncEndpoint in pkg/proxy/ipvs/proxier.go).
          const kept = c.kept ?? Math.min(c.before, c.after);
          objects += c.before - kept + (c.after - kept);
        }
      const durationNs =
        costs.restoreBaseNs[b] +
        FIXED_RESTORE_LINES * costs.restoreNsPerLine[b] +
        // Every sync, partial or not, reads what the kernel holds: syncIPSetEntries lists each set's
        // entries (`ipset list`, pkg/proxy/ipvs/ipset.go) before restoring only the differences, and
        // syncService / syncEndpoint get each virtual server and its real servers over netlink
        // (pkg/proxy/ipvs/proxier.go). The ipvs proxier has no partial sync; only the writes shrink.
        (IPSET_ENTRIES_PER_PORT * w.services + ext.setEntries) * costs.ipsetNsPerElement +
        // GetVirtualServers once, then GetRealServers per virtual server: every VS and RS is listed.
        (w.services + w.endpoints + ext.servers) * costs.ipvsListNsPerObject +
        objects * costs.ipvsNetlinkNsPerObject;
      return { durationNs, units: objects };
    },
    // The walk of the rules and sets the ipvs proxier writes, checked against them (ipvs-path.test.ts).
    firstPacket: (p: FirstPacketInput): FirstPacketCost => ipvsPathCost(costs, b, p),
    laterPacketNs: () => HOOKS * costs.hookNs + costs.conntrackLookupNs,
    // IPVS finds the connection in its own table (ip_vs_conn_in_get) as conntrack finds its entry; charged within conntrackLookupNs.
    laterPacketParts: () => ({ hooksNs: HOOKS * costs.hookNs, conntrackNs: costs.conntrackLookupNs, modeNs: 0 }),
    kernelObjects(services: number, endpoints: number, _without = 0, external?: ExternalSyncCounts): KernelObjects {
      const ext = ipvsExternalObjects(external?.ipvs);
      const setElements = IPSET_ENTRIES_PER_PORT * services + ext.setEntries;
      const ipvsServers = services + endpoints + ext.servers;
      const memoryBytes = services * (VS_BYTES + SET_BYTES) + endpoints * RS_BYTES + ext.virtual * VS_BYTES + ext.real * RS_BYTES + ext.setEntries * SET_BYTES;
      return { rules: 30, setElements, ipvsServers, memoryBytes };
    },
  };
}
