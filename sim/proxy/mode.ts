/**
 * The proxy modes the simulator models: kube-proxy's iptables, ipvs and nftables modes, and two
 * comparison models (ebpf: Cilium-like service maps; userspace: the removed userspace proxy).
 *
 * The one list of them: the scenario schema's `proxy.mode` enum (and so scenario.schema.json, in this
 * order), the per-mode cost models (proxy/cost) and the run's config all take it from here.
 */
export const PROXY_MODES = ['iptables', 'ipvs', 'nftables', 'ebpf', 'userspace'] as const;
export type ProxyMode = (typeof PROXY_MODES)[number];
