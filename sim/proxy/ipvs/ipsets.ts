/**
 * The ipsets of kube-proxy's ipvs mode, as kubernetes/kubernetes pkg/proxy/ipvs/ipset.go and
 * proxier.go (ipsetInfo) define them: name, type, comment. kube-proxy creates every one of them on
 * each sync (`ipset create NAME TYPE family inet hashsize 1024 maxelem 65536 -exist`, bitmap:port
 * sets with `range 0-65535`; pkg/proxy/ipvs/ipset/ipset.go createSet and setIPSetDefaults), then
 * adds and deletes entries one `ipset add/del` call at a time so each set holds exactly the entries
 * of this sync (IPSet.syncIPSetEntries). The comment is not a set option: it appears only in the
 * iptables rules that match the set.
 */
import type { Protocol } from '../service-port.ts';

export type KubeIpsetType = 'hash:ip' | 'hash:ip,port' | 'hash:ip,port,ip' | 'hash:ip,port,net' | 'bitmap:port';

export interface KubeIpsetInfo {
  readonly name: string;
  readonly type: KubeIpsetType;
  readonly comment: string;
}

export const KUBE_LOOP_BACK = 'KUBE-LOOP-BACK';
export const KUBE_CLUSTER_IP = 'KUBE-CLUSTER-IP';
export const KUBE_EXTERNAL_IP = 'KUBE-EXTERNAL-IP';
export const KUBE_EXTERNAL_IP_LOCAL = 'KUBE-EXTERNAL-IP-LOCAL';
export const KUBE_LOAD_BALANCER = 'KUBE-LOAD-BALANCER';
export const KUBE_LOAD_BALANCER_FW = 'KUBE-LOAD-BALANCER-FW';
export const KUBE_LOAD_BALANCER_LOCAL = 'KUBE-LOAD-BALANCER-LOCAL';
export const KUBE_LOAD_BALANCER_SOURCE_IP = 'KUBE-LOAD-BALANCER-SOURCE-IP';
export const KUBE_LOAD_BALANCER_SOURCE_CIDR = 'KUBE-LOAD-BALANCER-SOURCE-CIDR';
export const KUBE_NODE_PORT_TCP = 'KUBE-NODE-PORT-TCP';
export const KUBE_NODE_PORT_LOCAL_TCP = 'KUBE-NODE-PORT-LOCAL-TCP';
export const KUBE_NODE_PORT_UDP = 'KUBE-NODE-PORT-UDP';
export const KUBE_NODE_PORT_LOCAL_UDP = 'KUBE-NODE-PORT-LOCAL-UDP';
export const KUBE_NODE_PORT_SCTP = 'KUBE-NODE-PORT-SCTP-HASH';
export const KUBE_NODE_PORT_LOCAL_SCTP = 'KUBE-NODE-PORT-LOCAL-SCTP-HASH';
export const KUBE_HEALTH_CHECK_NODE_PORT = 'KUBE-HEALTH-CHECK-NODE-PORT';
export const KUBE_IPVS_IPS = 'KUBE-IPVS-IPS';

