/**
 * iptables-mode kube-proxy: from a ProxyState to the exact text kube-proxy feeds to
 * `iptables-restore --noflush --counters` on one node.
 *
 * Follows kubernetes/kubernetes pkg/proxy/iptables/proxier.go syncProxyRules and
 * writeServiceToEndpointRules (v1.33): the same chains, rules, argument order, comments and quoting,
 * the same decisions (REJECT when a service has no endpoints, DROP when a Local policy has no local
 * endpoint, EXT chains short-circuiting pod and host traffic, FW chains for loadBalancerSourceRanges,
 * `-m recent` affinity, large-cluster mode without per-endpoint comments), and the same partial sync:
 * the top-level chains are always rewritten whole, per-service chains only for services that changed,
 * and chains that are no longer used are flushed and deleted (`:CHAIN` + `-X CHAIN`).
 *
 * Two deliberate differences, both in ordering only:
 * - kube-proxy walks services in Go map order (random); we walk them sorted by ServicePortName, which
 *   is what kube-proxy's own tests compare against after sorting.
 * - kube-proxy prints the masquerade mark with Go's "%#08x"; we print it as iptables-save shows it
 *   back (0x4000 for the default bit 14), as kube-proxy's tests also do.
 */
import { InputError } from '../../io/input-error.ts';
import { cidrContains, formatCidr, parseCidr, tryParseCidr, tryParseIPv4, type Cidr } from '../../net/ipv4.ts';
import type { Endpoint } from '../endpoint.ts';
import type { ProxyState } from '../proxy-state.ts';
import type { ServicePort } from '../service-port.ts';
import { externallyAccessible, namespacedName, usesClusterEndpoints, usesLocalEndpoints } from '../service-port.ts';
import { categorizeEndpoints } from '../topology.ts';
import {
  ChainNameCache,
  EndpointChainNames,
  KUBE_EXTERNAL_SERVICES,
  KUBE_FIREWALL,
  KUBE_FORWARD,
  KUBE_MARK_MASQ,
  KUBE_NODEPORTS,
  KUBE_POSTROUTING,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
  isServiceChainName,
  lowerProtocol,
  type ServicePortChains,
} from './chain-names.ts';
import { LineBuffer } from './line-buffer.ts';
import { probability } from './probability.ts';

/**
 * pkg/proxy/iptables/proxier.go largeClusterEndpointsThreshold: above this many endpoints (summed
 * over all service ports, ready or not), kube-proxy drops the per-endpoint comments.
 */
export const LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000;

/** nfacct counter names (pkg/proxy/metrics). */
export const NFACCT_CT_STATE_INVALID_DROPPED = 'ct_state_invalid_dropped_pkts';
export const NFACCT_LOCALHOST_NODEPORT_ACCEPTED = 'localhost_nps_accepted_pkts';

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

export interface IptablesSyncRequest {
  state: ProxyState;
  /** A full sync rewrites every chain; kube-proxy does one at start, after a failure and hourly. */
  full: boolean;
  /** For a partial sync: namespaced names ("ns/name") of the Services changed since the last successful sync. */
  changedServices?: ReadonlySet<string>;
  /**
   * The kube-proxy NAT chains the kernel has now (the previous sync's activeNatChains). Chains in it
   * that this sync no longer uses are flushed and deleted. Absent: nothing is deleted.
   */
  existingNatChains?: ReadonlySet<string>;
  /**
   * In large-cluster mode kube-proxy only looks for stale chains once per syncPeriod (iptables-save
   * is slow there); the sync loop tells us whether this is such a sync. Default true.
   */
  staleChainCleanupDue?: boolean;
  /** 'text' builds the restore input; 'count' only counts its lines (for the cost model). Default 'text'. */
  output?: 'text' | 'count';
}

