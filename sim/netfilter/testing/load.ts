/**
 * Test helper: compile iptables-save text and push one packet through one hook, returning what a
 * test wants to look at (verdict, the HookResult, the packet after the walk, and the trace as
 * `table:chain:type:rulenum` strings, the kernel TRACE target's spelling).
 */
import type { Packet } from '../../net/packet.ts';
import { compileRuleset, type CompiledRuleset } from '../compile.ts';
import { newHookResult, type EvalContext, type HookResult, type TraceStep } from '../context.ts';
import { evaluateHook } from '../evaluate.ts';
import { parseIptablesSave } from '../iptables-save.ts';
import type { Disposition } from '../rule.ts';
import type { Hook } from '../ruleset.ts';
import { testContext } from './context.ts';

/** `tables` maps a table name to its rule lines (`-A ...`, `:CHAIN - [0:0]`, `:INPUT DROP`). */
export function rulesFrom(tables: Record<string, string[]>): CompiledRuleset {
  const text = Object.entries(tables)
    .map(([t, lines]) => [`*${t}`, ...lines, 'COMMIT'].join('\n'))
    .join('\n');
  return compileRuleset(parseIptablesSave(text + '\n', 'test.rules').ruleset);
}

export interface Walk {
  verdict: Disposition;
  res: HookResult;
  packet: Packet;
  trace: string[];
  ctx: EvalContext;
}

export function walk(rs: CompiledRuleset, hook: Hook, packet: Packet, ctx: EvalContext = testContext()): Walk {
  const steps: TraceStep[] = [];
  ctx.trace = steps;
  const res = newHookResult();
  const verdict = evaluateHook(rs, hook, packet, ctx, res);
  return { verdict, res, packet, trace: steps.map((s) => `${s.table}:${s.chain}:${s.type}:${s.ruleNum}`), ctx };
}
