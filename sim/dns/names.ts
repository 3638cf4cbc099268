import type { DnsAnswer, QueryType } from './types.ts';

/**
 * The answers the cluster DNS gives, from plain lists (so manifests and synthetic clusters both feed
 * it). Names in the cluster domain answer as the CoreDNS kubernetes plugin does under kubeadm's
 * Corefile (`kubernetes cluster.local in-addr.arpa ip6.arpa { pods insecure; fallthrough in-addr.arpa
 * ip6.arpa; ttl 30 }`): only the reverse zones fall through, so a missing name under the domain is
 * NXDOMAIN from the plugin itself and is never forwarded. Other names go to the upstream, which
 * knows every name unless it is listed as missing.
 *
 * coredns/coredns plugin/kubernetes: handler.go `ServeDNS` (no records: NOERROR with no answer,
 * i.e. NODATA; a name error: NXDOMAIN), kubernetes.go `Records`, `findServices` (an empty service
 * name in an existing namespace is NODATA, an unknown one NXDOMAIN; a headless Service answers its
 * ready endpoints), `findPods` (pods insecure: `a-b-c-d.<ns>.pod.<domain>` answers a.b.c.d when the
 * namespace exists and the label parses as an IP).
 */
export interface DnsService {
  name: string;
  namespace: string;
  /** undefined or 'None': headless. */
  clusterIP?: string;
  /** Ready endpoint addresses, answered for a headless Service. */
  readyAddresses?: readonly string[];
}

export interface ClusterNames {
  domain: string;
  services: readonly DnsService[];
  /** Namespaces that exist besides those of the services (kube-system and default always do). */
  namespaces?: readonly string[];
  /** Names (without trailing dot) the upstream answers NXDOMAIN for. */
  missingExternal?: readonly string[];
}

/** The kubernetes plugin's ttl under kubeadm's Corefile (`ttl 30`). */
export const CLUSTER_TTL_S = 30;
/** The synthetic upstream's record TTL. */
export const EXTERNAL_TTL_S = 300;

const NXDOMAIN: DnsAnswer = { rcode: 'NXDOMAIN', addresses: [], ttl: CLUSTER_TTL_S };
const nodata = (ttl: number): DnsAnswer => ({ rcode: 'NOERROR', addresses: [], ttl });

export interface NameIndex {
  /** The cluster DNS's answer (CoreDNS: the kubernetes plugin, then forward). */
  answer(name: string, type: QueryType): DnsAnswer;
  /** A resolver outside the cluster (the node's nameserver): cluster names do not exist there. */
  answerUpstream(name: string, type: QueryType): DnsAnswer;
}

/** Indexes the lists once; `answer` then costs a map lookup. */
export function clusterNameIndex(c: ClusterNames): NameIndex {
  const domain = c.domain.replace(/\.$/, '').toLowerCase();
  const services = new Map<string, DnsService>();
  const namespaces = new Set<string>(['default', 'kube-system', ...(c.namespaces ?? [])]);
  for (const s of c.services) {
    services.set(`${s.name}.${s.namespace}`, s);
    namespaces.add(s.namespace);
  }
  const missing = new Set((c.missingExternal ?? []).map((n) => n.replace(/\.$/, '').toLowerCase()));
  return {
    answer(name, type) {
      const n = name.replace(/\.$/, '').toLowerCase();
      if (n === domain || n.endsWith('.' + domain)) {
        const labels = n === domain ? [] : n.slice(0, -(domain.length + 1)).split('.');
        return inCluster(labels, type, services, namespaces);
      }
      return external(n, type, missing);
    },
    answerUpstream(name, type) {
      const n = name.replace(/\.$/, '').toLowerCase();
      if (n === domain || n.endsWith('.' + domain)) return { rcode: 'NXDOMAIN', addresses: [], ttl: EXTERNAL_TTL_S };
      return external(n, type, missing);
    },
  };
}

function inCluster(labels: string[], type: QueryType, services: Map<string, DnsService>, namespaces: Set<string>): DnsAnswer {
  const kind = labels[labels.length - 1];
  if (labels.length === 0 || (labels.length === 1 && (kind === 'svc' || kind === 'pod'))) return nodata(CLUSTER_TTL_S);
  if (kind !== 'svc' && kind !== 'pod') return NXDOMAIN;
  const ns = labels[labels.length - 2]!;
  if (!namespaces.has(ns)) return NXDOMAIN;
  if (labels.length === 2) return nodata(CLUSTER_TTL_S);
  if (kind === 'pod') return labels.length === 3 ? podAnswer(labels[0]!, type) : NXDOMAIN;
  if (labels.length !== 3) return NXDOMAIN; // endpoint hostnames and SRV labels are not modelled
  const svc = services.get(`${labels[0]}.${ns}`);
  if (!svc) return NXDOMAIN;
  return serviceAnswer(svc, type);
}

function serviceAnswer(svc: DnsService, type: QueryType): DnsAnswer {
  const headless = svc.clusterIP === undefined || svc.clusterIP === 'None' || svc.clusterIP === '';
  const v4 = headless ? (svc.readyAddresses ?? []).filter(isIPv4) : isIPv4(svc.clusterIP!) ? [svc.clusterIP!] : [];
  // findServices: a headless Service without ready endpoints has no items, so the name is NXDOMAIN.
  if (headless && (svc.readyAddresses ?? []).length === 0) return NXDOMAIN;
  if (type === 'AAAA') return nodata(CLUSTER_TTL_S); // an IPv4-only cluster: the name exists, no AAAA
  return v4.length > 0 ? { rcode: 'NOERROR', addresses: v4, ttl: CLUSTER_TTL_S } : nodata(CLUSTER_TTL_S);
}

function podAnswer(label: string, type: QueryType): DnsAnswer {
  const ip = label.split('-').join('.');
  if (label.split('-').length !== 4 || label.includes('--') || !isIPv4(ip)) return NXDOMAIN;
  if (type === 'AAAA') return nodata(CLUSTER_TTL_S);
  return { rcode: 'NOERROR', addresses: [ip], ttl: CLUSTER_TTL_S };
}

function external(name: string, type: QueryType, missing: Set<string>): DnsAnswer {
  if (missing.has(name)) return { rcode: 'NXDOMAIN', addresses: [], ttl: EXTERNAL_TTL_S };
  if (type === 'AAAA') return nodata(EXTERNAL_TTL_S); // the synthetic upstream has IPv4 records only
  return { rcode: 'NOERROR', addresses: [syntheticAddress(name)], ttl: EXTERNAL_TTL_S };
}

/**
 * A stable address for an external name: FNV-1a of the name into 198.18.0.0/15 (RFC 2544's
 * benchmarking range, never routed on the internet), so the same name always gets the same address.
 */
export function syntheticAddress(name: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  const low = h & 0x1ffff;
  return `198.${18 + (low >>> 16)}.${(low >>> 8) & 0xff}.${low & 0xff}`;
}

function isIPv4(s: string): boolean {
  const p = s.split('.');
  return p.length === 4 && p.every((x) => /^\d{1,3}$/.test(x) && Number(x) <= 255);
}
