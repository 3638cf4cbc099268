import { applyIptablesRestore } from '../../netfilter/iptables-save.ts';
import { compileRuleset, type CompiledRuleset } from '../../netfilter/compile.ts';
import { replaceChains } from '../../netfilter/recompile.ts';
import { newHookResult, resetHookResult, type EvalContext } from '../../netfilter/context.ts';
import { evaluateHook } from '../../netfilter/evaluate.ts';
import { CT_NEW } from '../../netfilter/rule.ts';
import type { Hook, Ruleset } from '../../netfilter/ruleset.ts';
import { makePacket, type Packet } from '../../net/packet.ts';
import { parseIPv4 } from '../../net/ipv4.ts';
import type { FirstPacketCost, FirstPacketInput } from '../cost/mode-model.ts';
import { kubeProxyBaseRuleset } from '../iptables/node-ruleset.ts';
import { IptablesProxier, restoreText } from '../iptables/proxier.ts';
import { namespacedName } from '../service-port.ts';
import type { FirstPacketAt } from './first-packet-plane.ts';
import type { VersionStates } from './version-state.ts';
import { RecentOracle, StatisticChooser } from './walk-choices.ts';
import { nodeAddress, walkSourceAddress, type WalkSetup } from './walk-setup.ts';
import { walkVerdict } from './walk-verdict.ts';
import { RuleCache } from './rule-cache.ts';
import { KubeServicesOrder } from './kube-services-order.ts';
import { walkViews } from './walk-views.ts';
import type { NodeGroups } from './node-groups.ts';
import type { EndpointListCheck } from './endpoint-list-check.ts';

const HOOKS: readonly Hook[] = ['PREROUTING', 'FORWARD', 'POSTROUTING'];

/** One version's rules (of a node group), and their compiled form in the proxier's KUBE-SERVICES order. */
interface VersionRules {
  ruleset: Ruleset;
  compiled: CompiledRuleset;
}

/** A node's compiled rules: one version in one sync generation's KUBE-SERVICES order. */
interface NodeRules {
  version: number;
  generation: number;
  compiled: CompiledRuleset;
}

/**
 * iptables mode with `dataPlane: rules`: a pod's first packet to a ClusterIP walks the rules the
 * iptables proxier writes for the node's active version, loaded into the netfilter model as
 * sim/proxy/iptables/node-ruleset.ts loads them for `render`, through PREROUTING, FORWARD and
 * POSTROUTING, as sim/proxy/cost/iptables.test.ts walks them to check the formula.
 *
 * A version's rule set is built once (build: a partial sync over the previous version's, as
 * kube-proxy does) and compiled once, and shared by every node at that version (with
 * internalTrafficPolicy Local, once per node: its rules hold its own endpoints). Each node then puts
 * nat and filter KUBE-SERVICES in its own order for its sync generation (kube-services-order.ts),
 * sharing every other compiled chain with the version's (sim/netfilter/recompile.ts replaceChains),
 * so a node's new generation costs two chains' index and the built-in chains above them.
 */
export class IptablesRulesWalk {
  private readonly states: VersionStates;
  private readonly groups: NodeGroups;
  private readonly lists: EndpointListCheck | null;
  private readonly proxier: IptablesProxier;
  private readonly proxiers: IptablesProxier[] = [];
  private readonly versions = new RuleCache<VersionRules>();
  private base: VersionRules | null = null;
  /** Per node group: the newest rules built, and the NAT chains they hold (the next partial sync's existingNatChains). */
  private readonly heads = new Map<number, { version: number; rules: VersionRules; chains: ReadonlySet<string> }>();
  private readonly nodes: (NodeRules | undefined)[] = [];
  private readonly order: KubeServicesOrder;
  private readonly chooser = new StatisticChooser();
  private readonly recent = new RecentOracle();
  private readonly ctx: EvalContext;
  private readonly res = newHookResult();
  private readonly source: number;

  constructor(private readonly setup: WalkSetup) {
    ({ states: this.states, groups: this.groups, lists: this.lists } = walkViews(setup));
    this.proxier = this.proxierFor(0);
    this.order = new KubeServicesOrder(setup.timeline.services, setup.order);
    this.source = walkSourceAddress(setup.clusterCIDR);
    this.ctx = {
      backend: setup.iptablesBackend,
      costs: setup.costs,
      firstPacket: true,
      ctState: CT_NEW,
      random: this.chooser,
      recent: this.recent,
      nowNs: 0,
      ipsets: null,
      localAddrs: new Set([parseIPv4(nodeAddress(0))]),
      conntrack: null,
      trace: null,
    };
  }

