import { comparisonVerdict } from './external-path.ts';
import type { FirstPacketCost, FirstPacketInput, KernelObjects, ModeModel, ModeOptions, PacketCostParts, SyncCost, SyncWork } from './mode-model.ts';

/**
 * A comparison mode, not kube-proxy: a Cilium-like eBPF service load balancer with kube-proxy
 * replacement (cilium/cilium bpf/bpf_sock.c, bpf/bpf_lxc.c, bpf/lib/lb.h, bpf/lib/conntrack.h).
 * Assumptions:
 * - socket-level load balancing: a pod's connect() to a ClusterIP is translated once, in the cgroup
 *   connect4 program (bpf_sock.c cil_sock4_connect -> __sock4_xlate_fwd), by three map lookups:
 *   the service's master entry (lb4_lookup_service), the chosen backend slot
 *   (__lb4_lookup_backend_slot) and the backend (__lb4_lookup_backend); packets then carry the
 *   backend's address, so no NAT entry is made on the client's node;
 * - every packet of the pod still runs Cilium's tc program on its veth (bpf_lxc.c cil_from_container
 *   -> handle_ipv4_from_lxc, and the policy tail call on the way in), which looks the packet up in
 *   Cilium's own CT map (conntrack.h ct_lookup4) and, on a new connection's first packet, inserts an
 *   entry (ct_create4): ebpfDatapathNs per packet, ebpfCtCreateNs for the first;
 * - the host's netfilter hooks stay in the path and nf_conntrack tracks the connection (no NAT):
 *   Cilium bypasses the host stack only with BPF host routing, which needs BPF masquerading
 *   (bpf.masquerade, off by default; Cilium's upgrade notes for 1.9, "eBPF host routing"), so a pod's
 *   forwarded packet crosses PREROUTING, FORWARD and POSTROUTING as under kube-proxy. The simulated
 *   conntrack table holds the NAT entries of kube-proxy's modes; this un-NATed entry is charged, not
 *   tabled;
 * - backend choice is random (Cilium's default; Maglev is optional);
 * - a Service without a usable backend fails the connect() in the program after the service lookup
 *   (no packet is sent);
 * - the agent updates BPF map elements per changed backend (one bpf() call each) after its own
 *   processing lag; there is no rule rewrite, so a sync's cost follows the changes, not the size;
 * - sessionAffinity ClientIP: Cilium's LB affinity map (bpf/lib/lb.h lb4_affinity_backend_id_by_netns /
 *   lb4_update_affinity_by_netns; keyed by the pod's network namespace for socket-level LB): one
 *   lookup before the backend choice and one update after it, on every new connection; an entry
 *   older than the Service's timeout, or whose backend is gone from the backend map, is not used.
 * - entries other than a pod's ClusterIP (node ports, LB IPs from outside) are charged the same
 *   lookups, done by the tc program on the node's device (bpf_host.c) instead of at connect().
 */
export const EBPF_CONNECT_LOOKUPS = 3;
/** Affinity: the affinity map's lookup and its update. */
const AFFINITY_LOOKUPS = 2;
/** The host's netfilter hooks a pod's forwarded packet crosses under legacy host routing. */
const HOOKS = 3;
/** Kernel memory per service map entry (~64 bytes) and backend entry (~48 bytes). */
const SERVICE_BYTES = 64;
const BACKEND_BYTES = 48;

export function ebpfModel({ costs }: ModeOptions): ModeModel {
  const laterParts: PacketCostParts = { hooksNs: HOOKS * costs.hookNs, conntrackNs: costs.conntrackLookupNs + costs.ebpfDatapathNs, modeNs: 0 };
  const laterNs = HOOKS * costs.hookNs + costs.conntrackLookupNs + costs.ebpfDatapathNs;
  return {
    mode: 'ebpf',
    selection: 'random',
    natInConntrack: false,
    activationLagNs: costs.ebpfAgentLagNs,
    affinityStore: 'timeout',
    // Cilium: a Service without a backend usable from this node answers per
    // --service-no-backend-response, default reject (ICMP).
    noLocalEndpoints: 'reject',
    syncCost(w: SyncWork): SyncCost {
      let updates = 0;
      if (w.full) updates = w.services + w.endpoints;
      else for (const c of w.changed) updates += Math.max(c.before, c.after) + 1;
      return { durationNs: updates * costs.ebpfMapUpdateNs, units: updates };
    },
    firstPacket(p: FirstPacketInput): FirstPacketCost {
      const verdict = comparisonVerdict(p, 'reject');
      if (p.endpoints === 0) {
        // The master entry has no backend: connect() fails, nothing reaches the datapath.
        const parts = { hooksNs: 0, conntrackNs: 0, modeNs: costs.ebpfLookupNs };
        return { rulesVisited: 0, lookups: 1, costNs: costs.ebpfLookupNs, parts, verdict };
      }
      const lookups = EBPF_CONNECT_LOOKUPS + (p.affinity ? AFFINITY_LOOKUPS : 0);
      const parts = { hooksNs: HOOKS * costs.hookNs, conntrackNs: costs.conntrackInsertNs + costs.ebpfCtCreateNs, modeNs: lookups * costs.ebpfLookupNs };
      const costNs = HOOKS * costs.hookNs + costs.conntrackInsertNs + costs.ebpfCtCreateNs + lookups * costs.ebpfLookupNs;
      return { rulesVisited: 0, lookups, costNs, parts, verdict };
    },
    laterPacketNs: () => laterNs,
    laterPacketParts: () => ({ ...laterParts }),
    kernelObjects(services: number, endpoints: number): KernelObjects {
      return { rules: 0, setElements: services + endpoints, ipvsServers: 0, memoryBytes: services * SERVICE_BYTES + endpoints * BACKEND_BYTES };
    },
  };
}