export interface IptablesSyncResult {
  /** The iptables-restore input, in chunks (concatenate in order); empty in 'count' mode. */
  chunks: string[];
  filterChainLines: number;
  filterRuleLines: number;
  /** `:CHAIN - [0:0]` lines in *nat, including those of deleted chains. */
  natChainLines: number;
  /** `-A` and `-X` lines in *nat. */
  natRuleLines: number;
  /** Every line handed to iptables-restore, the `*table` and `COMMIT` lines included. */
  restoreLines: number;
  /** NAT rule lines computed for unchanged services and left out of a partial sync. */
  skippedNatRuleLines: number;
  deletedChains: number;
  /** kubeproxy_sync_proxy_rules_iptables_total{table="nat"}: rules the table holds after this sync. */
  natRulesTotal: number;
  /** kubeproxy_sync_proxy_rules_iptables_total{table="filter"}. */
  filterRulesTotal: number;
  /** Every per-service NAT chain this sync uses (skipped unchanged services included). */
  activeNatChains: Set<string>;
  /**
   * The kube-proxy NAT chains the kernel holds once this restore is applied: the active ones, plus
   * stale ones left for later when cleanup was not due. Pass as existingNatChains to the next sync.
   */
  kernelNatChains: Set<string>;
  largeClusterMode: boolean;
  totalEndpoints: number;
  /** kubeproxy_sync_proxy_rules_no_local_endpoints_total{traffic_policy="internal"|"external"}. */
  noLocalEndpointsInternal: number;
  noLocalEndpointsExternal: number;
}

