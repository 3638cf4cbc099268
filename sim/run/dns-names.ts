import type { DnsAnswer, QueryType } from '../dns/types.ts';
import type { RandomStream } from '../engine/random.ts';
import type { LookupNameKind } from './dns-config.ts';

/**
 * The names a run's clients look up and who answers them. Client pods live in namespace `default`,
 * next to the workload's Services `svc-<i>`; the kube-dns Service lives in kube-system.
 *
 * - short: `svc-<i>`, found through the first search domain (default.svc.cluster.local);
 * - otherNamespace: `kube-dns.kube-system`, found through the second (svc.cluster.local);
 * - fourDots: `svc-<i>.default.svc.cluster.local`, the full name without its trailing dot: four
 *   dots, below ndots 5, so the whole search list comes first;
 * - external: `api-<k>.example.com`, answered by the upstream with A and AAAA records;
 * - missingExternal: `missing-<k>.example.com`, NXDOMAIN from the upstream.
 *
 * Answers in the cluster domain come from the Services as the kubernetes plugin gives them (coredns
 * plugin/kubernetes: a ClusterIP Service's name has an A record with its ClusterIP, no AAAA in an
 * IPv4 cluster (NOERROR with no answer, NODATA), other names NXDOMAIN; `fallthrough` only for
 * reverse zones in the kubeadm Corefile, so an NXDOMAIN under cluster.local is never forwarded).
 */
export const CLUSTER_DOMAIN = 'cluster.local';
/** How many distinct external names clients ask for (assumption: a service talks to a few dozen APIs). */
export const EXTERNAL_NAMES = 50;
/** TTL of the upstream's records (assumption; the cache caps it at 30 s anyway). */
const EXTERNAL_TTL_S = 60;

export class RunNames {
  private readonly services = new Map<string, string>();

  /** `services`: namespace/name to ClusterIP of every Service a name can find. */
  constructor(services: Iterable<[string, string]>) {
    for (const [key, ip] of services) {
      const [ns, name] = key.split('/') as [string, string];
      this.services.set(`${name}.${ns}.svc.${CLUSTER_DOMAIN}`, ip);
    }
  }

  /** The kubernetes plugin: the answer for a name in the cluster domain, null for any other (forward's). */
  readonly cluster = (name: string, type: QueryType): DnsAnswer | null => {
    if (name !== CLUSTER_DOMAIN && !name.endsWith(`.${CLUSTER_DOMAIN}`)) return null;
    const ip = this.services.get(name);
    if (ip === undefined) return { rcode: 'NXDOMAIN', addresses: [] };
    return { rcode: 'NOERROR', addresses: type === 'A' ? [ip] : [] };
  };

  /** The upstream resolver: `api-<k>.example.com` exists with A and AAAA records, every other name is NXDOMAIN. */
  readonly external = (name: string, type: QueryType): DnsAnswer => {
    if (!/^api-\d+\.example\.com$/.test(name)) return { rcode: 'NXDOMAIN', addresses: [], ttl: EXTERNAL_TTL_S };
    const k = Number(name.slice(4, name.indexOf('.')));
    const address = type === 'A' ? `203.0.113.${k % 250}` : `2001:db8::${k.toString(16)}`;
    return { rcode: 'NOERROR', addresses: [address], ttl: EXTERNAL_TTL_S };
  };
}

/** The name one lookup asks for, of kind `kind`, picking the Service or external name from `rng`. */
export function lookupName(kind: LookupNameKind, services: number, rng: RandomStream): string {
  switch (kind) {
    case 'short':
      return `svc-${rng.integer(0, services - 1)}`;
    case 'otherNamespace':
      return 'kube-dns.kube-system';
    case 'fourDots':
      return `svc-${rng.integer(0, services - 1)}.default.svc.${CLUSTER_DOMAIN}`;
    case 'external':
      return `api-${rng.integer(0, EXTERNAL_NAMES - 1)}.example.com`;
    case 'missingExternal':
      return `missing-${rng.integer(0, EXTERNAL_NAMES - 1)}.example.com`;
  }
}
