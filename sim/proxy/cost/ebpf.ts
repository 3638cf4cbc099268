import { comparisonVerdict } from './external-path.ts';
import type { FirstPacketCost, FirstPacketInput, KernelObjects, ModeModel, ModeOptions, SyncCost, SyncWork } from './mode-model.ts';

/**
 * A comparison mode, not kube-proxy: a Cilium-like eBPF service load balancer (cilium/cilium
 * bpf/lib/lb.h, bpf/bpf_sock.c). Assumptions:
 * - socket-level load balancing: a pod's connect() to a ClusterIP is translated once, in the cgroup
 *   connect hook, by a service-map lookup and a backend-map lookup; later packets carry the backend
 *   address and pay nothing for the service (no NAT conntrack entry on the client's node);
 * - backend choice is random (Cilium's default; Maglev is optional);
 * - the agent updates BPF map elements per changed backend (one bpf() call each) after its own
 *   processing lag; there is no rule rewrite, so a sync's cost follows the changes, not the size;
 * - sessionAffinity ClientIP: Cilium's LB affinity map (bpf/lib/lb.h lb4_affinity_backend_id_by_netns /
 *   lb4_update_affinity_by_netns; keyed by the pod's network namespace for socket-level LB): one
 *   lookup before the backend choice and one update after it, on every new connection; an entry
 *   older than the Service's timeout, or whose backend is gone from the backend map, is not used.
 */
const LOOKUPS = 2;
/** Kernel memory per service map entry (~64 bytes) and backend entry (~48 bytes). */
const SERVICE_BYTES = 64;
const BACKEND_BYTES = 48;

export function ebpfModel({ costs }: ModeOptions): ModeModel {
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
      const lookups = LOOKUPS + (p.affinity && p.endpoints > 0 ? 2 : 0);
      return { rulesVisited: 0, lookups, costNs: lookups * costs.ebpfLookupNs, verdict: comparisonVerdict(p, 'reject') };
    },
    laterPacketNs: () => 0,
    kernelObjects(services: number, endpoints: number): KernelObjects {
      return { rules: 0, setElements: services + endpoints, ipvsServers: 0, memoryBytes: services * SERVICE_BYTES + endpoints * BACKEND_BYTES };
    },
  };
}
