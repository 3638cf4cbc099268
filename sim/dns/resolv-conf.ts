/**
 * The pod's /etc/resolv.conf as kubelet composes it and the container runtime writes it.
 *
 * Composition follows kubernetes pkg/kubelet/network/dns/dns.go: `getPodDNSType` (the policy, with
 * hostNetwork pods under ClusterFirst falling back to Default), `GetPodDNS` (ClusterFirst: the
 * cluster DNS IPs as the only nameservers, `generateSearchesForDNSClusterFirst` for the search list,
 * `defaultDNSOptions` = ndots:5 with the node's options dropped; Default: the node's resolv.conf;
 * None: empty), `appendDNSConfig` (the Pod's dnsConfig appended, duplicates omitted, options merged
 * by name with the Pod's value winning) and `formDNSConfigFitsLimits` (3 nameservers; search list
 * cut to 32 entries, entries over 253 characters dropped, then cut from the end to 2048 characters:
 * the ExpandedDNSConfig limits, GA and locked on since 1.28).
 *
 * The text is what containerd's CRI plugin writes from that (`parseDNSOptions`): a `search` line,
 * one `nameserver` line each, an `options` line, each only when not empty.
 */

export type DnsPolicy = 'ClusterFirst' | 'ClusterFirstWithHostNet' | 'Default' | 'None';
export const DNS_POLICIES: readonly DnsPolicy[] = ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'];

/** core/v1 PodDNSConfig. */
export interface PodDnsConfig {
  nameservers?: readonly string[];
  searches?: readonly string[];
  options?: readonly { name: string; value?: string }[];
}

/** What kubelet reads from the node's resolv.conf (its --resolv-conf file). */
export interface HostResolvConf {
  nameservers: readonly string[];
  searches: readonly string[];
  options: readonly string[];
}

export interface ResolvConf {
  nameservers: string[];
  searches: string[];
  /** As written: `ndots:5`, `single-request-reopen`. */
  options: string[];
}

export interface PodDnsInput {
  namespace: string;
  /** core/v1 default: ClusterFirst. */
  dnsPolicy?: DnsPolicy;
  hostNetwork?: boolean;
  dnsConfig?: PodDnsConfig;
}

export interface KubeletDnsSettings {
  /** kubelet --cluster-dns; kubeadm sets the 10th address of the service CIDR. */
  clusterDns: readonly string[];
  /** kubelet --cluster-domain. */
  clusterDomain: string;
  /** The node's resolv.conf as kubelet parses it. */
  host: HostResolvConf;
}

/** kubeadm: 10.96.0.10 (the 10th IP of 10.96.0.0/12) and cluster.local (cmd/kubeadm/app/constants). */
export const DEFAULT_CLUSTER_DNS = '10.96.0.10';
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

export const DEFAULT_KUBELET_DNS: KubeletDnsSettings = {
  clusterDns: [DEFAULT_CLUSTER_DNS],
  clusterDomain: DEFAULT_CLUSTER_DOMAIN,
  host: { nameservers: [], searches: [], options: [] },
};

/** pkg/apis/core/validation: MaxDNSNameservers, MaxDNSSearchPathsExpanded, MaxDNSSearchListCharsExpanded. */
export const MAX_NAMESERVERS = 3;
export const MAX_SEARCH_PATHS = 32;
export const MAX_SEARCH_LIST_CHARS = 2048;
/** k8s.io/apimachinery validation DNS1123SubdomainMaxLength. */
const MAX_SEARCH_ENTRY = 253;

/** kubelet's `omitDuplicates`: first occurrence kept, order kept. */
function omitDuplicates(xs: readonly string[]): string[] {
  return [...new Set(xs)];
}

type PodDnsType = 'cluster' | 'host' | 'none';

/** `getPodDNSType`. */
function podDnsType(pod: PodDnsInput): PodDnsType {
  switch (pod.dnsPolicy ?? 'ClusterFirst') {
    case 'None':
      return 'none';
    case 'ClusterFirstWithHostNet':
      return 'cluster';
    case 'ClusterFirst':
      return pod.hostNetwork ? 'host' : 'cluster';
    case 'Default':
      return 'host';
  }
}

