/**
 * Walking the rules for one packet at one hook, as ipt_do_table does (net/ipv4/netfilter/ip_tables.c):
 * per table in hook priority order, from the table's built-in chain, rule by rule; a matching rule's
 * target decides: a verdict ends the table, RETURN or the end of a user chain pops back to the
 * caller, -j pushes, -g replaces the current chain (its end returns to the caller of the chain that
 * did the goto), non-terminating targets (MARK, LOG, TRACE, no target) continue with the next rule.
 * The end of a built-in chain applies its policy.
 *
 * NAT targets set up the binding and accept (nf_nat_setup_info + NF_ACCEPT): the table's walk ends
 * and the hook goes on. DNAT rewrites packet.dst/dport at once because later tables at the same
 * hook (filter in OUTPUT) and the routing decision see the translated destination. SNAT and
 * MASQUERADE are only recorded: the caller applies them when the packet leaves (MASQUERADE needs the
 * outgoing interface's address, which the node knows).
 *
 * Cost: hookNs per hook, ruleWalkNs of the rules visited in the hook (perRuleNs[backend] each, more
 * per rule in a long walk: CostModel.perRuleLogNs), perMatchNs per extension match evaluated,
 * chainJumpNs per jump or goto. It is added to both the HookResult and packet.costNs.
 */
import type { Packet } from '../net/packet.ts';
import { hookCostNs } from '../cost/cost-model.ts';
import { RUN_PORT, type CompiledChain, type CompiledRuleset, type CompiledTable, type IndexedRun } from './compile.ts';
import { PROTOCOL_NUMBER } from '../net/protocol.ts';
import { KEY_ABSENT } from './key-table.ts';
import type { EvalContext, HookResult, TraceStep } from './context.ts';
import { ruleMatches } from './matches.ts';
import { CT_DNAT, CT_SNAT, type Rule, type Target, type Disposition } from './rule.ts';
import { pickRangeAddress } from './nat-range.ts';
import { HOOK_ORDER, type Hook, type TableName } from './ruleset.ts';

/** Walk outcomes. CONTINUE: fell off a user chain or RETURN (the caller goes on). */
const CONTINUE = 0;
const ACCEPT = 1;
const DROP = 2;
const REJECT = 3;
type Outcome = 0 | 1 | 2 | 3;
const VERDICTS: readonly Disposition[] = ['ACCEPT', 'ACCEPT', 'DROP', 'REJECT'];

