/**
 * A plain linear walk of a Ruleset, written independently of compile.ts and evaluate.ts: every rule
 * of every chain is tested in order, nothing is indexed. It is the reference the compiled walk is
 * checked against (the compiled walk must give the same verdict, NAT result, trace and counts).
 *
 * Semantics are ipt_do_table's (net/ipv4/netfilter/ip_tables.c), spelled out as directly as
 * possible: a jump pushes a return point, a goto does not, RETURN and the end of a user chain pop,
 * an empty stack means the built-in chain's policy.
 */
import type { Packet } from '../../net/packet.ts';
import { hookCostNs } from '../../cost/cost-model.ts';
import type { EvalContext, HookResult } from '../context.ts';
import { applyNatTarget, traceStep } from '../evaluate.ts';
import { ruleMatches } from '../matches.ts';
import type { Disposition } from '../rule.ts';
import { HOOK_ORDER, type Chain, type Hook, type Ruleset, type Table, type TableName } from '../ruleset.ts';

type Frame = { chain: Chain; next: number };

/** A built-in chain's policy, where a walk that found no verdict ends (traced as the kernel's `policy` line). */
function policy(t: Table, builtin: Chain, hook: Hook, p: Packet, ctx: EvalContext): Disposition {
  if (ctx.trace) traceStep(ctx.trace, hook, t.name, builtin.name, 'policy', builtin.rules.length + 1, null, p);
  return builtin.policy === 'DROP' ? 'DROP' : 'ACCEPT';
}

/** One table at one hook, with an explicit return stack (the kernel's jumpstack). */
function linearTable(t: Table, hook: Hook, p: Packet, ctx: EvalContext, res: HookResult): Disposition {
  const base = t.chains.get(hook);
  if (base === undefined) return 'ACCEPT';
  const stack: Frame[] = [];
  let chain = base;
  let i = 0;
  res.chainsEntered++;
  for (;;) {
    if (i >= chain.rules.length) {
      // End of chain: implicit RETURN for a user chain, policy for the built-in one.
      if (chain.builtin) return policy(t, chain, hook, p, ctx);
      if (ctx.trace) traceStep(ctx.trace, hook, t.name, chain.name, 'return', chain.rules.length + 1, null, p);
      const top = stack.pop();
      // A goto from the built-in chain fell off the end: the built-in chain's policy.
      if (top === undefined) return policy(t, base, hook, p, ctx);
      chain = top.chain;
      i = top.next;
      continue;
    }
    const r = chain.rules[i]!;
    res.rulesVisited++;
    if (!ruleMatches(r, p, ctx, res)) {
      i++;
      continue;
    }
    if (ctx.trace) traceStep(ctx.trace, hook, t.name, chain.name, 'rule', i + 1, r, p);
    const tg = r.target;
    switch (tg.kind) {
      case 'accept':
        return 'ACCEPT';
      case 'drop':
        return 'DROP';
      case 'reject':
        res.rejectWith = tg.rejectWith ?? 'icmp-port-unreachable';
        return 'REJECT';
      case 'return': {
        // RETURN in the built-in chain, or with nothing to return to: the built-in chain's policy.
        const top = chain.builtin ? undefined : stack.pop();
        if (top === undefined) return policy(t, base, hook, p, ctx);
        chain = top.chain;
        i = top.next;
        continue;
      }
      case 'jump':
        res.jumps++;
        res.chainsEntered++;
        stack.push({ chain, next: i + 1 });
        chain = t.chains.get(tg.chain)!;
        i = 0;
        continue;
      case 'goto':
        res.jumps++;
        res.chainsEntered++;
        chain = t.chains.get(tg.chain)!;
        i = 0;
        continue;
      case 'mark':
        p.mark = ((p.mark & ~tg.mask) ^ tg.value) >>> 0;
        res.markChanged = true;
        break;
      case 'dnat':
      case 'snat':
      case 'masquerade':
        applyNatTarget(tg, p, ctx, res);
        return 'ACCEPT';
      case 'none':
      case 'log':
      case 'unknown':
        break;
    }
    i++;
  }
}

/** evaluateHook's contract (verdict, counters and cost into `res`, cost onto the packet), linearly. */
export function linearEvaluateHook(rs: Ruleset, hook: Hook, p: Packet, ctx: EvalContext, res: HookResult): Disposition {
  const rules0 = res.rulesVisited;
  const matches0 = res.matchesEvaluated;
  const jumps0 = res.jumps;
  res.hooks++;
  let verdict: Disposition = 'ACCEPT';
  for (const step of HOOK_ORDER[hook]) {
    if (step === 'conntrack') {
      if (ctx.conntrack !== null && !ctx.conntrack.track(p, ctx)) {
        verdict = 'DROP';
        res.dropReason = ctx.conntrack.dropReason ?? 'conntrack';
        break;
      }
      continue;
    }
    if (step === 'nat' && !ctx.firstPacket) continue;
    const t = rs.tables.get(step as TableName);
    if (t === undefined) continue;
    verdict = linearTable(t, hook, p, ctx, res);
    if (verdict !== 'ACCEPT') break;
  }
  const cost = hookCostNs(ctx.costs, ctx.backend, res.rulesVisited - rules0, res.matchesEvaluated - matches0, res.jumps - jumps0);
  res.costNs += cost;
  p.costNs += cost;
  res.verdict = verdict;
  return verdict;
}
