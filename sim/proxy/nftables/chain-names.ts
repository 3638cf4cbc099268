/**
 * kube-proxy's nftables chain and set names: the fixed ones (proxier.go constants), and the
 * per-service ones (kubernetes/kubernetes pkg/proxy/nftables/proxier.go hashAndTruncate, servicePortChainNameBase, servicePortEndpointChainNameBase): the readable name
 * "ns/svc/proto/port" (plus "__ip/port" for an endpoint) behind the first 8 characters of the
 * standard base32 encoding of its sha256, truncated with "..." past 240 characters (knftables
 * NameLengthMax 256 minus a 16-character prefix allowance). Prefixes: service-, local-, external-,
 * firewall-, endpoint-, affinity-.
 */
import { createHash } from 'node:crypto';
import type { ServicePort } from '../service-port.ts';
import type { Endpoint } from '../endpoint.ts';

export const KUBE_PROXY_TABLE = 'kube-proxy';

// Chain, set and map names (proxier.go constants).
export const FILTER_PREROUTING_PRE_DNAT = 'filter-prerouting-pre-dnat';
export const FILTER_OUTPUT_PRE_DNAT = 'filter-output-pre-dnat';
export const FILTER_INPUT = 'filter-input';
export const FILTER_FORWARD = 'filter-forward';
export const FILTER_OUTPUT = 'filter-output';
export const NAT_PREROUTING = 'nat-prerouting';
export const NAT_OUTPUT = 'nat-output';
export const NAT_POSTROUTING = 'nat-postrouting';
export const SERVICES_CHAIN = 'services';
export const SERVICE_IPS_MAP = 'service-ips';
export const SERVICE_NODEPORTS_MAP = 'service-nodeports';
export const NODEPORT_IPS_SET = 'nodeport-ips';
export const CLUSTER_IPS_SET = 'cluster-ips';
export const SERVICE_ENDPOINTS_CHECK = 'service-endpoints-check';
export const NODEPORT_ENDPOINTS_CHECK = 'nodeport-endpoints-check';
export const NO_ENDPOINT_SERVICES_MAP = 'no-endpoint-services';
export const NO_ENDPOINT_NODEPORTS_MAP = 'no-endpoint-nodeports';
export const REJECT_CHAIN = 'reject-chain';
export const CLUSTER_IPS_CHECK = 'cluster-ips-check';
export const FIREWALL_IPS_MAP = 'firewall-ips';
export const FIREWALL_CHECK = 'firewall-check';
export const MARK_MASQ_CHAIN = 'mark-for-masquerade';
export const MASQUERADING_CHAIN = 'masquerading';

export const SERVICE_PREFIX = 'service-';
export const LOCAL_PREFIX = 'local-';
export const EXTERNAL_PREFIX = 'external-';
export const FIREWALL_PREFIX = 'firewall-';
export const ENDPOINT_PREFIX = 'endpoint-';
export const AFFINITY_PREFIX = 'affinity-';

/** knftables.NameLengthMax (256) minus chainNamePrefixLengthMax (16). */
export const CHAIN_NAME_BASE_LENGTH_MAX = 256 - 16;

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** The first 8 base32 characters of the sha256 of `name` (= the first 5 bytes), "-", then the name. */
export function hashAndTruncate(name: string): string {
  const d = createHash('sha256').update(name).digest();
  const b0 = d[0]!, b1 = d[1]!, b2 = d[2]!, b3 = d[3]!, b4 = d[4]!;
  const h =
    BASE32[b0 >> 3]! +
    BASE32[((b0 & 0x07) << 2) | (b1 >> 6)]! +
    BASE32[(b1 >> 1) & 0x1f]! +
    BASE32[((b1 & 0x01) << 4) | (b2 >> 4)]! +
    BASE32[((b2 & 0x0f) << 1) | (b3 >> 7)]! +
    BASE32[(b3 >> 2) & 0x1f]! +
    BASE32[((b3 & 0x03) << 3) | (b4 >> 5)]! +
    BASE32[b4 & 0x1f]!;
  const full = `${h}-${name}`;
  return full.length > CHAIN_NAME_BASE_LENGTH_MAX ? full.slice(0, CHAIN_NAME_BASE_LENGTH_MAX - 3) + '...' : full;
}

/** "HASH-ns/svc/proto/port", e.g. "ULMVA6XW-ns1/svc1/tcp/p80". */
export function servicePortChainNameBase(sp: ServicePort): string {
  const n = sp.portName;
  return hashAndTruncate(`${n.namespace}/${n.name}/${sp.protocol.toLowerCase()}/${n.port}`);
}

/** "HASH-ns/svc/proto/port__ip/port", e.g. "5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80" (IPv6 colons become dots). */
export function servicePortEndpointChainNameBase(sp: ServicePort, ep: Endpoint): string {
  const n = sp.portName;
  const ip = ep.ip.includes(':') ? ep.ip.replaceAll(':', '.') : ep.ip;
  return hashAndTruncate(`${n.namespace}/${n.name}/${sp.protocol.toLowerCase()}/${n.port}__${ip}/${ep.port}`);
}

/** Service and endpoint chains are the only ones with a "/" (isServiceChainName). */
export function isServiceChainName(name: string): boolean {
  return name.includes('/');
}

export function isAffinitySetName(name: string): boolean {
  return name.startsWith(AFFINITY_PREFIX);
}

/** Names are pure functions of their inputs and every node computes the same ones: cache them. */
export class NftNameCache {
  private readonly svc = new Map<string, string>();
  private readonly ep = new Map<string, string>();

  serviceBase(sp: ServicePort): string {
    let b = this.svc.get(sp.id);
    if (b === undefined) this.svc.set(sp.id, (b = servicePortChainNameBase(sp)));
    return b;
  }

  endpointBase(sp: ServicePort, ep: Endpoint): string {
    const k = `${sp.id}|${ep.endpoint}`;
    let b = this.ep.get(k);
    if (b === undefined) this.ep.set(k, (b = servicePortEndpointChainNameBase(sp, ep)));
    return b;
  }
}
