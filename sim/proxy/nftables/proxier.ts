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
import { cidrContains, formatCidr, tryParseCidr, tryParseIPv4 } from '../../net/ipv4.ts';
import { parseRuleText } from '../../nftables/parse.ts';
import { renderCommands } from '../../nftables/render.ts';
import { applyTransaction, type Command } from '../../nftables/transaction.ts';
import type { BaseChainSpec, ChainType, Hook, KeyType, Rule, Ruleset, SetElement, Verdict } from '../../nftables/types.ts';
import type { Endpoint } from '../endpoint.ts';
import type { ProxyState } from '../proxy-state.ts';
import type { ServicePort } from '../service-port.ts';
import { externallyAccessible, namespacedName, usesClusterEndpoints, usesLocalEndpoints } from '../service-port.ts';
import { categorizeEndpoints } from '../topology.ts';
import {
  AFFINITY_PREFIX,
  ENDPOINT_PREFIX,
  EXTERNAL_PREFIX,
  FIREWALL_PREFIX,
  LOCAL_PREFIX,
  NftNameCache,
  SERVICE_PREFIX,
  isAffinitySetName,
  isServiceChainName,
} from './chain-names.ts';

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

/** knftables priorities: DNATPriority "dstnat" (-100), SNATPriority "srcnat" (100), FilterPriority "filter" (0). */
const BASE_CHAINS: readonly { name: string; type: ChainType; hook: Hook; priority: number }[] = [
  { name: FILTER_PREROUTING_PRE_DNAT, type: 'filter', hook: 'prerouting', priority: -110 },
  { name: FILTER_OUTPUT_PRE_DNAT, type: 'filter', hook: 'output', priority: -110 },
  { name: FILTER_INPUT, type: 'filter', hook: 'input', priority: 0 },
  { name: FILTER_FORWARD, type: 'filter', hook: 'forward', priority: 0 },
  { name: FILTER_OUTPUT, type: 'filter', hook: 'output', priority: 0 },
  { name: NAT_PREROUTING, type: 'nat', hook: 'prerouting', priority: -100 },
  { name: NAT_OUTPUT, type: 'nat', hook: 'output', priority: -100 },
  { name: NAT_POSTROUTING, type: 'nat', hook: 'postrouting', priority: 100 },
];

/** nftablesJumpChains: which base chain jumps to which top-level chain, with what extra match. */
const JUMP_CHAINS: readonly { dst: string; src: string; extra: string }[] = [
  { dst: NODEPORT_ENDPOINTS_CHECK, src: FILTER_INPUT, extra: 'ct state new' },
  { dst: SERVICE_ENDPOINTS_CHECK, src: FILTER_INPUT, extra: 'ct state new' },
  { dst: SERVICE_ENDPOINTS_CHECK, src: FILTER_FORWARD, extra: 'ct state new' },
  { dst: SERVICE_ENDPOINTS_CHECK, src: FILTER_OUTPUT, extra: 'ct state new' },
  { dst: FIREWALL_CHECK, src: FILTER_PREROUTING_PRE_DNAT, extra: 'ct state new' },
  { dst: FIREWALL_CHECK, src: FILTER_OUTPUT_PRE_DNAT, extra: 'ct state new' },
  { dst: SERVICES_CHAIN, src: NAT_OUTPUT, extra: '' },
  { dst: SERVICES_CHAIN, src: NAT_PREROUTING, extra: '' },
  { dst: MASQUERADING_CHAIN, src: NAT_POSTROUTING, extra: '' },
  { dst: CLUSTER_IPS_CHECK, src: FILTER_FORWARD, extra: 'ct state new' },
  { dst: CLUSTER_IPS_CHECK, src: FILTER_OUTPUT, extra: 'ct state new' },
];

const SERVICE_KEY: readonly KeyType[] = ['ipv4_addr', 'inet_proto', 'inet_service'];
const NODEPORT_KEY: readonly KeyType[] = ['inet_proto', 'inet_service'];
const PROTO_NUMBER: Readonly<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132 };

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

/** nftElementStorage: what kube-proxy believes a set or map holds, to write only the differences. */
class ElementStorage {
  readonly elements = new Map<string, { value: string; element: SetElement }>();
  leftover = new Set<string>();
  constructor(
    readonly kind: 'set' | 'map',
    readonly name: string,
    readonly keyType: readonly KeyType[],
  ) {}

