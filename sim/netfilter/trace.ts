/**
 * One packet through an iptables rule set, hook by hook, as the kernel's TRACE target logs it
 * (`TRACE: table:chain:type:rulenum IN= OUT= ...`, net/netfilter/nf_log_syslog.c): each step with the
 * rule's text and the packet as it was there, then what the walk decided (verdict, NAT, mark) and
 * its totals and simulated cost. The hook order is the caller's (sim/host packet-path walkPath runs
 * `hook` for each hook the packet crosses); the tracer keeps what each hook did.
 */
import type { CostModel, IptablesBackend } from '../cost/cost-model.ts';
import { RandomStream } from '../engine/random.ts';
import { formatIPv4 } from '../net/ipv4.ts';
import type { Packet } from '../net/packet.ts';
import type { Protocol } from '../net/protocol.ts';
import { compileRuleset, type CompiledRuleset } from './compile.ts';
import { newHookResult, type EvalContext, type HookResult, type TraceStep } from './context.ts';
import { evaluateHook } from './evaluate.ts';
import type { IpsetRegistry } from './ipset.ts';
import type { LoadResult } from './iptables-save.ts';
import { RecentTables } from './recent.ts';
import { CT_NEW, type Disposition } from './rule.ts';
import { renderRule } from './rule-render.ts';
import type { Hook } from './ruleset.ts';

/** One line of the trace: where, what the rule says, and the packet as it was there. */
export interface TraceLine {
  hook: Hook;
  table: string;
  chain: string;
  type: 'rule' | 'return' | 'policy';
  rule: number;
  text: string;
  /** Set when the rule's target is not modelled: says the walk went on past it. */
  note: string | null;
  inIface: string;
  outIface: string;
  packet: { proto: Protocol; src: number; sport: number; dst: number; dport: number; mark: number };
}

export interface IptablesTraceOptions {
  backend: IptablesBackend;
  costs: CostModel;
  /** Seed of the trace/statistic stream -m statistic draws from. */
  seed: number;
  /** CT_* bits of the packet's conntrack state; with CT_NEW it is a first packet and nat chains see it. */
  ctState: number;
  localAddrs: ReadonlySet<number>;
  ipsets: IpsetRegistry | null;
}

/** What the walk decided and what it cost, besides the hooks and the verdict the path walk reports. */
export interface IptablesTrace {
  steps: TraceLine[];
  rejectWith: string | null;
  /** The destination after DNAT and before it, as ADDR:PORT, or null without DNAT. */
  dnat: string | null;
  origDst: string | null;
  snat: string | null;
  masquerade: boolean;
  randomFully: boolean;
  mark: number;
  rulesVisited: number;
  matchesEvaluated: number;
  chainsEntered: number;
  jumps: number;
  costNs: number;
  warnings: string[];
}

/** Where each hook's steps start, with the interfaces the path set (the kernel's IN= and OUT=). */
interface HookMark {
  from: number;
  inIface: string;
  outIface: string;
}

/**
 * Traces packet `p` (rewritten in place by NAT and MARK) through `loaded`. `ctx` is also the path
 * context: the path walk clears ctx.firstPacket while a looped-back packet re-enters, which is how
 * the nat table is skipped on the way back in.
 */
export class IptablesTracer {
  readonly ctx: EvalContext;
  private readonly rs: CompiledRuleset;
  private readonly steps: TraceStep[] = [];
  private readonly res: HookResult = newHookResult();
  private readonly marks: HookMark[] = [];
  private readonly origDst: string;

  constructor(
    private readonly loaded: LoadResult,
    private readonly p: Packet,
    o: IptablesTraceOptions,
  ) {
    this.rs = compileRuleset(loaded.ruleset);
    this.origDst = `${formatIPv4(p.dst)}:${p.dport}`;
    this.ctx = {
      backend: o.backend,
      costs: o.costs,
      firstPacket: (o.ctState & CT_NEW) !== 0,
      ctState: o.ctState,
      random: new RandomStream(o.seed, 'trace/statistic'),
      recent: new RecentTables(),
      nowNs: 0,
      ipsets: o.ipsets,
      localAddrs: o.localAddrs,
      conntrack: null,
      trace: this.steps,
    };
  }

  /** Evaluates one hook, remembering the interfaces the packet had there. */
  readonly hook = (hook: Hook): Disposition => {
    const p = this.p;
    this.marks.push({ from: this.steps.length, inIface: p.inIface, outIface: p.outIface });
    return evaluateHook(this.rs, hook, p, this.ctx, this.res);
  };

  /** The trace so far; `verdict` is the path's (REJECT's --reject-with is reported only with it). */
  result(verdict: Disposition): IptablesTrace {
    const { p, res } = this;
    return {
      steps: this.steps.map((s, k) => this.line(s, k)),
      rejectWith: verdict === 'REJECT' ? res.rejectWith : null,
      dnat: res.dnat ? `${formatIPv4(p.dst)}:${p.dport}` : null,
      origDst: res.dnat ? this.origDst : null,
      snat: res.snat
        ? `${formatIPv4(res.snatIp)}${res.snatPort ? ':' + res.snatPort + (res.snatPortHi !== res.snatPort ? '-' + res.snatPortHi : '') : ''}`
        : null,
      masquerade: res.masquerade,
      randomFully: res.randomFully,
      mark: p.mark,
      rulesVisited: res.rulesVisited,
      matchesEvaluated: res.matchesEvaluated,
      chainsEntered: res.chainsEntered,
      jumps: res.jumps,
      costNs: res.costNs,
      warnings: this.loaded.warnings.map((w) => `${w.where}: ${w.message}`),
    };
  }

  /** The interfaces of the hook step k was taken in. */
  private ifacesAt(k: number): HookMark {
    let f = this.marks[0]!;
    for (const m of this.marks) if (m.from <= k) f = m;
    return f;
  }

  private line(s: TraceStep, k: number): TraceLine {
    const at = this.ifacesAt(k);
    return {
      hook: s.hook,
      table: s.table,
      chain: s.chain,
      type: s.type,
      rule: s.ruleNum,
      text:
        s.type === 'rule'
          ? renderRule(s.chain, s.rule!)
          : s.type === 'policy'
            ? `(policy ${this.loaded.ruleset.tables.get(s.table)!.chains.get(s.chain)!.policy})`
            : `(end of ${s.chain}: return)`,
      note:
        s.type === 'rule' && s.rule!.target.kind === 'unknown'
          ? `target ${s.rule!.target.name} is not modelled: the packet goes on to the next rule`
          : null,
      inIface: at.inIface,
      outIface: at.outIface,
      packet: { proto: this.p.proto, src: s.src, sport: s.sport, dst: s.dst, dport: s.dport, mark: s.mark },
    };
  }
}
