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
import type { Endpoint } from '../endpoint.ts';
import type { ProxyState } from '../proxy-state.ts';
import { namespacedName } from '../service-port.ts';
import { categorizeEndpoints } from '../topology.ts';
import {
  ChainNameCache,
  KUBE_EXTERNAL_SERVICES,
  KUBE_FIREWALL,
  KUBE_FORWARD,
  KUBE_MARK_MASQ,
  KUBE_NODEPORTS,
  KUBE_POSTROUTING,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
  isServiceChainName,
} from './chain-names.ts';
import { chainLine, LineBuffer } from './line-buffer.ts';
import { resolveIptablesOptions, type IptablesProxierOptions, type ResolvedIptablesOptions } from './options.ts';
import { serviceContext } from './service-context.ts';
import { writeServiceChains, type ServiceChainsOutput, type SourceRangeCache } from './service-chains.ts';
import { writeServiceDispatch } from './service-dispatch.ts';

/**
 * pkg/proxy/iptables/proxier.go largeClusterEndpointsThreshold: above this many endpoints (summed
 * over all service ports, ready or not), kube-proxy drops the per-endpoint comments.
 */
export const LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000;

/** nfacct counter of INVALID packets dropped in KUBE-FORWARD (pkg/proxy/metrics). */
export const NFACCT_CT_STATE_INVALID_DROPPED = 'ct_state_invalid_dropped_pkts';

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

/** The restore input being built: its four sections, and the counting buffers of skipped services. */
interface RestoreBuffers {
  filterChains: LineBuffer;
  filterRules: LineBuffer;
  natChains: LineBuffer;
  natRules: LineBuffer;
  skippedChains: LineBuffer;
  skippedRules: LineBuffer;
}

/** What the per-service-port phase found, for the stale-chain phase and the result. */
interface ServicesWritten {
  active: Set<string>;
  large: boolean;
  totalEndpoints: number;
  noLocalInternal: number;
  noLocalExternal: number;
}

/** What the stale-chain phase did. */
interface StaleChains {
  deletedChains: number;
  kernelNatChains: Set<string>;
}

/**
 * One node's iptables-mode kube-proxy rule writer. Stateless between syncs except for the name
 * cache: what changed and what the kernel holds are passed in, so one instance can serve any node
 * with the same options.
 *
 * sync() runs syncProxyRules' phases in its order: the base chains and their fixed rules, the
 * per-service-port rules and chains, the stale chains' deletion, the rules that must come last,
 * then the restore input.
 */
export class IptablesProxier {
  private readonly o: ResolvedIptablesOptions;
  readonly names: ChainNameCache;
  private readonly sourceRanges: SourceRangeCache = new Map();

  constructor(options: IptablesProxierOptions) {
    this.o = resolveIptablesOptions(options);
    this.names = options.names ?? new ChainNameCache();
  }

  sync(req: IptablesSyncRequest): IptablesSyncResult {
    const text = (req.output ?? 'text') === 'text';
    const b: RestoreBuffers = {
      filterChains: new LineBuffer(text),
      filterRules: new LineBuffer(text),
      natChains: new LineBuffer(text),
      natRules: new LineBuffer(text),
      skippedChains: new LineBuffer(false),
      skippedRules: new LineBuffer(false),
    };
    this.writeBaseChains(b);
    const services = this.writeServicePorts(req, b);
    const stale = this.writeStaleChainDeletions(req, b, services);
    this.writeClosingRules(b);
    return restoreResult(b, services, stale);
  }

  /** The top-level chains' declarations and the fixed rules of KUBE-POSTROUTING, KUBE-MARK-MASQ and KUBE-FIREWALL. */
  private writeBaseChains(b: RestoreBuffers): void {
    const o = this.o;
    const { filterChains, filterRules, natChains, natRules } = b;
    const text = natRules.text;
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
  }

  /**
   * Per service port, sorted: its rules in the shared chains, always; its own chains only on a full
   * sync or when its Service changed (otherwise counted into the skipped buffers).
   */
  private writeServicePorts(req: IptablesSyncRequest, b: RestoreBuffers): ServicesWritten {
    const o = this.o;
    const state = req.state;
    const changed = req.changedServices;
    const active = new Set<string>();
    const ids = [...state.services.keys()].sort();

    let totalEndpoints = 0;
    for (const id of ids) totalEndpoints += state.endpoints.get(id)?.length ?? 0;
    const large = totalEndpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD;
    let noLocalInternal = 0;
    let noLocalExternal = 0;

    const written: ServiceChainsOutput = { natChains: b.natChains, natRules: b.natRules, active, large };
    const skipped: ServiceChainsOutput = { natChains: b.skippedChains, natRules: b.skippedRules, active, large };
    const node = { nodeName: o.nodeName, zone: o.zone };
    for (const id of ids) {
      const sp = state.services.get(id)!;
      const cat = categorizeEndpoints(state.endpoints.get(id) ?? NO_ENDPOINTS, sp, node);
      const ctx = serviceContext(this.names, sp, cat.clusterEndpoints, cat.localEndpoints, cat.hasAnyEndpoints);
      if (ctx.hasEndpoints && !ctx.hasInternalEndpoints) noLocalInternal++;
      if (ctx.hasEndpoints && !ctx.hasExternalEndpoints) noLocalExternal++;

      writeServiceDispatch(o, ctx, b.filterRules, b.natRules);

      const skip = !req.full && !(changed?.has(namespacedName(sp.portName)) ?? false);
      writeServiceChains(o, this.sourceRanges, ctx, cat, skip ? skipped : written);
    }
    return { active, large, totalEndpoints, noLocalInternal, noLocalExternal };
  }

  /** Stale chains: ours (by prefix), in the kernel, and no longer used. */
  private writeStaleChainDeletions(req: IptablesSyncRequest, b: RestoreBuffers, s: ServicesWritten): StaleChains {
    const { active, large } = s;
    const text = b.natRules.text;
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
          b.natChains.write(chainLine(c));
          b.natRules.write(`-X ${c}`);
        } else {
          b.natChains.count();
          b.natRules.count();
        }
      }
      deletedChains = stale.length;
    }
    return { deletedChains, kernelNatChains };
  }

  /** The KUBE-NODEPORTS jump at the end of KUBE-SERVICES, and KUBE-FORWARD's rules. */
  private writeClosingRules(b: RestoreBuffers): void {
    const o = this.o;
    const { filterRules, natRules } = b;
    const text = natRules.text;
    const mark = o.mark;
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
  }
}

/** The restore input (*filter then *nat, each its chain lines then its rules) and the sync's counts. */
function restoreResult(b: RestoreBuffers, s: ServicesWritten, stale: StaleChains): IptablesSyncResult {
  const { filterChains, filterRules, natChains, natRules, skippedRules } = b;
  const chunks: string[] = [];
  if (natRules.text) {
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
    deletedChains: stale.deletedChains,
    natRulesTotal: natRules.lines + skippedRules.lines - stale.deletedChains,
    filterRulesTotal: filterRules.lines,
    activeNatChains: s.active,
    kernelNatChains: stale.kernelNatChains,
    largeClusterMode: s.large,
    totalEndpoints: s.totalEndpoints,
    noLocalEndpointsInternal: s.noLocalInternal,
    noLocalEndpointsExternal: s.noLocalExternal,
  };
}

const NO_ENDPOINTS: readonly Endpoint[] = [];

/** The whole restore input as one string (fine for tests and small clusters). */
export function restoreText(r: IptablesSyncResult): string {
  return r.chunks.join('');
}
