/**
 * Kernel memory of kube-proxy's tables on one node (the `kernel.memoryBytes` metric), for the
 * iptables mode on either backend and for the nftables mode.
 *
 * The figures below are measured, not assumed: calibrate/kernel-memory.ts measures,
 * calibrate/measured/kernel-memory.json holds the points, kernel-memory-fit.ts fits them, and
 * kernel-memory.test.ts checks these figures against that fit.
 *
 * - legacy iptables keeps each table as one blob of entries (net/netfilter/x_tables.c
 *   xt_alloc_table_info, kvmalloc). Its size is exact from the entries' sizes below (checked against
 *   the kernel's own IPT_SO_GET_INFO), and kvmalloc rounds it: to a power of two up to 4 MiB, to
 *   whole 2 MiB huge pages above (mm/util.c kvmalloc_node, VM_ALLOW_HUGE_VMAP). So memory moves in
 *   steps: 300 services of 2 or 4 endpoints take the same 2 MiB nat table. What else it charges
 *   stays small at every table size, so the model leaves it out.
 * - iptables-nft and nftables keep every rule, chain, set and element as its own kernel objects;
 *   their bytes per Service port and per endpoint are least-squares fits.
 *
 * What a node also pays and this leaves out: the per-CPU rule counters of legacy iptables (16 bytes
 * per entry per CPU, allocated outside the memory cgroup's accounting, so not measured), and the
 * conntrack table, which grows with traffic rather than with rules.
 */
import { LARGE_CLUSTER_ENDPOINTS_THRESHOLD } from '../iptables/proxier.ts';
import type { IptablesBackend } from '../../cost/cost-model.ts';

/** Sizes of x_tables entries on x86_64 (XT_ALIGN'd structs of include/uapi/linux/netfilter*). */
const ENTRY = 112; // struct ipt_entry
const MATCH = 32; // struct xt_entry_match, before the match's data
const TARGET = 32; // struct xt_entry_target
const COMMENT = MATCH + 256; // xt_comment_info: the comment text, always 256 bytes
const TCP = MATCH + 16; // xt_tcp
const STATISTIC = MATCH + 24; // xt_statistic_info
const RECENT = MATCH + 232; // xt_recent_mtinfo_v1 (--mask)
const VERDICT = TARGET + 8; // xt_standard_target: a jump, RETURN, ACCEPT, DROP
const DNAT = TARGET + 48; // nf_nat_range2 (DNAT revision 2)
const REJECT = TARGET + 8; // ipt_reject_info
/** A user chain: its head (an ERROR target carrying the name) and its RETURN tail. */
const CHAIN = ENTRY + TARGET + 32 + ENTRY + VERDICT;
/** KUBE-FORWARD's `-m conntrack --ctstate INVALID -m nfacct ... -j DROP` (xt_conntrack_mtinfo3, xt_nfacct_match_info). */
const NFACCT_RULE = ENTRY + MATCH + 168 + MATCH + 40 + VERDICT;

/** kube-proxy's fixed tables with no Service, blob bytes per table (measured; filter with its nfacct rule added). */
const FIXED_BLOBS = { nat: 5184, filter: 10360 + NFACCT_RULE, mangle: 1264 };

/** iptables-nft: kube-proxy's fixed tables, and bytes per port, per endpoint and per commented endpoint (its 3 rules' comments). */
const NFT_BACKEND = { fixed: 45_056, perPort: 2060, perEndpoint: 1973, perEndpointComment: 1160 };
/** nftables mode: kube-proxy's fixed table, and bytes per port and per endpoint. */
const NFTABLES = { fixed: 24_576, perPort: 1638, perEndpoint: 925 };

export interface KernelTableCounts {
  /** Service ports with endpoints. */
  ports: number;
  /** Service ports without endpoints: a REJECT rule (iptables) or a map element (nftables) each. */
  without: number;
  /** Endpoints over all ports. */
  endpoints: number;
  /** sessionAffinity ClientIP on every Service. */
  affinity: boolean;
  /** Without it on every Service: endpoints of the ports that have it (default 0). */
  affinityEndpoints?: number;
}