  firstPacket(input: FirstPacketInput, at: FirstPacketAt): FirstPacketCost {
    this.lists?.check(at);
    const compiled = this.rulesOf(at);
    const sp = this.setup.timeline.services[at.service]!;
    this.chooser.arm(input.chosen);
    const pinned = input.affinity?.hit && at.endpoint ? this.proxier.names.endpointChain(sp.nameString, sp.protocol, at.endpoint.endpoint) : null;
    this.recent.arm(pinned);
    const p: Packet = makePacket({ proto: sp.protocol === 'UDP' ? 'udp' : 'tcp', src: this.source, dst: parseIPv4(sp.clusterIP), sport: 40000, dport: sp.port });
    const res = this.res;
    resetHookResult(res);
    let disposition: 'ACCEPT' | 'DROP' | 'REJECT' = 'ACCEPT';
    for (const hook of HOOKS) {
      const d = evaluateHook(compiled, hook, p, this.ctx, res);
      if (d !== 'ACCEPT') {
        disposition = d === 'REJECT' ? 'REJECT' : 'DROP';
        break;
      }
    }
    const c = this.setup.costs;
    const verdict = walkVerdict('iptables', { disposition: disposition === 'ACCEPT' ? 'accept' : disposition === 'DROP' ? 'drop' : 'reject', dnatAddr: res.dnat ? p.dst : null, dnatPort: p.dport, masquerade: res.masquerade }, input, at);
    // The conntrack entry is made at PREROUTING's conntrack step, outside the rules (as the formula charges it).
    const hooksNs = res.hooks * c.hookNs;
    return { rulesVisited: res.rulesVisited, lookups: 0, costNs: res.costNs + c.conntrackInsertNs, parts: { hooksNs, conntrackNs: c.conntrackInsertNs, modeNs: res.costNs - hooksNs }, verdict };
  }

  /** The node's compiled rules at its active version and generation (built when either moved). */
  private rulesOf(at: FirstPacketAt): CompiledRuleset {
    const have = this.nodes[at.node];
    if (have && have.version === at.version && have.generation === at.generation) return have.compiled;
    const base = this.versionRules(at.version, at.node).compiled;
    // Only the two KUBE-SERVICES chains differ between the nodes at one version: the version's
    // compiled set is shared, and each node's order replaces those chains and the built-in chains
    // that jump to them (replaceChains).
    const compiled = replaceChains(base, this.order.replacements(base.source, at.node, at.generation));
    this.nodes[at.node] = { version: at.version, generation: at.generation, compiled };
    return compiled;
  }

  private versionRules(version: number, node: number): VersionRules {
    const group = this.groups.group(node);
    return this.versions.get(`${version}/${group}`, this.setup.nodeNames.length, () => this.build(version, group));
  }

  /**
   * The rules of `version` for node group `group` (node-groups.ts: all nodes, a zone's or one node), as
   * kube-proxy reaches them: a partial sync (MinimizeIPTablesRestore: KUBE-SERVICES whole, the
   * changed Services' chains, `-X` for stale ones) restored with --noflush over the group's newest
   * rules when they are not newer, else a full sync over the base rules. The restored set shares every
   * chain the sync did not name with the set it was restored over (sim/netfilter/ruleset.ts).
   */
  private build(version: number, group: number): VersionRules {
    const state = this.states.at(version, this.groups.localName(group));
    const proxier = this.proxierFor(group);
    const head = this.heads.get(group);
    const partial = head !== undefined && head.version <= version;
    const sync = partial
      ? proxier.sync({ state, full: false, changedServices: this.changedServices(head.version, version), existingNatChains: head.chains })
      : proxier.sync({ state, full: true });
    const base = partial ? head.rules : this.baseRules();
    // The restored set shares most chains with the head's: its check compiles only the chains the
    // sync wrote and those above them (RestoreOptions.compiledBase).
    const loaded = applyIptablesRestore(base.ruleset, restoreText(sync), { noflush: true, file: 'kube-proxy iptables-restore input', compiledBase: base.compiled });
    const rules = { ruleset: loaded.ruleset, compiled: loaded.compiled! };
    if (!head || partial) this.heads.set(group, { version, rules, chains: sync.activeNatChains });
    return rules;
  }

  /** kube-proxy's base rules (kubeProxyBaseRuleset), compiled once. */
  private baseRules(): VersionRules {
    if (!this.base) {
      const ruleset = kubeProxyBaseRuleset();
      this.base = { ruleset, compiled: compileRuleset(ruleset) };
    }
    return this.base;
  }

  /** Namespaced names of the Services changed in (from, to], as kube-proxy's change trackers report them. */
  private changedServices(from: number, to: number): Set<string> {
    const ports = this.setup.timeline.services;
    return new Set(this.setup.timeline.servicesChangedBetween(from, to).map((s) => namespacedName(ports[s]!.portName)));
  }

  /**
   * The proxier of node group g, given its node's name and zone (which decide which endpoints are
   * local and which hints apply). Nodes of one group write the same ClusterIP rules: they differ only
   * in what the node's name and address enter, node-port and external-policy rules no
   * pod-to-ClusterIP packet reaches.
   */
  private proxierFor(g: number): IptablesProxier {
    let p = this.proxiers[g];
    if (!p) {
      const names = this.proxiers[0]?.names;
      const { nodeName, zone } = this.groups.topology(g);
      p = new IptablesProxier({ nodeName, zone, nodeIP: nodeAddress(this.groups.node(g)), clusterCIDR: this.setup.clusterCIDR, ...(names ? { names } : {}) });
      this.proxiers[g] = p;
    }
    return p;
  }
}
