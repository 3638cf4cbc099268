/**
 * nftables-mode kube-proxy: from a ProxyState to the `nft -f` transaction kube-proxy sends on one
 * node, and the ruleset the kernel holds after it.
 *
 * Follows kubernetes/kubernetes pkg/proxy/nftables/proxier.go (setupNFTables, syncProxyRules,
 * writeServiceToEndpointRules, nftElementStorage) as its current tests expect it
 * (proxier_test.go TestOverallNFTablesRules / baseRules): table `ip kube-proxy`; base chains
 * filter-prerouting-pre-dnat and filter-output-pre-dnat (priority dstnat-10), filter-input,
 * filter-forward, filter-output (priority filter), nat-prerouting, nat-output (dstnat),
 * nat-postrouting (srcnat); dispatch through the service-ips / service-nodeports verdict maps;
 * no-endpoint handling through no-endpoint-services / no-endpoint-nodeports and reject-chain;
 * LoadBalancerSourceRanges through firewall-ips and per-service firewall- chains; cluster-ips-check
 * rejecting unknown ports of ClusterIPs and dropping unallocated ones; per service port service- /
 * local- / external- chains, per endpoint endpoint- chains, `numgen random mod N vmap`, and
 * affinity- sets with `update @set { ip saddr }`.
 *
 * Like kube-proxy, the proxier is stateful per node: it remembers the map elements it wrote (so a
 * partial sync only adds, replaces and deletes the differences), the chains that went stale (flushed
 * now, deleted a second later, because kernels before 6.2 notice unreferenced chains late), and
 * whether the base chains were recreated once. The kernel's ruleset is modelled by applying each
 * transaction to the previous immutable Ruleset.
 *
 * Deliberate differences, in ordering only: kube-proxy walks service ports in Go map order; here in
 * sorted order of their ids. The masquerade mark is printed with Go's "%#08x" as kube-proxy does
 * ("0x00004000" for bit 14: go-hex.ts); kube-proxy's tests pass "0x4000", which `masqueradeMark` allows.
 */
import { goSharpHex08 } from '../go-hex.ts';
import { InputError } from '../../io/input-error.ts';
import { formatCidr, tryParseCidr, tryParseIPv4 } from '../../net/ipv4.ts';
import { renderCommands } from '../../nftables/render.ts';
import { applyTransaction, type Command } from '../../nftables/transaction.ts';
import type { Ruleset } from '../../nftables/types.ts';
import type { ProxyState } from '../proxy-state.ts';
import { namespacedName } from '../service-port.ts';
import { categorizeEndpoints } from '../topology.ts';
import { KUBE_PROXY_TABLE, NftNameCache, isAffinitySetName, isServiceChainName } from './chain-names.ts';
import { RuleWriter } from './commands.ts';
import { ServiceElementMaps } from './element-storage.ts';
import { writeSetup } from './setup.ts';
import { writeServiceChains } from './service-chains.ts';
import { serviceContext, type ActiveObjects } from './service-context.ts';
import { writeServiceElements } from './service-elements.ts';

export interface NftablesProxierOptions {
  nodeName: string;
  /** The node's primary IPv4 address: a loadBalancerSourceRange containing it also admits the LB VIPs. */
  nodeIP?: string;
  zone?: string;
  /** --cluster-cidr (detect-local-mode ClusterCIDR): `ip saddr != CIDR jump mark-for-masquerade`. */
  clusterCIDR?: string;
  /** The ServiceCIDRs of this family; traffic to unallocated IPs in them is dropped (cluster-ips-check). */
  serviceCIDRs?: readonly string[];
  /**
   * The node IPs NodePorts accept (--nodeport-addresses resolved on the node; kube-proxy's default
   * "primary" is the node IP), or 'all' for the match-all form (`fib daddr type local`). Default:
   * [nodeIP] when nodeIP is given, else 'all'.
   */
  nodePortIPs?: readonly string[] | 'all';
  masqueradeAll?: boolean;
  /** --iptables-masquerade-bit (shared with nftables mode). Default 14. */
  masqueradeBit?: number;
  /** Overrides the mark's text (kube-proxy's tests use "0x4000"; kube-proxy itself prints "%#08x"). */
  masqueradeMark?: string;
  names?: NftNameCache;
}

