import type { ConntrackTable } from '../conntrack/table.ts';

/**
 * kube-proxy's UDP conntrack reconciliation after a sync (kubernetes/kubernetes v1.33+
 * pkg/proxy/conntrack/cleanup.go CleanStaleEntries, called at the end of syncProxyRules by the
 * iptables, nftables and ipvs proxiers). It lists the node's whole conntrack table and deletes every
 * UDP entry whose original destination is a Service frontend (ClusterIP:port) with at least one
 * serving endpoint while its reply source (the DNAT target) is not one of those serving endpoints'
 * IPs. So it covers, in one pass, endpoints that went away, entries made before a Service had
 * endpoints, and anything a failed sync left behind. It does not touch:
 * - TCP (or SCTP) entries: those connections keep their DNAT and fail as they would;
 * - a Service port with no serving endpoint ("a Service without endpoints does not require to clean
 *   the conntrack entries associated"): its entries stay until it has endpoints again;
 * - serving endpoints left out of the rules by traffic policy, topology or terminating state: flows
 *   to them carry on, as TCP flows do.
 * NodePort, LoadBalancer and external IP frontends, which the same function also reconciles, do
 * not occur in runs.
 *
 * `servingIPs(ip, port)` gives the serving endpoint IPs of the UDP Service port at that frontend, as
 * of the rules the sync just programmed, or null when the address is not such a frontend or it has
 * no serving endpoint. Returns how many entries were deleted.
 */
export function cleanStaleUdpEntries(table: ConntrackTable, servingIPs: (ip: number, port: number) => ReadonlySet<number> | null, now: number): number {
  return table.deleteWhere((c) => {
    if (c.proto !== 'udp') return false;
    const serving = servingIPs(c.original.dst, c.original.dport);
    return serving !== null && serving.size > 0 && !serving.has(c.reply.src);
  }, now);
}