/** proxier.go ipsetInfo, in its order (the order the sets are created, and `ipset save` lists them). */
export const IPSET_INFO: readonly KubeIpsetInfo[] = [
  { name: KUBE_LOOP_BACK, type: 'hash:ip,port,ip', comment: 'Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose' },
  { name: KUBE_CLUSTER_IP, type: 'hash:ip,port', comment: 'Kubernetes service cluster ip + port for masquerade purpose' },
  { name: KUBE_EXTERNAL_IP, type: 'hash:ip,port', comment: 'Kubernetes service external ip + port for masquerade and filter purpose' },
  { name: KUBE_EXTERNAL_IP_LOCAL, type: 'hash:ip,port', comment: 'Kubernetes service external ip + port with externalTrafficPolicy=local' },
  { name: KUBE_LOAD_BALANCER, type: 'hash:ip,port', comment: 'Kubernetes service lb portal' },
  { name: KUBE_LOAD_BALANCER_FW, type: 'hash:ip,port', comment: 'Kubernetes service load balancer ip + port for load balancer with sourceRange' },
  { name: KUBE_LOAD_BALANCER_LOCAL, type: 'hash:ip,port', comment: 'Kubernetes service load balancer ip + port with externalTrafficPolicy=local' },
  { name: KUBE_LOAD_BALANCER_SOURCE_IP, type: 'hash:ip,port,ip', comment: 'Kubernetes service load balancer ip + port + source IP for packet filter purpose' },
  { name: KUBE_LOAD_BALANCER_SOURCE_CIDR, type: 'hash:ip,port,net', comment: 'Kubernetes service load balancer ip + port + source cidr for packet filter purpose' },
  { name: KUBE_NODE_PORT_TCP, type: 'bitmap:port', comment: 'Kubernetes nodeport TCP port for masquerade purpose' },
  { name: KUBE_NODE_PORT_LOCAL_TCP, type: 'bitmap:port', comment: 'Kubernetes nodeport TCP port with externalTrafficPolicy=local' },
  { name: KUBE_NODE_PORT_UDP, type: 'bitmap:port', comment: 'Kubernetes nodeport UDP port for masquerade purpose' },
  { name: KUBE_NODE_PORT_LOCAL_UDP, type: 'bitmap:port', comment: 'Kubernetes nodeport UDP port with externalTrafficPolicy=local' },
  { name: KUBE_NODE_PORT_SCTP, type: 'hash:ip,port', comment: "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'" },
  { name: KUBE_NODE_PORT_LOCAL_SCTP, type: 'hash:ip,port', comment: "Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type 'hash ip:port'" },
  { name: KUBE_HEALTH_CHECK_NODE_PORT, type: 'bitmap:port', comment: 'Kubernetes health check node port' },
  { name: KUBE_IPVS_IPS, type: 'hash:ip', comment: 'Addresses on the ipvs interface' },
];

export const IPSET_BY_NAME: ReadonlyMap<string, KubeIpsetInfo> = new Map(IPSET_INFO.map((i) => [i.name, i]));

/** The create options kube-proxy passes (ipset.go createSet with setIPSetDefaults, IPv4). */
export function createOptions(type: KubeIpsetType): string {
  return type === 'bitmap:port' ? 'range 0-65535' : 'family inet hashsize 1024 maxelem 65536';
}

/** utilipset.Entry.String(): "ip,proto:port", "ip,proto:port,ip2", "ip,proto:port,net", "port", "ip". */
export function ipPortEntry(ip: string, protocol: Protocol, port: number): string {
  return `${ip},${protocol.toLowerCase()}:${port}`;
}

/** The kernel's sets after a sync: name -> entries. */
export type IpsetContents = ReadonlyMap<string, ReadonlySet<string>>;

export interface IpsetSyncCounts {
  added: number;
  deleted: number;
}

/**
 * Brings the kernel's sets to `active` one entry at a time, as syncIPSetEntries does: deletes the
 * entries no longer wanted, adds the new ones. Returns the new contents (a fresh map; the old one
 * is left as it was so versions can be shared) and the number of `ipset` calls.
 */
export function syncIpsets(current: IpsetContents, active: ReadonlyMap<string, ReadonlySet<string>>): { contents: IpsetContents; counts: IpsetSyncCounts } {
  const counts = { added: 0, deleted: 0 };
  const next = new Map<string, ReadonlySet<string>>();
  for (const info of IPSET_INFO) {
    const want = active.get(info.name) ?? new Set<string>();
    const have = current.get(info.name) ?? new Set<string>();
    for (const e of have) if (!want.has(e)) counts.deleted++;
    for (const e of want) if (!have.has(e)) counts.added++;
    next.set(info.name, want);
  }
  return { contents: next, counts };
}

/**
 * `ipset save` text of kube-proxy's sets. The kernel lists hash sets in bucket order, which depends
 * on a random seed; members are sorted here (numerically for ports, as text otherwise) so output is
 * reproducible. ipset 7.11 and later also print "bucketsize 12 initval 0x..." on create lines, with
 * a random initval; that is left out.
 */
export function ipsetSave(contents: IpsetContents): string {
  const out: string[] = [];
  for (const info of IPSET_INFO) {
    out.push(`create ${info.name} ${info.type} ${createOptions(info.type)}`);
    const members = [...(contents.get(info.name) ?? [])];
    if (info.type === 'bitmap:port') members.sort((a, b) => Number(a) - Number(b));
    else members.sort();
    for (const m of members) out.push(`add ${info.name} ${m}`);
  }
  return out.join('\n') + '\n';
}