export interface NftablesSyncRequest {
  state: ProxyState;
  /** Full sync (setupNFTables and every service); kube-proxy does one first, after a failure, and hourly. */
  full: boolean;
  /** For a partial sync: namespaced names ("ns/name") of the Services changed since the last successful sync. */
  changedServices?: ReadonlySet<string>;
  /** Simulated time (ns): stale chains are deleted once they have been stale for a second. */
  nowNs?: number;
}

export interface NftablesSyncResult {
  /** Deletion of chains stale for over a second, sent first as its own transaction (may be empty). */
  cleanup: Command[];
  /** The sync transaction. */
  commands: Command[];
  /** `nft -f` lines of both transactions (one command per line, as knftables writes them). */
  lines: number;
  /** The kernel's ruleset once both transactions are applied. */
  ruleset: Ruleset;
  /** The ruleset before this sync (for rendering element deletions). */
  before: Ruleset | undefined;
  activeChains: number;
  totalEndpoints: number;
  noLocalEndpointsInternal: number;
  noLocalEndpointsExternal: number;
}

/** What the per-service-port phase found. */
interface ServicesWritten {
  active: ActiveObjects;
  totalEndpoints: number;
  noLocalInternal: number;
  noLocalExternal: number;
}

/**
 * sync() runs syncProxyRules' phases in its order: the cleanup transaction of chains stale for a
 * second, setupNFTables on a full sync, the per-service-port elements and chains, the flush of
 * chains gone stale and the deletion of unused affinity sets and map elements, then the
 * transaction applied to the ruleset.
 */
export class NftablesProxier {
  private readonly nodeIP: number | undefined;
  private readonly localCidr: string | undefined;
  private readonly serviceCIDRs: string;
  private readonly nodePortIPs: readonly string[] | 'all';
  private readonly mark: string;
  private readonly masqueradeAll: boolean;
  readonly names: NftNameCache;

  private ruleset: Ruleset | undefined;
  private flushed = false;
  private readonly staleChains = new Map<string, number>();
  private readonly maps = new ServiceElementMaps();
  private readonly rules = new RuleWriter();

  constructor(private readonly o: NftablesProxierOptions) {
    if (o.nodeIP !== undefined) {
      this.nodeIP = tryParseIPv4(o.nodeIP);
      if (this.nodeIP === undefined) throw new InputError('--node-ip', 'an IPv4 address like 192.168.0.2', JSON.stringify(o.nodeIP));
    }
    if (o.clusterCIDR !== undefined) {
      const c = tryParseCidr(o.clusterCIDR);
      if (!c || !o.clusterCIDR.includes('/')) throw new InputError('--cluster-cidr', 'an IPv4 CIDR like 10.244.0.0/16', JSON.stringify(o.clusterCIDR));
      this.localCidr = formatCidr(c);
    }
    for (const c of o.serviceCIDRs ?? []) {
      if (!tryParseCidr(c) || !c.includes('/')) throw new InputError('--service-cidr', 'an IPv4 CIDR like 10.96.0.0/12', JSON.stringify(c));
    }
    this.serviceCIDRs = (o.serviceCIDRs ?? []).join(',');
    this.nodePortIPs = o.nodePortIPs ?? (o.nodeIP !== undefined ? [o.nodeIP] : 'all');
    const bit = o.masqueradeBit ?? 14;
    if (!Number.isInteger(bit) || bit < 0 || bit > 31) throw new InputError('--iptables-masquerade-bit', 'an integer 0-31', String(bit));
    this.mark = o.masqueradeMark ?? goSharpHex08(2 ** bit);
    this.masqueradeAll = o.masqueradeAll ?? false;
    this.names = o.names ?? new NftNameCache();
  }

  /** The ruleset after the last sync (undefined before the first). */
  get current(): Ruleset | undefined {
    return this.ruleset;
  }

  sync(req: NftablesSyncRequest): NftablesSyncResult {
    const now = req.nowNs ?? 0;
    const before = this.ruleset;
    const tryPartial = !req.full && this.ruleset !== undefined;

    const cleanup = this.deleteStaleChains(now);
    let rs = this.ruleset;
    if (cleanup.length) rs = applyTransaction(rs, cleanup);

    const tx: Command[] = [];
    if (!tryPartial) this.setup(tx);
    const s = this.writeServicePorts(req, tx, tryPartial);
    if (rs) this.flushStaleObjects(tx, rs, s.active, now);
    for (const m of this.maps.all) m.cleanup(tx);

    const after = applyTransaction(rs, tx);
    this.ruleset = after;
    return {
      cleanup,
      commands: tx,
      lines: cleanup.length + tx.length,
      ruleset: after,
      before,
      activeChains: s.active.chains.size,
      totalEndpoints: s.totalEndpoints,
      noLocalEndpointsInternal: s.noLocalInternal,
      noLocalEndpointsExternal: s.noLocalExternal,
    };
  }

