/**
 * What a hook evaluation needs besides the rules and the packet, and what it gives back. The node's
 * packet path owns one EvalContext and one HookResult per node and reuses them for every packet, so
 * the hot path allocates nothing (trace recording aside, which is off unless `trace` is an array).
 */
import type { CostModel, IptablesBackend } from '../cost/cost-model.ts';
import type { RandomStream } from '../engine/random.ts';
import type { Packet } from '../net/packet.ts';
import type { IpsetRegistry } from './ipset.ts';
import type { RecentTables } from './recent.ts';
import type { Hook, TableName } from './ruleset.ts';
import type { Rule, Disposition } from './rule.ts';

/** One line of the kernel's TRACE output: a rule that matched, or a chain's return or policy. */
export interface TraceStep {
  hook: Hook;
  table: TableName;
  chain: string;
  /** 'rule': the rule matched; 'return': fell off the end of a user chain; 'policy': built-in chain policy. */
  type: 'rule' | 'return' | 'policy';
  /** 1-based rule number as the kernel prints it (for return/policy: number of rules + 1). */
  ruleNum: number;
  rule: Rule | null;
  /** The packet as the kernel's TRACE line shows it at this step (DNAT and MARK change it). */
  src: number;
  dst: number;
  sport: number;
  dport: number;
  mark: number;
}

/**
 * The conntrack step between raw and mangle (PREROUTING, OUTPUT). The conntrack model implements
 * this: it looks the packet up (or creates an entry) and fills ctx.firstPacket and ctx.ctState.
 * Returning false drops the packet (e.g. table full); `dropReason` then says why.
 */
export interface ConntrackStep {
  track(packet: Packet, ctx: EvalContext): boolean;
  dropReason?: string;
}

export interface EvalContext {
  backend: IptablesBackend;
  costs: CostModel;
  /** True for the first packet of a connection: only then are nat chains traversed (kernel nf_nat). */
  firstPacket: boolean;
  /** CT_* bits of this packet's conntrack state, for -m conntrack --ctstate / -m state. */
  ctState: number;
  /** Stream for -m statistic --mode random (e.g. sim.rng(`netfilter/${node}/statistic`)). */
  random: RandomStream | null;
  /** -m recent lists of this network namespace. */
  recent: RecentTables | null;
  /**
   * Counters of -m statistic --mode nth matches in this network namespace, by match (xt_statistic
   * keeps one per rule); created on first use when absent.
   */
  nth?: Map<object, number>;
  /** Simulated now, for -m recent --seconds. */
  nowNs: number;
  ipsets: IpsetRegistry | null;
  /** Addresses of this namespace (addrtype LOCAL; 127.0.0.0/8 is always local). */
  localAddrs: ReadonlySet<number>;
  /** Called at the 'conntrack' position of PREROUTING and OUTPUT when set. */
  conntrack: ConntrackStep | null;
  /** Step recording for the tracer; null on the hot path. */
  trace: TraceStep[] | null;
}

export interface HookResult {
  verdict: Disposition;
  rejectWith: string | null;
  /** Why a DROP happened when it was not a rule (e.g. conntrack table full), else null. */
  dropReason: string | null;
  /** DNAT chosen (the packet's dst/dport are already rewritten: later tables see the new address). */
  dnat: boolean;
  origDst: number;
  origDport: number;
  /** SNAT --to-source chosen (applied by the caller at the end of POSTROUTING / INPUT, as nf_nat does). */
  snat: boolean;
  snatIp: number;
  /** The port range of SNAT --to-source ...:LO-HI or MASQUERADE --to-ports LO-HI; 0 and 0 when none. */
  snatPort: number;
  snatPortHi: number;
  masquerade: boolean;
  /** --random-fully on the SNAT/MASQUERADE that was chosen (port picked by the caller's conntrack). */
  randomFully: boolean;
  /** A MARK target ran (packet.mark holds the new value). */
  markChanged: boolean;
  /** Totals, accumulated across calls until resetHookResult. */
  chainsEntered: number;
  rulesVisited: number;
  matchesEvaluated: number;
  jumps: number;
  hooks: number;
  costNs: number;
}

export function newHookResult(): HookResult {
  return {
    verdict: 'ACCEPT',
    rejectWith: null,
    dropReason: null,
    dnat: false,
    origDst: 0,
    origDport: 0,
    snat: false,
    snatIp: 0,
    snatPort: 0,
    snatPortHi: 0,
    masquerade: false,
    randomFully: false,
    markChanged: false,
    chainsEntered: 0,
    rulesVisited: 0,
    matchesEvaluated: 0,
    jumps: 0,
    hooks: 0,
    costNs: 0,
  };
}

export function resetHookResult(r: HookResult): void {
  r.verdict = 'ACCEPT';
  r.rejectWith = null;
  r.dropReason = null;
  r.dnat = false;
  r.origDst = 0;
  r.origDport = 0;
  r.snat = false;
  r.snatIp = 0;
  r.snatPort = 0;
  r.snatPortHi = 0;
  r.masquerade = false;
  r.randomFully = false;
  r.markChanged = false;
  r.chainsEntered = 0;
  r.rulesVisited = 0;
  r.matchesEvaluated = 0;
  r.jumps = 0;
  r.hooks = 0;
  r.costNs = 0;
}