  reset(tx: Command[]): void {
    this.elements.clear();
    tx.push({ verb: 'flush', object: this.kind, family: 'ip', table: KUBE_PROXY_TABLE, name: this.name });
    this.leftover = new Set();
  }

  ensure(tx: Command[], key: string, element: SetElement, value: string): void {
    const existing = this.elements.get(key);
    if (existing) {
      if (existing.value !== value) {
        tx.push(elementCommand('delete', this.name, element));
        tx.push(elementCommand('add', this.name, element));
        this.elements.set(key, { value, element });
      }
      this.leftover.delete(key);
    } else {
      tx.push(elementCommand('add', this.name, element));
      this.elements.set(key, { value, element });
    }
  }

  cleanup(tx: Command[]): void {
    for (const key of this.leftover) {
      tx.push(elementCommand('delete', this.name, this.elements.get(key)!.element));
      this.elements.delete(key);
    }
    this.leftover = new Set(this.elements.keys());
  }
}

function elementCommand(verb: 'add' | 'delete', set: string, element: SetElement): Command {
  return { verb, object: 'element', family: 'ip', table: KUBE_PROXY_TABLE, set, elements: [element] };
}

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
  private readonly clusterIPs = new ElementStorage('set', CLUSTER_IPS_SET, ['ipv4_addr']);
  private readonly serviceIPs = new ElementStorage('map', SERVICE_IPS_MAP, SERVICE_KEY);
  private readonly firewallIPs = new ElementStorage('map', FIREWALL_IPS_MAP, SERVICE_KEY);
  private readonly noEndpointServices = new ElementStorage('map', NO_ENDPOINT_SERVICES_MAP, SERVICE_KEY);
  private readonly noEndpointNodePorts = new ElementStorage('map', NO_ENDPOINT_NODEPORTS_MAP, NODEPORT_KEY);
  private readonly serviceNodePorts = new ElementStorage('map', SERVICE_NODEPORTS_MAP, NODEPORT_KEY);
  private readonly ruleCache = new Map<string, Rule>();

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

  private rule(tx: Command[], chain: string, text: string): void {
    let r = this.ruleCache.get(text);
    if (!r) {
      r = parseRuleText(text, `kube-proxy rule in ${chain}`);
      // Only cache rules without names in them (the fixed ones); per-service rules are unique anyway.
      if (!text.includes('/')) this.ruleCache.set(text, r);
    }
    tx.push({ verb: 'add', object: 'rule', family: 'ip', table: KUBE_PROXY_TABLE, chain, rule: r, text });
  }

  private ensureChain(tx: Command[], chain: string, created: Set<string>, skip: boolean, comment?: string): void {
    if (created.has(chain)) return;
    created.add(chain);
    if (skip) return;
    tx.push({ verb: 'add', object: 'chain', family: 'ip', table: KUBE_PROXY_TABLE, name: chain, ...(comment ? { comment } : {}) });
    tx.push({ verb: 'flush', object: 'chain', family: 'ip', table: KUBE_PROXY_TABLE, name: chain });
  }

  private noLocalhost(): string {
    return 'ip daddr != 127.0.0.0/8';
  }

  private setup(tx: Command[], created: Set<string>): void {
    const T = { family: 'ip' as const, table: KUBE_PROXY_TABLE };
    tx.push({ verb: 'add', object: 'table', ...T, comment: 'rules for kube-proxy' });
    if (!this.flushed) {
      // Recreate base chains once, so that changed properties (priority) do not fail the transaction.
      for (const bc of BASE_CHAINS) {
        tx.push({ verb: 'add', object: 'chain', ...T, name: bc.name });
        tx.push({ verb: 'delete', object: 'chain', ...T, name: bc.name });
      }
      this.flushed = true;
    }
    for (const bc of BASE_CHAINS) {
      const base: BaseChainSpec = { type: bc.type, hook: bc.hook, priority: bc.priority, policy: 'accept' };
      tx.push({ verb: 'add', object: 'chain', ...T, name: bc.name, base });
      tx.push({ verb: 'flush', object: 'chain', ...T, name: bc.name });
    }
    const setupChains = new Set<string>();
    for (const j of JUMP_CHAINS) {
      this.ensureChain(tx, j.dst, setupChains, false);
      this.rule(tx, j.src, `${j.extra ? j.extra + ' ' : ''}jump ${j.dst}`);
    }
    for (const c of [SERVICES_CHAIN, CLUSTER_IPS_CHECK, MASQUERADING_CHAIN, MARK_MASQ_CHAIN]) this.ensureChain(tx, c, setupChains, false);

    this.rule(tx, MARK_MASQ_CHAIN, `mark set mark or ${this.mark}`);
    this.rule(tx, MASQUERADING_CHAIN, `mark and ${this.mark} == 0 return`);
    this.rule(tx, MASQUERADING_CHAIN, `mark set mark xor ${this.mark}`);
    this.rule(tx, MASQUERADING_CHAIN, 'masquerade fully-random');

    tx.push({ verb: 'add', object: 'set', ...T, name: CLUSTER_IPS_SET, keyType: ['ipv4_addr'], comment: 'Active ClusterIPs' });
    this.rule(tx, CLUSTER_IPS_CHECK, `ip daddr @${CLUSTER_IPS_SET} reject comment "Reject traffic to invalid ports of ClusterIPs"`);
    if (this.serviceCIDRs) {
      const text = `ip daddr { ${this.serviceCIDRs} } drop comment "Drop traffic to unallocated ClusterIPs"`;
      this.rule(tx, CLUSTER_IPS_CHECK, text);
    }

    tx.push({ verb: 'add', object: 'set', ...T, name: NODEPORT_IPS_SET, keyType: ['ipv4_addr'], comment: 'IPs that accept NodePort traffic' });
    if (this.nodePortIPs === 'all') {
      tx.push({ verb: 'delete', object: 'set', ...T, name: NODEPORT_IPS_SET });
    } else {
      tx.push({ verb: 'flush', object: 'set', ...T, name: NODEPORT_IPS_SET });
      for (const ip of this.nodePortIPs) {
        const v = tryParseIPv4(ip);
        if (v === undefined) throw new InputError('--nodeport-addresses', 'IPv4 addresses', JSON.stringify(ip));
        if (v >>> 24 === 127) continue; // localhost NodePorts are not supported in nftables mode
        tx.push(elementCommand('add', NODEPORT_IPS_SET, { key: [v] }));
      }
    }

    tx.push({ verb: 'add', object: 'map', ...T, name: NO_ENDPOINT_SERVICES_MAP, keyType: SERVICE_KEY, dataType: 'verdict', comment: 'vmap to drop or reject packets to services with no endpoints' });
    tx.push({ verb: 'add', object: 'map', ...T, name: NO_ENDPOINT_NODEPORTS_MAP, keyType: NODEPORT_KEY, dataType: 'verdict', comment: 'vmap to drop or reject packets to service nodeports with no endpoints' });
    tx.push({ verb: 'add', object: 'chain', ...T, name: REJECT_CHAIN, comment: 'helper for @no-endpoint-services / @no-endpoint-nodeports' });
    tx.push({ verb: 'flush', object: 'chain', ...T, name: REJECT_CHAIN });
    this.rule(tx, REJECT_CHAIN, 'reject');
    this.rule(tx, SERVICE_ENDPOINTS_CHECK, `ip daddr . meta l4proto . th dport vmap @${NO_ENDPOINT_SERVICES_MAP}`);
    if (this.nodePortIPs === 'all') this.rule(tx, NODEPORT_ENDPOINTS_CHECK, `${this.noLocalhost()} meta l4proto . th dport vmap @${NO_ENDPOINT_NODEPORTS_MAP}`);
    else this.rule(tx, NODEPORT_ENDPOINTS_CHECK, `ip daddr @${NODEPORT_IPS_SET} meta l4proto . th dport vmap @${NO_ENDPOINT_NODEPORTS_MAP}`);

    tx.push({ verb: 'add', object: 'map', ...T, name: FIREWALL_IPS_MAP, keyType: SERVICE_KEY, dataType: 'verdict', comment: 'destinations that are subject to LoadBalancerSourceRanges' });
    this.ensureChain(tx, FIREWALL_CHECK, setupChains, false);
    this.rule(tx, FIREWALL_CHECK, `ip daddr . meta l4proto . th dport vmap @${FIREWALL_IPS_MAP}`);

    tx.push({ verb: 'add', object: 'map', ...T, name: SERVICE_IPS_MAP, keyType: SERVICE_KEY, dataType: 'verdict', comment: 'ClusterIP, ExternalIP and LoadBalancer IP traffic' });
    tx.push({ verb: 'add', object: 'map', ...T, name: SERVICE_NODEPORTS_MAP, keyType: NODEPORT_KEY, dataType: 'verdict', comment: 'NodePort traffic' });
    this.rule(tx, SERVICES_CHAIN, `ip daddr . meta l4proto . th dport vmap @${SERVICE_IPS_MAP}`);
    if (this.nodePortIPs === 'all') this.rule(tx, SERVICES_CHAIN, `fib daddr type local ${this.noLocalhost()} meta l4proto . th dport vmap @${SERVICE_NODEPORTS_MAP}`);
    else this.rule(tx, SERVICES_CHAIN, `ip daddr @${NODEPORT_IPS_SET} meta l4proto . th dport vmap @${SERVICE_NODEPORTS_MAP}`);

    for (const s of [this.clusterIPs, this.serviceIPs, this.firewallIPs, this.noEndpointServices, this.noEndpointNodePorts, this.serviceNodePorts]) s.reset(tx);
  }

  sync(req: NftablesSyncRequest): NftablesSyncResult {
    const now = req.nowNs ?? 0;
    const before = this.ruleset;
    const tryPartial = !req.full && this.ruleset !== undefined;
    const changed = req.changedServices ?? new Set<string>();

    // Stale chains older than a second go first, in their own transaction.
    const cleanup: Command[] = [];
    for (const [chain, since] of this.staleChains) {
      if (since < now - 1e9) {
        cleanup.push({ verb: 'delete', object: 'chain', family: 'ip', table: KUBE_PROXY_TABLE, name: chain });
        this.staleChains.delete(chain);
      }
    }
    let rs = this.ruleset;
    if (cleanup.length) rs = applyTransaction(rs, cleanup);

    const tx: Command[] = [];
    if (!tryPartial) this.setup(tx, new Set());

    const activeChains = new Set<string>();
    const activeAffinitySets = new Set<string>();
    let totalEndpoints = 0;
    let noLocalInternal = 0;
    let noLocalExternal = 0;
    const ids = [...req.state.services.keys()].sort();
    for (const id of ids) totalEndpoints += req.state.endpoints.get(id)?.length ?? 0;

    for (const id of ids) {
      const sp = req.state.services.get(id)!;
      const protocol = sp.protocol.toLowerCase();
      const protoNum = PROTO_NUMBER[protocol];
      const nameString = sp.nameString;
      const cat = categorizeEndpoints(req.state.endpoints.get(id) ?? [], sp, { nodeName: this.o.nodeName, zone: this.o.zone ?? '' });
      const hasEndpoints = cat.hasAnyEndpoints;
      const skip = tryPartial && !changed.has(namespacedName(sp.portName));
      const base = this.names.serviceBase(sp);
      const affinity = sp.sessionAffinity === 'ClientIP';

      const epChain = new Map<Endpoint, string>();
      for (const ep of cat.allReachableEndpoints) {
        const eb = this.names.endpointBase(sp, ep);
        epChain.set(ep, eb);
        this.ensureChain(tx, ENDPOINT_PREFIX + eb, activeChains, skip);
        if (affinity) activeAffinitySets.add(AFFINITY_PREFIX + eb);
      }

      const clusterPolicyChain = SERVICE_PREFIX + base;
      const usesClusterPolicyChain = cat.clusterEndpoints.length > 0 && usesClusterEndpoints(sp);
      if (usesClusterPolicyChain) this.ensureChain(tx, clusterPolicyChain, activeChains, skip);
      const localPolicyChain = LOCAL_PREFIX + base;
      const usesLocalPolicyChain = cat.localEndpoints.length > 0 && usesLocalEndpoints(sp);
      if (usesLocalPolicyChain) this.ensureChain(tx, localPolicyChain, activeChains, skip);

      let internalTrafficChain = clusterPolicyChain;
      let hasInternalEndpoints = hasEndpoints;
      if (sp.internalPolicyLocal) {
        internalTrafficChain = localPolicyChain;
        if (cat.localEndpoints.length === 0) hasInternalEndpoints = false;
      }
      let externalPolicyChain = clusterPolicyChain;
      let hasExternalEndpoints = hasEndpoints;
      if (sp.externalPolicyLocal) {
        externalPolicyChain = localPolicyChain;
        if (cat.localEndpoints.length === 0) hasExternalEndpoints = false;
      }
      const externalTrafficChain = EXTERNAL_PREFIX + base;
      const usesExternalTrafficChain = hasEndpoints && externallyAccessible(sp);
      if (usesExternalTrafficChain) this.ensureChain(tx, externalTrafficChain, activeChains, skip);

      let internalVerdict: Verdict = { code: 'accept' };
      let externalVerdict: Verdict = { code: 'accept' };
      let internalText = '';
      let externalText = '';
      if (!hasEndpoints) {
        internalVerdict = externalVerdict = { code: 'goto', chain: REJECT_CHAIN };
        internalText = externalText = `goto ${REJECT_CHAIN}`;
      } else {
        if (!hasInternalEndpoints) {
          internalVerdict = { code: 'drop' };
          internalText = 'drop';
          noLocalInternal++;
        }
        if (!hasExternalEndpoints) {
          externalVerdict = { code: 'drop' };
          externalText = 'drop';
          noLocalExternal++;
        }
      }

      const clusterIP = tryParseIPv4(sp.clusterIP)!;
      this.clusterIPs.ensure(tx, sp.clusterIP, { key: [clusterIP] }, '');
      const svcKey = (ip: string): string => `${ip} . ${protocol} . ${sp.port}`;
      const svcElem = (ip: string, v: Verdict, comment?: string): SetElement => ({
        key: [tryParseIPv4(ip)!, protoNum, sp.port],
        value: v,
        ...(comment !== undefined ? { comment } : {}),
      });
      if (hasInternalEndpoints) {
        const v: Verdict = { code: 'goto', chain: internalTrafficChain };
        this.serviceIPs.ensure(tx, svcKey(sp.clusterIP), svcElem(sp.clusterIP, v), `goto ${internalTrafficChain}`);
      } else {
        this.noEndpointServices.ensure(tx, svcKey(sp.clusterIP), svcElem(sp.clusterIP, internalVerdict, nameString), internalText);
      }
      const toExternal: Verdict = { code: 'goto', chain: externalTrafficChain };
      for (const eip of sp.externalIPs) {
        if (hasEndpoints) this.serviceIPs.ensure(tx, svcKey(eip), svcElem(eip, toExternal), `goto ${externalTrafficChain}`);
        if (!hasExternalEndpoints) this.noEndpointServices.ensure(tx, svcKey(eip), svcElem(eip, externalVerdict, nameString), externalText);
      }
      const usesFWChain = sp.loadBalancerVIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0;
      const fwChain = FIREWALL_PREFIX + base;
      if (usesFWChain) this.ensureChain(tx, fwChain, activeChains, skip);
      for (const lbip of sp.loadBalancerVIPs) {
        if (hasEndpoints) this.serviceIPs.ensure(tx, svcKey(lbip), svcElem(lbip, toExternal), `goto ${externalTrafficChain}`);
        if (usesFWChain) this.firewallIPs.ensure(tx, svcKey(lbip), svcElem(lbip, { code: 'goto', chain: fwChain }), `goto ${fwChain}`);
      }
      if (!hasExternalEndpoints) {
        for (const lbip of sp.loadBalancerVIPs) this.noEndpointServices.ensure(tx, svcKey(lbip), svcElem(lbip, externalVerdict, nameString), externalText);
      }
      if (sp.nodePort !== 0) {
        const npKey = `${protocol} . ${sp.nodePort}`;
        if (hasEndpoints) this.serviceNodePorts.ensure(tx, npKey, { key: [protoNum, sp.nodePort], value: toExternal }, `goto ${externalTrafficChain}`);
        if (!hasExternalEndpoints)
          this.noEndpointNodePorts.ensure(tx, npKey, { key: [protoNum, sp.nodePort], value: externalVerdict, comment: nameString }, externalText);
      }

      if (skip) continue;

      if (hasInternalEndpoints) {
        if (this.masqueradeAll) this.rule(tx, internalTrafficChain, `ip daddr ${sp.clusterIP} jump ${MARK_MASQ_CHAIN}`);
        else if (this.localCidr) this.rule(tx, internalTrafficChain, `ip daddr ${sp.clusterIP} ip saddr != ${this.localCidr} jump ${MARK_MASQ_CHAIN}`);
      }

      if (usesExternalTrafficChain) {
        if (!sp.externalPolicyLocal) {
          this.rule(tx, externalTrafficChain, `jump ${MARK_MASQ_CHAIN}`);
        } else {
          if (this.localCidr) this.rule(tx, externalTrafficChain, `ip saddr ${this.localCidr} goto ${clusterPolicyChain} comment "short-circuit pod traffic"`);
          this.rule(tx, externalTrafficChain, `fib saddr type local jump ${MARK_MASQ_CHAIN} comment "masquerade local traffic"`);
          this.rule(tx, externalTrafficChain, `fib saddr type local goto ${clusterPolicyChain} comment "short-circuit local traffic"`);
        }
        if (hasExternalEndpoints) this.rule(tx, externalTrafficChain, `goto ${externalPolicyChain}`);
      }

      if (usesFWChain) {
        const sources: string[] = [];
        let allowFromNode = false;
        for (const r of sp.loadBalancerSourceRanges) {
          const c = tryParseCidr(r.trim());
          if (!c) continue;
          sources.push(formatCidr(c));
          if (this.nodeIP !== undefined && cidrContains(c, this.nodeIP)) allowFromNode = true;
        }
        if (allowFromNode) sources.push(...sp.loadBalancerVIPs);
        this.rule(tx, fwChain, `ip saddr != { ${sources.join(' , ')} } drop`);
      }

      if (affinity) {
        for (const ep of cat.allReachableEndpoints) {
          tx.push({
            verb: 'add',
            object: 'set',
            family: 'ip',
            table: KUBE_PROXY_TABLE,
            name: AFFINITY_PREFIX + epChain.get(ep)!,
            keyType: ['ipv4_addr'],
            flags: ['dynamic', 'timeout'],
            timeoutNs: sp.stickyMaxAgeSeconds * 1e9,
          });
        }
      }

      if (usesClusterPolicyChain) this.writeServiceToEndpointRules(tx, sp, clusterPolicyChain, cat.clusterEndpoints, epChain);
      if (usesLocalPolicyChain) this.writeServiceToEndpointRules(tx, sp, localPolicyChain, cat.localEndpoints, epChain);

      for (const ep of cat.allReachableEndpoints) {
        const chain = ENDPOINT_PREFIX + epChain.get(ep)!;
        this.rule(tx, chain, `ip saddr ${ep.ip} jump ${MARK_MASQ_CHAIN}`);
        if (affinity) this.rule(tx, chain, `update @${AFFINITY_PREFIX}${epChain.get(ep)!} { ip saddr }`);
        this.rule(tx, chain, `meta l4proto ${protocol} dnat to ${ep.endpoint}`);
      }
    }

    // Chains no longer used: flushed now, deleted by a later sync (see staleChains).
    if (rs) {
      const t = rs.tables.get(`ip ${KUBE_PROXY_TABLE}`);
      for (const chain of t?.chains.keys() ?? []) {
        if (!isServiceChainName(chain)) continue;
        if (!activeChains.has(chain)) {
          tx.push({ verb: 'flush', object: 'chain', family: 'ip', table: KUBE_PROXY_TABLE, name: chain });
          this.staleChains.set(chain, now);
        } else this.staleChains.delete(chain);
      }
      for (const set of t?.sets.keys() ?? []) {
        if (isAffinitySetName(set) && !activeAffinitySets.has(set)) tx.push({ verb: 'delete', object: 'set', family: 'ip', table: KUBE_PROXY_TABLE, name: set });
      }
    }
    for (const s of [this.clusterIPs, this.serviceIPs, this.firewallIPs, this.noEndpointServices, this.noEndpointNodePorts, this.serviceNodePorts]) s.cleanup(tx);

    const after = applyTransaction(rs, tx);
    this.ruleset = after;
    return {
      cleanup,
      commands: tx,
      lines: cleanup.length + tx.length,
      ruleset: after,
      before,
      activeChains: activeChains.size,
      totalEndpoints,
      noLocalEndpointsInternal: noLocalInternal,
      noLocalEndpointsExternal: noLocalExternal,
    };
  }

  private writeServiceToEndpointRules(tx: Command[], sp: ServicePort, chain: string, endpoints: readonly Endpoint[], epChain: Map<Endpoint, string>): void {
    if (sp.sessionAffinity === 'ClientIP') {
      for (const ep of endpoints) {
        const b = epChain.get(ep)!;
        this.rule(tx, chain, `ip saddr @${AFFINITY_PREFIX}${b} goto ${ENDPOINT_PREFIX}${b}`);
      }
    }
    const elements = endpoints.map((ep, i) => `${i} : goto ${ENDPOINT_PREFIX}${epChain.get(ep)!}`).join(' , ');
    this.rule(tx, chain, `numgen random mod ${endpoints.length} vmap { ${elements} }`);
  }
}

/** The `nft -f` text of a sync: the cleanup transaction (if any) and the sync transaction. */
export function transactionText(r: NftablesSyncResult): string {
  const parts: string[] = [];
  if (r.cleanup.length) parts.push(renderCommands(r.cleanup, r.before));
  parts.push(renderCommands(r.commands, r.before));
  return parts.join('');
}
