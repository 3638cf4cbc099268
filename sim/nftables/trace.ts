/**
 * One packet through an nftables rule set, hook by hook: each rule that matched (located by table
 * and rule number), what the walk decided (verdict, DNAT, masquerade, mark) and its totals and
 * simulated cost. The hook order is the caller's, which runs `hook` for each hook the packet crosses;
 * `path.firstPacket` is the path's say on whether nat chains still see the packet (a packet coming
 * back in through lo does not, as its connection's NAT was set up on the way out).
 */
import type { CostModel } from '../cost/cost-model.ts';
import { RandomStream } from '../engine/random.ts';
import { formatIPv4 } from '../net/ipv4.ts';
import type { Packet } from '../net/packet.ts';
import type { Protocol } from '../net/protocol.ts';
import { DynamicSets } from './dynamic-sets.ts';
import { evaluateHook, newHookResult, type FinalVerdict, type NftContext, type NftHookResult } from './evaluate.ts';
import { CT_STATE_BITS } from './key.ts';
import { renderRule } from './rule.ts';
import type { Hook, Ruleset } from './types.ts';

/** One rule that matched, and the packet as it entered the hook (the evaluator reports rules, not packet states). */
export interface NftTraceLine {
  hook: Hook;
  /** `FAMILY NAME` of the rule's table ('?' when the rule text is not found). */
  table: string;
  chain: string;
  /** 1-based rule number in its chain (0 when not found). */
  rule: number;
  text: string;
  inIface: string;
  outIface: string;
  packet: { proto: Protocol; src: number; sport: number; dst: number; dport: number; mark: number };
}

export interface NftTraceOptions {
  costs: CostModel;
  /** Seed of the trace/statistic stream `numgen random` draws from. */
  seed: number;
  /** nft `ct state` bits of the packet (CT_STATE_BITS); with `new` nat chains see it. */
  ctState: number;
  localAddrs: ReadonlySet<number>;
}

export interface NftTrace {
  steps: NftTraceLine[];
  /** The destination after DNAT and before it, as ADDR:PORT, or null without DNAT. */
  dnat: string | null;
  origDst: string | null;
  masquerade: boolean;
  randomFully: boolean;
  mark: number;
  rulesVisited: number;
  lookups: number;
  costNs: number;
}

/** Table and rule number of a traced rule (the evaluator reports `chain: rule text`). */
function locateRule(rs: Ruleset, chain: string, text: string): { table: string; rule: number } {
  for (const t of rs.tables.values()) {
    const c = t.chains.get(chain);
    if (!c) continue;
    const k = c.rules.findIndex((r) => renderRule(r, 'list') === text);
    if (k >= 0) return { table: `${t.family} ${t.name}`, rule: k + 1 };
  }
  return { table: '?', rule: 0 };
}

/** Traces packet `p` (rewritten in place by NAT and mark statements) through `rs`. */
export class NftTracer {
  /** The path context: the node's addresses, and whether nat chains still see the packet. */
  readonly path: { localAddrs: ReadonlySet<number>; firstPacket: boolean };
  private readonly ctx: NftContext;
  private readonly trace: string[] = [];
  private readonly res: NftHookResult = newHookResult();
  private readonly lines: NftTraceLine[] = [];
  private readonly totals = { rulesVisited: 0, lookups: 0, costNs: 0 };
  private dnat: string | null = null;
  private masquerade = false;
  private randomFully = false;
  private readonly origDst: string;

  constructor(
    private readonly rs: Ruleset,
    private readonly p: Packet,
    o: NftTraceOptions,
  ) {
    this.ctx = {
      nowNs: 0,
      ctState: o.ctState,
      localAddresses: o.localAddrs,
      numgen: new RandomStream(o.seed, 'trace/statistic'),
      dynamic: new DynamicSets(),
      costs: o.costs,
      trace: this.trace,
    };
    this.origDst = `${formatIPv4(p.dst)}:${p.dport}`;
    this.path = { localAddrs: o.localAddrs, firstPacket: (o.ctState & CT_STATE_BITS.new!) !== 0 };
  }

  /**
   * Evaluates one hook. When the path says nat chains no longer see the packet (it came back in
   * through lo, its NAT set up on the way out) they are skipped; its ct state stays what it was.
   */
  readonly hook = (hook: Hook): FinalVerdict => {
    this.ctx.natDone = !this.path.firstPacket;
    return this.run(hook);
  };

  private run(hook: Hook): FinalVerdict {
    const { p, res, totals } = this;
    const from = this.trace.length;
    const inIface = p.inIface;
    const outIface = p.outIface;
    const before = { ...p };
    evaluateHook(this.rs, hook, p, this.ctx, res);
    totals.rulesVisited += res.rulesVisited;
    totals.lookups += res.lookups;
    totals.costNs += res.costNs;
    if (res.dnat) this.dnat = `${formatIPv4(res.dnatAddr)}:${res.dnatPort}`;
    if (res.masquerade) [this.masquerade, this.randomFully] = [true, res.fullyRandom];
    for (let k = from; k < this.trace.length; k++) {
      const s = this.trace[k]!;
      const colon = s.indexOf(': ');
      const chain = s.slice(0, colon);
      const text = s.slice(colon + 2);
      const where = locateRule(this.rs, chain, text);
      const packet = { proto: p.proto, src: before.src, sport: before.sport, dst: before.dst, dport: before.dport, mark: before.mark };
      this.lines.push({ hook, table: where.table, chain, rule: where.rule, text, inIface, outIface, packet });
    }
    return res.verdict;
  }

  result(): NftTrace {
    return {
      steps: this.lines,
      dnat: this.dnat,
      origDst: this.dnat === null ? null : this.origDst,
      masquerade: this.masquerade,
      randomFully: this.randomFully,
      mark: this.p.mark,
      rulesVisited: this.totals.rulesVisited,
      lookups: this.totals.lookups,
      costNs: this.totals.costNs,
    };
  }
}