/** Endpoints that carry affinity's extra rules and sets. */
const affinityEndpointsOf = (c: KernelTableCounts) => (c.affinity ? c.endpoints : (c.affinityEndpoints ?? 0));

/** What kvmalloc takes for `size` bytes (mm/util.c kvmalloc_node; mm/slub.c for kmalloc sizes). */
export function kvmallocBytes(size: number): number {
  const MiB4 = 4 << 20;
  const HUGE = 2 << 20;
  if (size <= MiB4) return 2 ** Math.ceil(Math.log2(Math.max(8, size)));
  return Math.ceil(size / HUGE) * HUGE;
}

/** kube-proxy drops the endpoint rules' comments above 1000 endpoints (pkg/proxy/iptables/proxier.go largeClusterMode). */
export const endpointComments = (c: KernelTableCounts) => c.endpoints <= LARGE_CLUSTER_ENDPOINTS_THRESHOLD;

/**
 * Bytes the Services add to the legacy nat table's blob: per port its KUBE-SERVICES jump and
 * KUBE-SVC masquerade check (comment, tcp), and its KUBE-SVC chain; per endpoint its KUBE-SEP chain,
 * the SEP's masquerade and DNAT rules, the SVC's jump to it (with a statistic match but for each
 * port's last endpoint), and with affinity an xt_recent rcheck rule in the SVC and a --set on the DNAT.
 */
export function legacyNatBytes(c: KernelTableCounts): number {
  const comment = endpointComments(c) ? COMMENT : 0;
  const port = 2 * (ENTRY + COMMENT + TCP + VERDICT) + CHAIN;
  const endpoint = CHAIN + (ENTRY + comment + VERDICT) + (ENTRY + comment + TCP + DNAT) + (ENTRY + comment + VERDICT);
  const affinity = ENTRY + comment + RECENT + VERDICT + RECENT;
  return c.ports * port + c.endpoints * endpoint + affinityEndpointsOf(c) * affinity + (c.endpoints - c.ports) * STATISTIC;
}

export function iptablesKernelBytes(backend: IptablesBackend, c: KernelTableCounts): number {
  if (backend === 'legacy') {
    // filter KUBE-SERVICES: a commented REJECT per port without endpoints.
    const filter = FIXED_BLOBS.filter + c.without * (ENTRY + COMMENT + TCP + REJECT);
    return kvmallocBytes(FIXED_BLOBS.nat + legacyNatBytes(c)) + kvmallocBytes(filter) + kvmallocBytes(FIXED_BLOBS.mangle);
  }
  const n = NFT_BACKEND;
  const perEndpoint = n.perEndpoint + (endpointComments(c) ? n.perEndpointComment : 0);
  // Not measured: affinity's extra rule per endpoint, taken at a third of an endpoint's three rules;
  // a port without endpoints, taken as one rule of the same size.
  const extraRules = affinityEndpointsOf(c) + c.without;
  return n.fixed + c.ports * n.perPort + c.endpoints * perEndpoint + (extraRules * perEndpoint) / 3;
}

export function nftablesKernelBytes(c: KernelTableCounts): number {
  const n = NFTABLES;
  // Not measured: affinity's set and two rules per endpoint, taken at an endpoint's worth (its
  // chain, two rules and map element); a port without endpoints is one element, taken as half an
  // endpoint's.
  return n.fixed + c.ports * n.perPort + (c.endpoints + affinityEndpointsOf(c)) * n.perEndpoint + (c.without * n.perEndpoint) / 2;
}

/** The figures above, for kernel-memory.test.ts to compare with the fit of the committed measurement. */
export const KERNEL_MEMORY_FIGURES = { FIXED_BLOBS, NFT_BACKEND, NFTABLES, NFACCT_RULE };
