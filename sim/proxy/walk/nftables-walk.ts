import { evaluateHook, newHookResult, type NftContext } from '../../nftables/evaluate.ts';
import { CT_STATE_BITS } from '../../nftables/key.ts';
import type { Hook, Ruleset } from '../../nftables/types.ts';
import { makePacket } from '../../net/packet.ts';
import { parseIPv4 } from '../../net/ipv4.ts';
import type { FirstPacketCost, FirstPacketInput } from '../cost/mode-model.ts';
import { AFFINITY_PREFIX, NftNameCache } from '../nftables/chain-names.ts';
import { NftablesProxier } from '../nftables/proxier.ts';
import { namespacedName } from '../service-port.ts';
import type { FirstPacketAt } from './first-packet-plane.ts';
import { RuleCache } from './rule-cache.ts';
import type { VersionStates } from './version-state.ts';
import { AffinitySetOracle, NumgenChooser } from './walk-choices.ts';
import { nodeAddress, walkSourceAddress, type WalkSetup } from './walk-setup.ts';
import { walkVerdict } from './walk-verdict.ts';
import { walkViews } from './walk-views.ts';
import type { NodeGroups } from './node-groups.ts';
import type { EndpointListCheck } from './endpoint-list-check.ts';

const HOOKS: readonly Hook[] = ['prerouting', 'forward', 'postrouting'];

/**
 * nftables mode with `dataPlane: rules`: a pod's first packet to a ClusterIP walks the kube-proxy
 * table the nftables proxier (kube-proxy's pkg/proxy/nftables/proxier.go) leaves for the node's
 * active version, through prerouting,
 * forward and postrouting, as sim/proxy/cost/nftables.test.ts walks it to check the formula. The
 * service-ips verdict map finds a port in one lookup, so no order matters here: a version's table is
 * built once (build) and shared by every node at it (with internalTrafficPolicy Local, one per node),
 * and the nft model compiles each table once (its WeakMap cache in sim/nftables/evaluate.ts).
 */
export class NftablesRulesWalk {
  private readonly states: VersionStates;
  private readonly groups: NodeGroups;
  private readonly lists: EndpointListCheck | null;
  private readonly names = new NftNameCache();
  private readonly versions = new RuleCache<Ruleset>();
  /** Per node group: the proxier that wrote its newest table, and that table's version. */
  private readonly heads = new Map<number, { version: number; proxier: NftablesProxier }>();
  private clockNs = 0;
  private readonly chooser = new NumgenChooser();
  private readonly affinity = new AffinitySetOracle();
  private readonly ctx: NftContext;
  private readonly res = newHookResult();
  private readonly source: number;

  constructor(private readonly setup: WalkSetup) {
    ({ states: this.states, groups: this.groups, lists: this.lists } = walkViews(setup));
    this.source = walkSourceAddress(setup.clusterCIDR);
    this.ctx = {
      nowNs: 0,
      ctState: CT_STATE_BITS.new!,
      localAddresses: new Set([parseIPv4(nodeAddress(0))]),
      numgen: this.chooser,
      dynamic: this.affinity,
      costs: setup.costs,
    };
  }

  firstPacket(input: FirstPacketInput, at: FirstPacketAt): FirstPacketCost {
    this.lists?.check(at);
    const rs = this.rulesOf(at.version, at.node);
    const sp = this.setup.timeline.services[at.service]!;
    this.chooser.arm(input.chosen, input.endpoints);
    this.affinity.arm(input.affinity?.hit && at.endpoint ? AFFINITY_PREFIX + this.names.endpointBase(sp, at.endpoint) : null);
    const p = makePacket({ proto: sp.protocol === 'UDP' ? 'udp' : 'tcp', src: this.source, dst: parseIPv4(sp.clusterIP), sport: 40000, dport: sp.port });
    let rules = 0;
    let lookups = 0;
    let costNs = 0;
    let hooks = 0;
    let disposition: 'accept' | 'drop' | 'reject' = 'accept';
    let dnatAddr: number | null = null;
    let dnatPort = 0;
    let masquerade = false;
    for (const hook of HOOKS) {
      const r = evaluateHook(rs, hook, p, this.ctx, this.res);
      hooks++;
      rules += r.rulesVisited;
      lookups += r.lookups;
      costNs += r.costNs;
      if (r.dnat) {
        dnatAddr = r.dnatAddr;
        dnatPort = r.dnatPort;
      }
      masquerade ||= r.masquerade;
      disposition = r.verdict;
      if (disposition !== 'accept') break;
    }
    const verdict = walkVerdict('nftables', { disposition, dnatAddr, dnatPort, masquerade }, input, at);
    const c = this.setup.costs;
    const hooksNs = hooks * c.hookNs;
    return { rulesVisited: rules, lookups, costNs: costNs + c.conntrackInsertNs, parts: { hooksNs, conntrackNs: c.conntrackInsertNs, modeNs: costNs - hooksNs }, verdict };
  }

  /**
   * The table at `version` for node `node`: its group's (node-groups.ts). The nodes of a group have
   * tables that differ only in the node's name and address, which enter node-port and
   * external-policy rules no pod-to-ClusterIP packet reaches.
   */
  private rulesOf(version: number, node: number): Ruleset {
    const group = this.groups.group(node);
    return this.versions.get(`${version}/${group}`, this.setup.nodeNames.length, () => this.build(version, group));
  }

  /**
   * The group's table at `version` as kube-proxy reaches it: a partial sync (the changed Services'
   * chains and elements) by the group's proxier when it is not past `version`, else a full sync by a
   * fresh one. Each sync's table is a new value sharing untouched chains and sets with the last
   * (sim/nftables/transaction.ts). Syncs are a simulated 2 s apart, so the chains a sync leaves
   * stale are deleted by the next (kube-proxy deletes them once a second has passed).
   */
  private build(version: number, group: number): Ruleset {
    const state = this.states.at(version, this.groups.localName(group));
    const head = this.heads.get(group);
    this.clockNs += 2e9;
    if (head && head.version <= version) {
      const ports = this.setup.timeline.services;
      const changedServices = new Set(this.setup.timeline.servicesChangedBetween(head.version, version).map((s) => namespacedName(ports[s]!.portName)));
      head.version = version;
      return head.proxier.sync({ state, full: false, changedServices, nowNs: this.clockNs }).ruleset;
    }
    const { nodeName, zone } = this.groups.topology(group);
    const proxier = new NftablesProxier({ nodeName, zone, nodeIP: nodeAddress(this.groups.node(group)), clusterCIDR: this.setup.clusterCIDR, serviceCIDRs: [this.setup.serviceCIDR], names: this.names });
    const rs = proxier.sync({ state, full: true, nowNs: this.clockNs }).ruleset;
    if (!head) this.heads.set(group, { version, proxier });
    return rs;
  }
}