  /** Stale chains older than a second go first, in their own transaction. */
  private deleteStaleChains(now: number): Command[] {
    const cleanup: Command[] = [];
    for (const [chain, since] of this.staleChains) {
      if (since < now - 1e9) {
        cleanup.push({ verb: 'delete', object: 'chain', family: 'ip', table: KUBE_PROXY_TABLE, name: chain });
        this.staleChains.delete(chain);
      }
    }
    return cleanup;
  }

  /** setupNFTables, then every element storage flushed and forgotten. */
  private setup(tx: Command[]): void {
    const o = { mark: this.mark, serviceCIDRs: this.serviceCIDRs, nodePortIPs: this.nodePortIPs };
    writeSetup(this.rules, tx, o, !this.flushed);
    this.flushed = true;
    for (const m of this.maps.all) m.reset(tx);
  }

  /**
   * Per service port, sorted: its chains ensured, its set and map elements, and its chains' rules
   * unless a partial sync skips it as unchanged.
   */
  private writeServicePorts(req: NftablesSyncRequest, tx: Command[], tryPartial: boolean): ServicesWritten {
    const changed = req.changedServices ?? new Set<string>();
    const active: ActiveObjects = { chains: new Set<string>(), affinitySets: new Set<string>() };
    const chainOptions = { masqueradeAll: this.masqueradeAll, localCidr: this.localCidr, nodeIP: this.nodeIP };
    const node = { nodeName: this.o.nodeName, zone: this.o.zone ?? '' };
    let totalEndpoints = 0;
    let noLocalInternal = 0;
    let noLocalExternal = 0;
    const ids = [...req.state.services.keys()].sort();
    for (const id of ids) totalEndpoints += req.state.endpoints.get(id)?.length ?? 0;

    for (const id of ids) {
      const sp = req.state.services.get(id)!;
      const cat = categorizeEndpoints(req.state.endpoints.get(id) ?? [], sp, node);
      const skip = tryPartial && !changed.has(namespacedName(sp.portName));
      const c = serviceContext(this.names, tx, sp, cat, skip, active);
      if (c.hasEndpoints && !c.hasInternalEndpoints) noLocalInternal++;
      if (c.hasEndpoints && !c.hasExternalEndpoints) noLocalExternal++;
      writeServiceElements(tx, this.maps, c, active);
      if (!skip) writeServiceChains(this.rules, tx, chainOptions, c);
    }
    return { active, totalEndpoints, noLocalInternal, noLocalExternal };
  }

  /** Chains no longer used: flushed now, deleted by a later sync (see staleChains); unused affinity sets deleted. */
  private flushStaleObjects(tx: Command[], rs: Ruleset, active: ActiveObjects, now: number): void {
    const t = rs.tables.get(`ip ${KUBE_PROXY_TABLE}`);
    for (const chain of t?.chains.keys() ?? []) {
      if (!isServiceChainName(chain)) continue;
      if (!active.chains.has(chain)) {
        tx.push({ verb: 'flush', object: 'chain', family: 'ip', table: KUBE_PROXY_TABLE, name: chain });
        this.staleChains.set(chain, now);
      } else this.staleChains.delete(chain);
    }
    for (const set of t?.sets.keys() ?? []) {
      if (isAffinitySetName(set) && !active.affinitySets.has(set)) tx.push({ verb: 'delete', object: 'set', family: 'ip', table: KUBE_PROXY_TABLE, name: set });
    }
  }
}

/** The `nft -f` text of a sync: the cleanup transaction (if any) and the sync transaction. */
export function transactionText(r: NftablesSyncResult): string {
  const parts: string[] = [];
  if (r.cleanup.length) parts.push(renderCommands(r.cleanup, r.before));
  parts.push(renderCommands(r.commands, r.before));
  return parts.join('');
}
