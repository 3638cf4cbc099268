/**
 * The iptables proxier's options (kube-proxy's flags and what it detects on the node), and their
 * resolved form: validated once, defaults filled in, the mark and the local CIDR in the text the
 * rules print.
 */
import { InputError } from '../../io/input-error.ts';
import { formatCidr, tryParseCidr, tryParseIPv4 } from '../../net/ipv4.ts';
import type { ChainNameCache } from './chain-names.ts';

export interface IptablesProxierOptions {
  /** This node's name: endpoints with this nodeName are local. */
  nodeName: string;
  /** The node's primary IPv4 address; a loadBalancerSourceRange containing it also admits the LB VIPs as sources. */
  nodeIP?: string;
  /** The node's topology.kubernetes.io/zone label, for topology hints. */
  zone?: string;
  /**
   * --cluster-cidr with the default detect-local-mode ClusterCIDR: traffic from outside it is
   * masqueraded (`! -s CIDR -j KUBE-MARK-MASQ`). Absent: no local-traffic detector, as kube-proxy
   * does when no cluster CIDR is configured.
   */
  clusterCIDR?: string;
  /** --masquerade-all: SNAT all traffic to cluster IPs. Default false. */
  masqueradeAll?: boolean;
  /** --iptables-masquerade-bit. Default 14 (mark 0x4000). */
  masqueradeBit?: number;
  /** --iptables-localhost-nodeports. Default true. */
  localhostNodePorts?: boolean;
  /** Whether iptables supports MASQUERADE --random-fully (iptables >= 1.6.2 on kernel >= 3.13). Default true. */
  randomFully?: boolean;
  /** Whether the nfacct counters exist (kernel nfnetlink_acct). Default true. */
  nfacct?: boolean;
  /** net.netfilter.nf_conntrack_tcp_be_liberal is set: no INVALID drop rule. Default false. */
  conntrackTCPLiberal?: boolean;
  /** Shared name cache (nodes may share one; hashing dominates naming cost). */
  names?: ChainNameCache;
}

export interface ResolvedIptablesOptions {
  nodeName: string;
  nodeIP: number | undefined;
  zone: string;
  localCidr: string | undefined;
  masqueradeAll: boolean;
  mark: string;
  localhostNodePorts: boolean;
  randomFully: boolean;
  nfacct: boolean;
  conntrackTCPLiberal: boolean;
}

export function resolveIptablesOptions(o: IptablesProxierOptions): ResolvedIptablesOptions {
  let localCidr: string | undefined;
  if (o.clusterCIDR !== undefined) {
    const c = tryParseCidr(o.clusterCIDR);
    if (!c || !o.clusterCIDR.includes('/')) {
      throw new InputError('--cluster-cidr', 'an IPv4 CIDR like 10.244.0.0/16', JSON.stringify(o.clusterCIDR));
    }
    localCidr = formatCidr(c);
  }
  let nodeIP: number | undefined;
  if (o.nodeIP !== undefined) {
    nodeIP = tryParseIPv4(o.nodeIP);
    if (nodeIP === undefined) throw new InputError('--node-ip', 'an IPv4 address like 192.168.0.2', JSON.stringify(o.nodeIP));
  }
  const bit = o.masqueradeBit ?? 14;
  if (!Number.isInteger(bit) || bit < 0 || bit > 31) {
    throw new InputError('--iptables-masquerade-bit', 'an integer 0-31', String(bit));
  }
  return {
    nodeName: o.nodeName,
    nodeIP,
    zone: o.zone ?? '',
    localCidr,
    masqueradeAll: o.masqueradeAll ?? false,
    mark: '0x' + (2 ** bit).toString(16),
    localhostNodePorts: o.localhostNodePorts ?? true,
    randomFully: o.randomFully ?? true,
    nfacct: o.nfacct ?? true,
    conntrackTCPLiberal: o.conntrackTCPLiberal ?? false,
  };
}