/**
 * `mergeDNSOptions`: options keyed by the text before the first ':', the Pod's value replacing.
 * kubelet rebuilds the list from a Go map, so the real order is random; here the first-seen order is
 * kept, to be deterministic.
 */
function mergeOptions(existing: readonly string[], pod: PodDnsConfig['options']): string[] {
  const m = new Map<string, string>();
  for (const op of existing) {
    const i = op.indexOf(':');
    if (i === -1) m.set(op, '');
    else m.set(op.slice(0, i), op.slice(i + 1));
  }
  for (const op of pod ?? []) m.set(op.name, op.value ?? '');
  return [...m].map(([k, v]) => (v !== '' ? `${k}:${v}` : k));
}

/** `formDNSSearchFitsLimits`. */
function searchFitsLimits(search: readonly string[]): string[] {
  let s = search.slice(0, MAX_SEARCH_PATHS).filter((d) => d.length <= MAX_SEARCH_ENTRY);
  const len = s.join(' ').length;
  if (len > MAX_SEARCH_LIST_CHARS) {
    let cut = 0;
    let cutLen = 0;
    for (let i = s.length - 1; i >= 0; i--) {
      cutLen += s[i]!.length + 1;
      cut++;
      if (len - cutLen <= MAX_SEARCH_LIST_CHARS) break;
    }
    s = s.slice(0, s.length - cut);
  }
  return s;
}

/** `GetPodDNS` for one pod on a kubelet with these settings. */
export function podResolvConf(pod: PodDnsInput, kubelet: KubeletDnsSettings = DEFAULT_KUBELET_DNS): ResolvConf {
  let conf: ResolvConf = { nameservers: [...kubelet.host.nameservers], searches: [...kubelet.host.searches], options: [...kubelet.host.options] };
  const type = podDnsType(pod);
  if (type === 'none') conf = { nameservers: [], searches: [], options: [] };
  else if (type === 'cluster' && kubelet.clusterDns.length > 0) {
    conf.nameservers = [...kubelet.clusterDns];
    conf.searches = clusterFirstSearches(kubelet.host.searches, pod.namespace, kubelet.clusterDomain);
    conf.options = ['ndots:5'];
  }
  // (ClusterFirst without --cluster-dns falls back to Default: the host's file, as is.)
  if (pod.dnsConfig) {
    conf.nameservers = omitDuplicates([...conf.nameservers, ...(pod.dnsConfig.nameservers ?? [])]);
    conf.searches = omitDuplicates([...conf.searches, ...(pod.dnsConfig.searches ?? [])]);
    conf.options = mergeOptions(conf.options, pod.dnsConfig.options);
  }
  return { nameservers: conf.nameservers.slice(0, MAX_NAMESERVERS), searches: searchFitsLimits(conf.searches), options: conf.options };
}

/** `generateSearchesForDNSClusterFirst`. */
function clusterFirstSearches(hostSearch: readonly string[], namespace: string, domain: string): string[] {
  if (domain === '') return [...hostSearch];
  return omitDuplicates([`${namespace}.svc.${domain}`, `svc.${domain}`, domain, ...hostSearch]);
}

/** The file's text, as containerd's `parseDNSOptions` writes it. */
export function formatResolvConf(conf: ResolvConf): string {
  let out = '';
  if (conf.searches.length > 0) out += `search ${conf.searches.join(' ')}\n`;
  for (const ns of conf.nameservers) out += `nameserver ${ns}\n`;
  if (conf.options.length > 0) out += `options ${conf.options.join(' ')}\n`;
  return out;
}

/**
 * kubelet's `parseResolvConf` for the node's file: `nameserver` lines accumulate, the last `search`
 * line wins (trailing dots dropped), the last `options` line wins; `#` comments skipped.
 */
export function parseHostResolvConf(text: string): HostResolvConf {
  const nameservers: string[] = [];
  let searches: string[] = [];
  let options: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#')) continue;
    const f = line.split(/\s+/).filter((x) => x !== '');
    if (f.length === 0) continue;
    if (f[0] === 'nameserver' && f.length >= 2) nameservers.push(f[1]!);
    if (f[0] === 'search') searches = f.slice(1).map((s) => (s.endsWith('.') ? s.slice(0, -1) : s));
    if (f[0] === 'options') options = f.slice(1);
  }
  return { nameservers, searches, options };
}