interface Resolved {
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

function resolve(o: IptablesProxierOptions): Resolved {
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

/**
 * One node's iptables-mode kube-proxy rule writer. Stateless between syncs except for the name
 * cache: what changed and what the kernel holds are passed in, so one instance can serve any node
 * with the same options.
 */
export class IptablesProxier {
  private readonly o: Resolved;
  readonly names: ChainNameCache;
  private readonly sourceRangeCache = new Map<string, Cidr>();

  constructor(options: IptablesProxierOptions) {
    this.o = resolve(options);
    this.names = options.names ?? new ChainNameCache();
  }

  sync(req: IptablesSyncRequest): IptablesSyncResult {
    const o = this.o;
    const text = (req.output ?? 'text') === 'text';
    const full = req.full;
    const changed = req.changedServices;
    const state = req.state;

    const filterChains = new LineBuffer(text);
    const filterRules = new LineBuffer(text);
    const natChains = new LineBuffer(text);
    const natRules = new LineBuffer(text);
    const skippedChains = new LineBuffer(false);
    const skippedRules = new LineBuffer(false);

    for (const c of [KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL]) {
      text ? filterChains.write(chainLine(c)) : filterChains.count();
    }
    for (const c of [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ]) {
      text ? natChains.write(chainLine(c)) : natChains.count();
    }
    const mark = o.mark;
    if (text) {
      natRules.write(`-A ${KUBE_POSTROUTING} -m mark ! --mark ${mark}/${mark} -j RETURN`);
      // Clear the mark so a packet that traverses the stack again is not masqueraded twice.
      natRules.write(`-A ${KUBE_POSTROUTING} -j MARK --xor-mark ${mark}`);
      natRules.write(
        `-A ${KUBE_POSTROUTING} -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE` +
          (o.randomFully ? ' --random-fully' : ''),
      );
      natRules.write(`-A ${KUBE_MARK_MASQ} -j MARK --or-mark ${mark}`);
    } else natRules.count(4);

    if (o.localhostNodePorts) {
      // route_localnet makes NodePorts answer on 127.0.0.1; this rule closes the hole it opens
      // (https://issues.k8s.io/90259). kubelet writes an identical copy.
      if (text) {
        filterChains.write(chainLine(KUBE_FIREWALL));
        filterRules.write(
          `-A ${KUBE_FIREWALL} -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`,
        );
      } else {
        filterChains.count();
        filterRules.count();
      }
    }

    const active = new Set<string>();
    const ids = [...state.services.keys()].sort();

    let totalEndpoints = 0;
    for (const id of ids) totalEndpoints += state.endpoints.get(id)?.length ?? 0;
    const large = totalEndpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD;
    let noLocalInternal = 0;
    let noLocalExternal = 0;

    const node = { nodeName: o.nodeName, zone: o.zone };
    for (const id of ids) {
      const sp = state.services.get(id)!;
      const cat = categorizeEndpoints(state.endpoints.get(id) ?? NO_ENDPOINTS, sp, node);
      const ctx = this.serviceContext(sp, cat.clusterEndpoints, cat.localEndpoints, cat.hasAnyEndpoints);
      if (ctx.hasEndpoints && !ctx.hasInternalEndpoints) noLocalInternal++;
      if (ctx.hasEndpoints && !ctx.hasExternalEndpoints) noLocalExternal++;

      this.writeTopLevel(ctx, filterRules, natRules);

      const skip = !full && !(changed?.has(namespacedName(sp.portName)) ?? false);
      this.writeServiceChains(
        ctx,
        cat.clusterEndpoints,
        cat.localEndpoints,
        cat.allReachableEndpoints,
        large,
        skip ? skippedChains : natChains,
        skip ? skippedRules : natRules,
        active,
      );
    }

    // Stale chains: ours (by prefix), in the kernel, and no longer used.
    let deletedChains = 0;
    let kernelNatChains = active;
    const cleanupDue = !large || (req.staleChainCleanupDue ?? true);
    if (req.existingNatChains && !cleanupDue) {
      kernelNatChains = new Set(active);
      for (const c of req.existingNatChains) kernelNatChains.add(c);
    }
    if (req.existingNatChains && cleanupDue) {
      const stale: string[] = [];
      for (const c of req.existingNatChains) if (!active.has(c) && isServiceChainName(c)) stale.push(c);
      stale.sort();
      for (const c of stale) {
        if (text) {
          natChains.write(chainLine(c));
          natRules.write(`-X ${c}`);
        } else {
          natChains.count();
          natRules.count();
        }
      }
      deletedChains = stale.length;
    }

    // The jump to KUBE-NODEPORTS must be the last rule of KUBE-SERVICES. With the default
    // nodePortAddresses (all), it matches any local destination address.
    text
      ? natRules.write(
          `-A ${KUBE_SERVICES} -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL` +
            (o.localhostNodePorts ? '' : ' ! -d 127.0.0.0/8') +
            ` -j ${KUBE_NODEPORTS}`,
        )
      : natRules.count();

    if (!o.conntrackTCPLiberal) {
      // INVALID packets would otherwise reach a pod un-DNATed and draw a RST
      // (kubernetes/kubernetes#74839, #117924).
      text
        ? filterRules.write(
            `-A ${KUBE_FORWARD} -m conntrack --ctstate INVALID` +
              (o.nfacct ? ` -m nfacct --nfacct-name ${NFACCT_CT_STATE_INVALID_DROPPED}` : '') +
              ' -j DROP',
          )
        : filterRules.count();
    }
    if (text) {
      filterRules.write(
        `-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`,
      );
      filterRules.write(
        `-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
      );
    } else filterRules.count(2);

    const chunks: string[] = [];
    if (text) {
      chunks.push('*filter\n', ...filterChains.chunks(), ...filterRules.chunks(), 'COMMIT\n');
      chunks.push('*nat\n', ...natChains.chunks(), ...natRules.chunks(), 'COMMIT\n');
    }
    return {
      chunks,
      filterChainLines: filterChains.lines,
      filterRuleLines: filterRules.lines,
      natChainLines: natChains.lines,
      natRuleLines: natRules.lines,
      restoreLines: filterChains.lines + filterRules.lines + natChains.lines + natRules.lines + 4,
      skippedNatRuleLines: skippedRules.lines,
      deletedChains,
      natRulesTotal: natRules.lines + skippedRules.lines - deletedChains,
      filterRulesTotal: filterRules.lines,
      activeNatChains: active,
      kernelNatChains,
      largeClusterMode: large,
      totalEndpoints,
      noLocalEndpointsInternal: noLocalInternal,
      noLocalEndpointsExternal: noLocalExternal,
    };
  }

  private serviceContext(
    sp: ServicePort,
    clusterEndpoints: readonly Endpoint[],
    localEndpoints: readonly Endpoint[],
    hasEndpoints: boolean,
  ): ServiceContext {
    const chains = this.names.servicePortChains(sp.nameString, sp.protocol);
    const usesClusterPolicyChain = clusterEndpoints.length > 0 && usesClusterEndpoints(sp);
    const usesLocalPolicyChain = localEndpoints.length > 0 && usesLocalEndpoints(sp);
    let internalTrafficChain = chains.svc;
    let hasInternalEndpoints = hasEndpoints;
    if (sp.internalPolicyLocal) {
      internalTrafficChain = chains.svl;
      if (localEndpoints.length === 0) hasInternalEndpoints = false;
    }
    let externalPolicyChain = chains.svc;
    let hasExternalEndpoints = hasEndpoints;
    if (sp.externalPolicyLocal) {
      externalPolicyChain = chains.svl;
      if (localEndpoints.length === 0) hasExternalEndpoints = false;
    }
    // The EXT chain exists whenever the service has endpoints anywhere, even with none usable for
    // external traffic, because it carries the short-circuit rules for pod and host traffic.
    const usesExternalTrafficChain = hasEndpoints && externallyAccessible(sp);
    const usesFWChain = hasEndpoints && sp.loadBalancerVIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0;
    const name = sp.nameString;
    let internalFilterTarget = '';
    let internalFilterComment = '';
    let externalFilterTarget = '';
    let externalFilterComment = '';
    if (!hasEndpoints) {
      internalFilterTarget = externalFilterTarget = 'REJECT';
      internalFilterComment = externalFilterComment = `"${name} has no endpoints"`;
    } else {
      if (!hasInternalEndpoints) {
        internalFilterTarget = 'DROP';
        internalFilterComment = `"${name} has no local endpoints"`;
      }
      if (!hasExternalEndpoints) {
        externalFilterTarget = 'DROP';
        externalFilterComment = `"${name} has no local endpoints"`;
      }
    }
    return {
      sp,
      name,
      proto: lowerProtocol(sp.protocol),
      chains,
      sepNames: this.names.endpointChains(name, sp.protocol),
      hasEndpoints,
      hasInternalEndpoints,
      hasExternalEndpoints,
      usesClusterPolicyChain,
      usesLocalPolicyChain,
      internalTrafficChain,
      externalPolicyChain,
      usesExternalTrafficChain,
      usesFWChain,
      loadBalancerTrafficChain: usesFWChain ? chains.fw : chains.ext,
      internalFilterTarget,
      internalFilterComment,
      externalFilterTarget,
      externalFilterComment,
    };
  }

  /** The rules every sync rewrites: KUBE-SERVICES, KUBE-NODEPORTS and the filter chains. */
  private writeTopLevel(c: ServiceContext, filterRules: LineBuffer, natRules: LineBuffer): void {
    const { sp, name, proto } = c;
    const text = natRules.text;
    const dport = `--dport ${sp.port}`;
    const pm = `-m ${proto} -p ${proto}`;

    if (c.hasInternalEndpoints) {
      text
        ? natRules.write(
            `-A ${KUBE_SERVICES} -m comment --comment "${name} cluster IP" ${pm} -d ${sp.clusterIP} ${dport} -j ${c.internalTrafficChain}`,
          )
        : natRules.count();
    } else {
      text
        ? filterRules.write(
            `-A ${KUBE_SERVICES} -m comment --comment ${c.internalFilterComment} ${pm} -d ${sp.clusterIP} ${dport} -j ${c.internalFilterTarget}`,
          )
        : filterRules.count();
    }

    for (const ip of sp.externalIPs) {
      if (c.hasEndpoints) {
        text
          ? natRules.write(
              `-A ${KUBE_SERVICES} -m comment --comment "${name} external IP" ${pm} -d ${ip} ${dport} -j ${c.chains.ext}`,
            )
          : natRules.count();
      }
      if (!c.hasExternalEndpoints) {
        text
          ? filterRules.write(
              `-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${c.externalFilterComment} ${pm} -d ${ip} ${dport} -j ${c.externalFilterTarget}`,
            )
          : filterRules.count();
      }
    }

    for (const ip of sp.loadBalancerVIPs) {
      if (c.hasEndpoints) {
        text
          ? natRules.write(
              `-A ${KUBE_SERVICES} -m comment --comment "${name} loadbalancer IP" ${pm} -d ${ip} ${dport} -j ${c.loadBalancerTrafficChain}`,
            )
          : natRules.count();
      }
      if (c.usesFWChain) {
        text
          ? filterRules.write(
              `-A ${KUBE_PROXY_FIREWALL} -m comment --comment "${name} traffic not accepted by ${c.chains.fw}" ${pm} -d ${ip} ${dport} -j DROP`,
            )
          : filterRules.count();
      }
    }
    if (!c.hasExternalEndpoints) {
      for (const ip of sp.loadBalancerVIPs) {
        text
          ? filterRules.write(
              `-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${c.externalFilterComment} ${pm} -d ${ip} ${dport} -j ${c.externalFilterTarget}`,
            )
          : filterRules.count();
      }
    }

    if (sp.nodePort !== 0) {
      const nport = `--dport ${sp.nodePort}`;
      if (c.hasEndpoints) {
        // NodePorts ignore loadBalancerSourceRanges, as in kube-proxy.
        if (this.o.localhostNodePorts && this.o.nfacct) {
          text
            ? natRules.write(
                `-A ${KUBE_NODEPORTS} -m comment --comment ${name} ${pm} -d 127.0.0.0/8 ${nport} -m nfacct --nfacct-name ${NFACCT_LOCALHOST_NODEPORT_ACCEPTED} -j ${c.chains.ext}`,
              )
            : natRules.count();
        }
        text
          ? natRules.write(`-A ${KUBE_NODEPORTS} -m comment --comment ${name} ${pm} ${nport} -j ${c.chains.ext}`)
          : natRules.count();
      }
      if (!c.hasExternalEndpoints) {
        text
          ? filterRules.write(
              `-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${c.externalFilterComment} -m addrtype --dst-type LOCAL ${pm} ${nport} -j ${c.externalFilterTarget}`,
            )
          : filterRules.count();
      }
    }

    if (sp.healthCheckNodePort !== 0) {
      // Accepted whether or not this node has local endpoints: the health check answers either way.
      text
        ? filterRules.write(
            `-A ${KUBE_NODEPORTS} -m comment --comment "${name} health check node port" -m tcp -p tcp --dport ${sp.healthCheckNodePort} -j ACCEPT`,
          )
        : filterRules.count();
    }
  }

  /** The per-service NAT chains: SVC/SVL, EXT, FW and one SEP per reachable endpoint. */
  private writeServiceChains(
    c: ServiceContext,
    clusterEndpoints: readonly Endpoint[],
    localEndpoints: readonly Endpoint[],
    allReachable: readonly Endpoint[],
    large: boolean,
    natChains: LineBuffer,
    natRules: LineBuffer,
    active: Set<string>,
  ): void {
    const { sp, name, proto, chains } = c;
    const text = natRules.text;
    const o = this.o;

    if (c.hasInternalEndpoints) {
      const head = `-A ${c.internalTrafficChain} -m comment --comment "${name} cluster IP" -m ${proto} -p ${proto} -d ${sp.clusterIP} --dport ${sp.port}`;
      if (o.masqueradeAll) {
        text ? natRules.write(`${head} -j ${KUBE_MARK_MASQ}`) : natRules.count();
      } else if (o.localCidr !== undefined) {
        // Masquerade off-cluster traffic to the VIP: it may have been routed here and bounce to another node.
        text ? natRules.write(`${head} ! -s ${o.localCidr} -j ${KUBE_MARK_MASQ}`) : natRules.count();
      }
    }

    if (c.usesExternalTrafficChain) {
      const ext = chains.ext;
      text ? natChains.write(chainLine(ext)) : natChains.count();
      active.add(ext);
      if (!sp.externalPolicyLocal) {
        text
          ? natRules.write(
              `-A ${ext} -m comment --comment "masquerade traffic for ${name} external destinations" -j ${KUBE_MARK_MASQ}`,
            )
          : natRules.count();
      } else {
        if (o.localCidr !== undefined) {
          // Pod traffic to an external IP behaves as if it went out to the LB and back: Cluster policy.
          text
            ? natRules.write(
                `-A ${ext} -m comment --comment "pod traffic for ${name} external destinations" -s ${o.localCidr} -j ${chains.svc}`,
              )
            : natRules.count();
        }
        if (text) {
          natRules.write(
            `-A ${ext} -m comment --comment "masquerade LOCAL traffic for ${name} external destinations" -m addrtype --src-type LOCAL -j ${KUBE_MARK_MASQ}`,
          );
          natRules.write(
            `-A ${ext} -m comment --comment "route LOCAL traffic for ${name} external destinations" -m addrtype --src-type LOCAL -j ${chains.svc}`,
          );
        } else natRules.count(2);
      }
      if (c.hasExternalEndpoints) text ? natRules.write(`-A ${ext} -j ${c.externalPolicyChain}`) : natRules.count();
    }

    if (c.usesFWChain) {
      const fw = chains.fw;
      text ? natChains.write(chainLine(fw)) : natChains.count();
      active.add(fw);
      const head = `-A ${fw} -m comment --comment "${name} loadbalancer IP"`;
      let allowFromNode = false;
      for (const r of sp.loadBalancerSourceRanges) {
        const cidr = this.sourceRange(r);
        text ? natRules.write(`${head} -s ${formatCidr(cidr)} -j ${chains.ext}`) : natRules.count();
        if (o.nodeIP !== undefined && cidrContains(cidr, o.nodeIP)) allowFromNode = true;
      }
      // A VIP-style LB address is often local to the node; requests from the node to it then loop
      // back with the VIP as source, which must be let through.
      if (allowFromNode) {
        for (const ip of sp.loadBalancerVIPs) {
          text ? natRules.write(`${head} -s ${ip} -j ${chains.ext}`) : natRules.count();
        }
      }
      // Whatever falls off the end was not DNATed and is dropped by KUBE-PROXY-FIREWALL in filter.
      text
        ? natRules.write(
            `-A ${fw} -m comment --comment "other traffic to ${name} will be dropped by KUBE-PROXY-FIREWALL"`,
          )
        : natRules.count();
    }

    if (c.usesClusterPolicyChain) {
      text ? natChains.write(chainLine(chains.svc)) : natChains.count();
      active.add(chains.svc);
      this.writeServiceToEndpointRules(natRules, c, chains.svc, clusterEndpoints, large);
    }
    if (c.usesLocalPolicyChain) {
      text ? natChains.write(chainLine(chains.svl)) : natChains.count();
      active.add(chains.svl);
      this.writeServiceToEndpointRules(natRules, c, chains.svl, localEndpoints, large);
    }

    const affinity = sp.sessionAffinity === 'ClientIP';
    const sepNames = c.sepNames;
    for (const ep of allReachable) {
      const sep = sepNames.get(ep.endpoint);
      active.add(sep);
      if (!text) {
        natChains.count();
        natRules.count(2);
        continue;
      }
      natChains.write(chainLine(sep));
      const head = large ? `-A ${sep}` : `-A ${sep} -m comment --comment ${name}`;
      // Hairpin: a pod reaching itself through the service must be SNATed or the reply bypasses conntrack.
      natRules.write(`${head} -s ${ep.ip} -j ${KUBE_MARK_MASQ}`);
      natRules.write(
        `${head}${affinity ? ` -m recent --name ${sep} --set` : ''} -m ${proto} -p ${proto} -j DNAT --to-destination ${ep.endpoint}`,
      );
    }
  }

  /** writeServiceToEndpointRules: affinity checks first, then the probability cascade. */
  private writeServiceToEndpointRules(
    natRules: LineBuffer,
    c: ServiceContext,
    chain: string,
    endpoints: readonly Endpoint[],
    large: boolean,
  ): void {
    const { sp, name } = c;
    const n = endpoints.length;
    const affinity = sp.sessionAffinity === 'ClientIP';
    if (!natRules.text) {
      natRules.count(affinity ? 2 * n : n);
      return;
    }
    if (affinity) {
      for (const ep of endpoints) {
        const sep = c.sepNames.get(ep.endpoint);
        const comment = large ? '' : ` -m comment --comment "${name} -> ${ep.endpoint}"`;
        natRules.write(
          `-A ${chain}${comment} -m recent --name ${sep} --rcheck --seconds ${sp.stickyMaxAgeSeconds} --reap -j ${sep}`,
        );
      }
    }
    for (let i = 0; i < n; i++) {
      const ep = endpoints[i]!;
      const sep = c.sepNames.get(ep.endpoint);
      const comment = large ? '' : ` -m comment --comment "${name} -> ${ep.endpoint}"`;
      const stat = i < n - 1 ? ` -m statistic --mode random --probability ${probability(n - i)}` : '';
      natRules.write(`-A ${chain}${comment}${stat} -j ${sep}`);
    }
  }

  private sourceRange(r: string): Cidr {
    let c = this.sourceRangeCache.get(r);
    if (!c) {
      c = parseCidr(r, 'spec.loadBalancerSourceRanges');
      this.sourceRangeCache.set(r, c);
    }
    return c;
  }
}

interface ServiceContext {
  sp: ServicePort;
  name: string;
  proto: string;
  chains: ServicePortChains;
  sepNames: EndpointChainNames;
  hasEndpoints: boolean;
  hasInternalEndpoints: boolean;
  hasExternalEndpoints: boolean;
  usesClusterPolicyChain: boolean;
  usesLocalPolicyChain: boolean;
  internalTrafficChain: string;
  externalPolicyChain: string;
  usesExternalTrafficChain: boolean;
  usesFWChain: boolean;
  loadBalancerTrafficChain: string;
  internalFilterTarget: string;
  internalFilterComment: string;
  externalFilterTarget: string;
  externalFilterComment: string;
}

const NO_ENDPOINTS: readonly Endpoint[] = [];

/** utiliptables.MakeChainLine: `:NAME - [0:0]` declares (and, in a restore, flushes) a chain. */
export function chainLine(name: string): string {
  return `:${name} - [0:0]`;
}

/** The whole restore input as one string (fine for tests and small clusters). */
export function restoreText(r: IptablesSyncResult): string {
  return r.chunks.join('');
}
