/**
 * Compiling a rule set that differs from one already compiled in a few chains: the common case of a
 * node whose kube-proxy restored a partial sync (a new KUBE-SERVICES and the changed Services'
 * chains) over the rules it had. The new set shares every other Chain object with the old
 * (ruleset.ts), and a compiled chain depends only on its Chain and on the compiled chains it jumps to,
 * so those are reused whole and only the changed chains, and the chains that jump to them, are
 * compiled again. The answer is the one compileRuleset gives; any rule set this walk cannot vouch for
 * (a missing target, a jump to a built-in chain, a loop) is handed to compileRuleset, which reports it.
 */
import { buildChainIndex, compileRuleset, type CompileOptions, type CompiledChain, type CompiledRuleset, type CompiledTable } from './compile.ts';
import { BUILTIN_CHAINS, TABLE_NAMES, type Chain, type Hook, type Ruleset, type Table, type TableName } from './ruleset.ts';

/** Thrown inside, caught below: the table needs compileRuleset's own checks and messages. */
class NotReusable extends Error {}

export function recompileRuleset(prev: CompiledRuleset | null, rs: Ruleset, opts: CompileOptions = {}): CompiledRuleset {
  const index = opts.index ?? true;
  if (prev === null || prev.indexed !== index) return compileRuleset(rs, opts);
  const tables: Partial<Record<TableName, CompiledTable>> = {};
  try {
    for (const name of TABLE_NAMES) {
      const t = rs.tables.get(name);
      if (t) tables[name] = recompileTable(prev.tables[name], t, index);
    }
  } catch (e) {
    if (e instanceof NotReusable) return compileRuleset(rs, opts);
    throw e;
  }
  return { source: rs, tables, indexed: index };
}

function recompileTable(prev: CompiledTable | undefined, t: Table, index: boolean): CompiledTable {
  // Every name first, so the map keeps the table's declaration order (as compileRuleset's does) while
  // chains are resolved targets first.
  const chains = new Map<string, CompiledChain | null>();
  for (const name of t.chains.keys()) chains.set(name, null);
  /** Chains being resolved (a jump back to one of them is a loop). */
  const open = new Set<string>();
  const resolve = (name: string): CompiledChain => {
    const done = chains.get(name);
    if (done) return done;
    const chain = t.chains.get(name);
    if (!chain || open.has(name)) throw new NotReusable();
    open.add(name);
    const compiled = reused(prev?.chains.get(name), chain, resolve) ?? fresh(chain, index, resolve);
    open.delete(name);
    chains.set(name, compiled);
    return compiled;
  };
  for (const name of t.chains.keys()) resolve(name);
  const hooks: Partial<Record<Hook, CompiledChain>> = {};
  for (const h of BUILTIN_CHAINS[t.name]) {
    const c = chains.get(h);
    if (c) hooks[h] = c;
  }
  return { name: t.name, chains: chains as Map<string, CompiledChain>, hooks };
}

/** The old compiled chain when its Chain is the same object and every chain it jumps to was reused too. */
function reused(old: CompiledChain | undefined, chain: Chain, resolve: (name: string) => CompiledChain): CompiledChain | null {
  if (old === undefined || old.chain !== chain) return null;
  const targets = old.index.targets;
  for (let i = 0; i < targets.length; i++) if (resolve(targets[i]!) !== old.jumpTargets[i]) return null;
  return old;
}

/** A chain compiled anew: its index (cached per Chain object) and its targets, none of them a built-in chain. */
function fresh(chain: Chain, index: boolean, resolve: (name: string) => CompiledChain): CompiledChain {
  const ci = buildChainIndex(chain, index);
  const jumpTargets = ci.targets.map((target) => {
    const c = resolve(target);
    if (c.chain.builtin) throw new NotReusable();
    return c;
  });
  return { chain, index: ci, jumpTargets };
}