/** First index in `a` (ascending) with a[k] >= x, or a.length. */
function lowerBound(a: Int32Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A NAT target's binding (nf_nat_setup_info). DNAT rewrites the packet at once; an address range
 * picks its address as find_best_ips_proto does (nat-range.ts) and a port range its first port
 * (nf_nat_l4proto_unique_tuple starts DNAT at offset 0 unless --random). SNAT and MASQUERADE are
 * recorded with their ranges; the caller's conntrack picks the port (nf_nat_l4proto_unique_tuple).
 */
export function applyNatTarget(tg: Extract<Target, { kind: 'dnat' | 'snat' | 'masquerade' }>, p: Packet, ctx: EvalContext, res: HookResult): void {
  if (tg.kind === 'dnat') {
    res.dnat = true;
    res.origDst = p.dst;
    res.origDport = p.dport;
    if (tg.mapIps) p.dst = pickRangeAddress(tg.ip, tg.ipHi, p.src, p.dst, tg.persistent);
    if (tg.port !== 0) p.dport = tg.port;
    ctx.ctState |= CT_DNAT;
    return;
  }
  if (tg.kind === 'snat') {
    res.snat = true;
    res.snatIp = tg.mapIps ? pickRangeAddress(tg.ip, tg.ipHi, p.src, p.dst, tg.persistent) : p.src;
  } else {
    res.masquerade = true;
  }
  res.snatPort = tg.port;
  res.snatPortHi = tg.portHi;
  res.randomFully = tg.randomFully;
  ctx.ctState |= CT_SNAT;
}

/**
 * Extension matches the rules of a port run at positions [from, to) evaluate for `p`, none of which
 * has the packet's (protocol, port): those whose header part passes (same protocol, destination in
 * their -d) evaluate their comments and fail at the port match. See compile.ts.
 */
function portRunMisses(run: IndexedRun, p: Packet, proto: number, from: number, to: number): number {
  let n = 0;
  const cs = run.classes;
  for (let k = 0; k < cs.length; k++) {
    const c = cs[k]!;
    if (c.proto !== proto || ((p.dst & c.mask) >>> 0) !== c.addr) continue;
    n += c.prefix[to - run.start]! - c.prefix[from - run.start]!;
  }
  return n;
}

/** Records a TRACE line with the packet as it is now (only when tracing: allocates). */
export function traceStep(
  trace: TraceStep[],
  hook: Hook,
  table: TableName,
  chain: string,
  type: TraceStep['type'],
  ruleNum: number,
  rule: Rule | null,
  p: Packet,
): void {
  trace.push({ hook, table, chain, type, ruleNum, rule, src: p.src, dst: p.dst, sport: p.sport, dport: p.dport, mark: p.mark });
}

/**
 * Walks one chain for `p` (and, recursively, the chains it jumps to), returning a verdict or
 * CONTINUE; it stays one function because it is the per-rule hot loop, where the index skip, the
 * match and the target share locals that helper calls would have to pass back and forth per rule.
 */
function walkChain(
  t: CompiledTable,
  c: CompiledChain,
  hook: Hook,
  p: Packet,
  ctx: EvalContext,
  res: HookResult,
): Outcome {
  res.chainsEntered++;
  const rules = c.chain.rules;
  const n = rules.length;
  const runOf = c.index.runOf;
  let i = 0;
  // Set when a destination run found rule i by its address: its -d is then known to match.
  let dstKnown = false;
  while (i < n) {
    dstKnown = false;
    if (runOf !== null) {
      const ri = runOf[i]!;
      if (ri >= 0) {
        const run = c.index.runs[ri]!;
        const isPort = run.kind === RUN_PORT;
        const proto = PROTOCOL_NUMBER[p.proto];
        const at = run.byKey.get(isPort ? proto * 65536 + p.dport : p.dst);
        let next = run.end;
        if (at !== KEY_ABSENT) {
          if (at >= 0) {
            if (at >= i) next = at;
          } else {
            const list = run.lists[-at - 1]!;
            const k = lowerBound(list, i);
            if (k < list.length) next = list[k]!;
          }
        }
        res.rulesVisited += next - i;
        if (isPort) res.matchesEvaluated += portRunMisses(run, p, proto, i, next);
        i = next;
        if (i === run.end) continue;
        // A destination run's rule was found by its -d, which is then known to match.
        dstKnown = !isPort;
      }
    }
    const r = rules[i]!;
    res.rulesVisited++;
    if (!ruleMatches(r, p, ctx, res, dstKnown)) {
      i++;
      continue;
    }
    if (ctx.trace !== null) traceStep(ctx.trace, hook, t.name, c.chain.name, 'rule', i + 1, r, p);
    const slot = c.index.targetOf[i]!;
    if (slot >= 0) {
      // -j CHAIN (see ChainIndex.targetOf).
      res.jumps++;
      const out = walkChain(t, c.jumpTargets[slot]!, hook, p, ctx, res);
      if (out !== CONTINUE) return out;
      i++;
      continue;
    }
    if (slot < -1) {
      // -g CHAIN: the end of the target returns to this chain's caller.
      res.jumps++;
      return walkChain(t, c.jumpTargets[-slot - 2]!, hook, p, ctx, res);
    }
    const tg = r.target;
    switch (tg.kind) {
      case 'none':
      case 'log':
        break;
      case 'mark':
        p.mark = ((p.mark & ~tg.mask) ^ tg.value) >>> 0;
        res.markChanged = true;
        break;
      case 'accept':
        return ACCEPT;
      case 'drop':
        return DROP;
      case 'reject':
        res.rejectWith = tg.rejectWith ?? 'icmp-port-unreachable';
        return REJECT;
      case 'return':
        return CONTINUE;
      case 'jump':
      case 'goto':
        // Taken above, from the index.
        break;
      case 'dnat':
      case 'snat':
      case 'masquerade':
        applyNatTarget(tg, p, ctx, res);
        return ACCEPT;
      case 'unknown':
        // Not modelled (CT, CHECKSUM, TPROXY...): the packet goes on, as if the target were absent.
        break;
    }
    i++;
  }
  if (ctx.trace !== null && !c.chain.builtin) {
    traceStep(ctx.trace, hook, t.name, c.chain.name, 'return', n + 1, null, p);
  }
  return CONTINUE;
}

/**
 * Walks one table's built-in chain for `hook`. Returns the table's verdict (ACCEPT when the table
 * has no chain at this hook). Counters accumulate into `res`; cost is charged by evaluateHook.
 */
export function evaluateTable(
  rs: CompiledRuleset,
  table: TableName,
  hook: Hook,
  p: Packet,
  ctx: EvalContext,
  res: HookResult,
): Disposition {
  const t = rs.tables[table];
  const c = t?.hooks[hook];
  if (t === undefined || c === undefined) return 'ACCEPT';
  let out = walkChain(t, c, hook, p, ctx, res);
  if (out === CONTINUE) {
    out = c.chain.policy === 'DROP' ? DROP : ACCEPT;
    if (ctx.trace !== null) {
      traceStep(ctx.trace, hook, table, c.chain.name, 'policy', c.chain.rules.length + 1, null, p);
    }
  }
  return VERDICTS[out]!;
}

/**
 * Runs every table at `hook` in kernel priority order (HOOK_ORDER), calling ctx.conntrack at its
 * place. Nat tables run only when ctx.firstPacket. Sets res.verdict and accumulates counters and
 * cost into `res` (call resetHookResult between packets) and adds this hook's cost to packet.costNs.
 */
export function evaluateHook(rs: CompiledRuleset, hook: Hook, p: Packet, ctx: EvalContext, res: HookResult): Disposition {
  const rules0 = res.rulesVisited;
  const matches0 = res.matchesEvaluated;
  const jumps0 = res.jumps;
  res.hooks++;
  let verdict: Disposition = 'ACCEPT';
  const steps = HOOK_ORDER[hook];
  for (let s = 0; s < steps.length; s++) {
    const step = steps[s]!;
    if (step === 'conntrack') {
      const ct = ctx.conntrack;
      if (ct !== null && !ct.track(p, ctx)) {
        verdict = 'DROP';
        res.dropReason = ct.dropReason ?? 'conntrack';
        break;
      }
      continue;
    }
    if (step === 'nat' && !ctx.firstPacket) continue;
    verdict = evaluateTable(rs, step, hook, p, ctx, res);
    if (verdict !== 'ACCEPT') break;
  }
  const cost = hookCostNs(ctx.costs, ctx.backend, res.rulesVisited - rules0, res.matchesEvaluated - matches0, res.jumps - jumps0);
  res.costNs += cost;
  p.costNs += cost;
  res.verdict = verdict;
  return verdict;
}
