import { InputError } from '../io/input-error.ts';
import type { ClusterManifests } from '../k8s/manifests.ts';
import { clusterNamesFromManifests, podDnsInput, readyAddresses, serviceAt } from './from-manifests.ts';
import { clusterNameIndex } from './names.ts';
import { DEFAULT_KUBELET_DNS, podResolvConf, type KubeletDnsSettings, type ResolvConf } from './resolv-conf.ts';
import type { ResolverLibrary } from './resolver-options.ts';
import { resolverSession } from './resolvers/index.ts';
import { runStaticLookup, type StaticLookup, type StaticReply } from './static-lookup.ts';
import type { DnsQuery } from './types.ts';

/**
 * One lookup by one pod of a set of manifests, every server answering at once: what `svcsim dns`
 * prints. How each nameserver of the pod's resolv.conf replies:
 * - the cluster DNS address (a Service's ClusterIP, kube-dns) with ready endpoints: the cluster's
 *   answers (names.ts);
 * - that Service without a ready endpoint: ICMP port unreachable, which every proxy mode sends
 *   (iptables: filter REJECT "has no endpoints"; nftables: the no-endpoint-services map's reject;
 *   ipvs: ip_vs_leave's ICMP_PORT_UNREACH, docs/research/dns-notes-checked.md K1-K3);
 * - the cluster DNS address with no Service in the manifests: nothing (no rule owns the address);
 * - any other address (the node's nameserver, a dnsConfig nameserver): an upstream resolver, which
 *   knows no cluster name.
 */
export interface PodLookup {
  pod: string;
  dnsPolicy: string;
  resolvConf: ResolvConf;
  library: ResolverLibrary;
  name: string;
  lookup: StaticLookup;
  /** What the output should say about the servers (kube-dns without endpoints...). */
  notes: string[];
}

export interface PodLookupOptions {
  kubelet?: KubeletDnsSettings;
  missingExternal?: readonly string[];
}

export function lookupFromManifests(m: ClusterManifests, podRef: string, name: string, library: ResolverLibrary, o: PodLookupOptions = {}): PodLookup {
  const kubelet = o.kubelet ?? DEFAULT_KUBELET_DNS;
  const pod = findPod(m, podRef);
  const resolvConf = podResolvConf(podDnsInput(pod), kubelet);
  const index = clusterNameIndex(clusterNamesFromManifests(m, kubelet.clusterDomain, o.missingExternal));
  const notes: string[] = [];
  const replies = new Map<string, (q: DnsQuery) => StaticReply>();
  for (const ns of resolvConf.nameservers) replies.set(ns, serverReply(m, ns, kubelet, index, notes));
  const session = resolverSession(library, resolvConf, name);
  // A server the library adds itself (the loopback when resolv.conf has none) answers nothing.
  const lookup = runStaticLookup(session, (q) => (replies.get(q.server) ?? (() => 'none' as const))(q));
  if (resolvConf.nameservers.length === 0) notes.push('resolv.conf has no nameserver: the library asks the loopback, where nothing listens');
  const ns = pod.metadata.namespace ?? 'default';
  return { pod: `${ns}/${pod.metadata.name}`, dnsPolicy: pod.spec.dnsPolicy ?? 'ClusterFirst', resolvConf, library, name, lookup, notes };
}

function findPod(m: ClusterManifests, ref: string) {
  const [ns, name, ...rest] = ref.split('/');
  const pod = rest.length === 0 && name !== undefined ? m.pods.find((p) => (p.metadata.namespace ?? 'default') === ns && p.metadata.name === name) : undefined;
  if (pod) return pod;
  const known = m.pods.map((p) => `${p.metadata.namespace ?? 'default'}/${p.metadata.name}`);
  throw new InputError('--pod', 'NAMESPACE/NAME of a Pod in the manifests', JSON.stringify(ref), known.length ? `Pods: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', ...' : ''}` : 'the manifests hold no Pod');
}

function serverReply(m: ClusterManifests, server: string, kubelet: KubeletDnsSettings, index: ReturnType<typeof clusterNameIndex>, notes: string[]): (q: DnsQuery) => StaticReply {
  const svc = serviceAt(m, server);
  if (svc) {
    const who = `${svc.metadata.namespace ?? 'default'}/${svc.metadata.name} (${server})`;
    if (readyAddresses(m, svc).length === 0) {
      notes.push(`${who} has no ready endpoints: kube-proxy rejects its packets (iptables REJECT, nftables reject, ipvs ICMP port unreachable), so each query gets ICMP port unreachable`);
      return () => 'unreachable';
    }
    return (q) => index.answer(q.name, q.type);
  }
  if (kubelet.clusterDns.includes(server)) {
    notes.push(`no Service in the manifests has ClusterIP ${server} (kube-dns, the cluster DNS): no rule answers for it, so the queries go unanswered`);
    return () => 'none';
  }
  return (q) => index.answerUpstream(q.name, q.type);
}

/**
 * A name a resolver would send: labels of letters, digits, '-' and '_' (1-63 characters, no '-' at
 * either end), at most 253 characters without the trailing dot (RFC 1035 2.3.4, RFC 1123 2.1).
 */
export function dnsNameProblem(name: string): string | undefined {
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  if (bare === '') return 'a name is empty';
  if (bare.length > 253) return `${bare.length} characters, more than 253`;
  for (const label of bare.split('.')) {
    if (label === '') return 'an empty label (two dots in a row, or a leading dot)';
    if (label.length > 63) return `a label of ${label.length} characters, more than 63`;
    if (!/^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?$/.test(label)) return `the label ${JSON.stringify(label)} has characters other than letters, digits, '-' and '_', or a '-' at an end`;
  }
  return undefined;
}
