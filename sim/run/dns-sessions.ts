import { SECOND } from '../engine/time.ts';
import { podResolvConf, DEFAULT_KUBELET_DNS, type ResolvConf } from '../dns/resolv-conf.ts';
import { resolverConfig } from '../dns/resolver-options.ts';
import { newResolverState, sessionFor, type ResolverState } from '../dns/resolvers/index.ts';
import type { DnsRunConfig } from './dns-config.ts';
import type { SessionFactory } from './dns-traffic.ts';

/** The namespace of the run's client pods (dns-names.ts: short names find the Services there). */
export const CLIENT_NAMESPACE = 'default';

/**
 * The client pods' resolv.conf: kubelet's ClusterFirst file (search default.svc.cluster.local
 * svc.cluster.local cluster.local, nameserver the kube-dns ClusterIP, options ndots:5) with the
 * scenario's options as the Pod's dnsConfig.options would add them (the Pod's value wins).
 */
export function clientResolvConf(dns: DnsRunConfig, clusterIP: string): ResolvConf {
  const o = dns.options;
  const options: { name: string; value?: string }[] = [
    { name: 'ndots', value: String(o.ndots) },
    { name: 'timeout', value: String(Math.round(o.timeoutNs / SECOND)) },
    { name: 'attempts', value: String(o.attempts) },
  ];
  if (o.singleRequest) options.push({ name: 'single-request' });
  if (o.singleRequestReopen) options.push({ name: 'single-request-reopen' });
  if (o.useVc) options.push({ name: 'use-vc' });
  return podResolvConf({ namespace: CLIENT_NAMESPACE, dnsConfig: { options } }, { ...DEFAULT_KUBELET_DNS, clusterDns: [clusterIP] });
}

/**
 * One resolver session per lookup, from the library's reading of the pods' resolv.conf (read once);
 * each client pod keeps its library state between lookups (glibc's sticky serial mode is per thread:
 * a pod is taken as one resolving thread).
 */
export function lookupSessions(dns: DnsRunConfig, clusterIP: string): SessionFactory {
  const cfg = resolverConfig(dns.resolver, clientResolvConf(dns, clusterIP));
  const states = new Map<number, ResolverState>();
  return (name, node, pod) => {
    const key = node * 65536 + pod;
    let state = states.get(key);
    if (!state) states.set(key, (state = newResolverState()));
    return sessionFor(cfg, name, state);
  };
}
