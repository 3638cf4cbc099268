/**
 * Compiling a Ruleset for evaluation. Two things happen:
 *
 * 1. Jump and goto targets are checked (every target exists, no loops — the kernel refuses both:
 *    net/ipv4/netfilter/ip_tables.c mark_source_chains) so the walk never has to.
 *
 * 2. Runs of rules keyed on an exact destination are indexed. There are two kinds:
 *
 *    - destination runs: consecutive rules that each carry a non-negated `-d ADDR/32` (kube-proxy's
 *      KUBE-SERVICES is one long run: one rule per ClusterIP, external IP and load-balancer IP, each
 *      `-d VIP/32 -p tcp ... --dport P`). A rule whose -d differs from the packet's destination fails
 *      in ip_packet_match, before any extension match, so visiting it costs one rule and zero matches.
 *      The lookup is by address; the few rules of an address (one per Service port) are then
 *      evaluated in full, so a wrong protocol or port costs what it costs in a linear walk.
 *    - port runs: consecutive rules without `-d ADDR/32` whose only header matches are a
 *      non-negated `-p tcp|udp|sctp` and optionally a non-negated `-d CIDR`, and whose extension
 *      matches begin with comments and then the protocol's own match with one exact `--dport`
 *      (kube-proxy's KUBE-NODEPORTS: `-p tcp -m comment --comment ... -m tcp --dport 30080`, and its
 *      `-d 127.0.0.0/8` localhost twin). The lookup is by (protocol, port). A skipped rule costs one
 *      rule, plus, when its header part passes (same protocol, destination in its CIDR), its comments
 *      and the port match that fails (xt_ematch_foreach stops there): a per-rule constant, summed
 *      over a skipped stretch from prefix sums kept per (protocol, CIDR) class of the run.
 *
 *    The walk jumps straight to the next rule of the run with the packet's key (a hash lookup in
 *    key-table.ts, one flat array, plus a binary search) and adds what the skipped rules would have
 *    cost to `rulesVisited` and `matchesEvaluated`: the verdict, the rules visited and the matches
 *    evaluated are exactly those of a linear walk, while the simulator's own time no longer grows
 *    with the run's length (it still meets colder memory in a bigger rule set: see bench/netfilter).
 *
 * The index of a chain depends only on its rules, so it is cached per Chain object: rule-set
 * versions that share a chain share its index, and recompiling after a partial sync costs only the
 * changed chains.
 */
import { InputError } from '../io/input-error.ts';
import type { Chain, Hook, Ruleset, Table, TableName } from './ruleset.ts';
import { BUILTIN_CHAINS, TABLE_NAMES } from './ruleset.ts';
import type { Rule } from './rule.ts';
import { PROTOCOL_NUMBER } from '../net/protocol.ts';
import { KeyTable } from './key-table.ts';

/** Runs shorter than this are walked rule by rule (an index would not pay for itself). */
export const MIN_INDEXED_RUN = 8;

/** A run found by the packet's destination address. */
export const RUN_DST = 0;
/** A run found by the packet's (protocol, destination port). */
export const RUN_PORT = 1;

/** At most this many (protocol, -d CIDR) classes in a port run; a rule adding one more starts a new run. */
export const MAX_PORT_RUN_CLASSES = 4;

/**
 * Rules of a port run that share a protocol and a -d (or have none): when the packet has that
 * protocol and its destination is in the CIDR, each of them that the walk skips costs `missMatches`
 * extension matches (its comments and the failing port match); otherwise none.
 */
export interface PortClass {
  proto: number;
  /** -d of the class as in Cidr; no -d is addr 0 and mask 0, which every destination passes. */
  addr: number;
  mask: number;
  /** prefix[k] = sum of missMatches over the class's rules at run positions < start + k. */
  prefix: Int32Array;
}

export interface IndexedRun {
  kind: typeof RUN_DST | typeof RUN_PORT;
  /** Rule positions [start, end) in the chain. */
  start: number;
  end: number;
  /**
   * Key (destination address; or protocol * 65536 + port) -> the position of the only rule of the
   * run with that key (>= 0), or -(k + 1) for a key several rules share, whose ascending positions
   * are `lists[k]`. One rule per key is kube-proxy's normal case, so the common lookup touches no
   * second object.
   */
  byKey: KeyTable;
  lists: Int32Array[];
  /** Port runs only: the classes whose skipped rules count matches (empty for destination runs). */
  classes: PortClass[];
}

export interface ChainIndex {
  /** Run id of each rule position, -1 outside runs; null when the chain has no runs. */
  runOf: Int32Array | null;
  runs: IndexedRun[];
  /** Names of the chains this chain jumps or goes to (for loop checks). */
  targets: string[];
  /**
   * Per rule position: for a jump, the index in `targets` of the chain; for a goto, -(index + 2);
   * -1 for every other target. The walk jumps without reading the rule's target object.
   */
  targetOf: Int32Array;
}

export interface CompiledChain {
  readonly chain: Chain;
  readonly index: ChainIndex;
  /**
   * The compiled chain of each of `index.targets`, resolved when the table is compiled, so a jump
   * costs an array read rather than a lookup by chain name (whose rule-owned name string is cold
   * memory in a 100k-rule chain).
   */
  readonly jumpTargets: CompiledChain[];
}

export interface CompiledTable {
  readonly name: TableName;
  readonly chains: ReadonlyMap<string, CompiledChain>;
  /** The built-in chain at each hook this table sits on. */
  readonly hooks: Partial<Record<Hook, CompiledChain>>;
}

export interface CompiledRuleset {
  readonly source: Ruleset;
  readonly tables: Partial<Record<TableName, CompiledTable>>;
  /** Whether destination runs are indexed (false gives the plain linear walk, for tests). */
  readonly indexed: boolean;
}

export interface CompileOptions {
  /** Index destination runs (default true). */
  index?: boolean;
}

const indexCache = new WeakMap<Chain, ChainIndex>();
const linearCache = new WeakMap<Chain, ChainIndex>();

function isDstKeyed(r: Rule): boolean {
  return r.dst !== null && !r.dstNeg && r.dst.prefix === 32;
}

/**
 * The (protocol * 65536 + port) key of a rule a port run can hold, or -1. Its header part may only
 * be -p and -d (so it passes exactly when the protocol matches and the destination is in the CIDR),
 * and before its port match come only comments, which always match: then a packet of the same
 * protocol with another destination port fails it at that match, after a fixed count of matches.
 */
function portKey(r: Rule): number {
  if (r.proto === null || r.protoNeg || r.src !== null || r.inIface !== null || r.outIface !== null) return -1;
  if (r.dst !== null && (r.dstNeg || r.dst.prefix === 32)) return -1;
  const ms = r.matches;
  for (let k = 0; k < ms.length; k++) {
    const m = ms[k]!;
    if (m.kind === 'comment') continue;
    if (m.kind !== 'port' || PROTOCOL_NUMBER[m.module] !== r.proto) return -1;
    if (m.dport === null || m.dportNeg || m.dport.lo !== m.dport.hi) return -1;
    return r.proto * 65536 + m.dport.lo;
  }
  return -1;
}

/** Extension matches a rule of a port run evaluates before its port match fails (comments + 1). */
function portMissMatches(r: Rule): number {
  let k = 0;
  while (r.matches[k]!.kind === 'comment') k++;
  return k + 1;
}

function classOf(r: Rule): string {
  return `${r.proto}/${r.dst === null ? '' : `${r.dst.addr}/${r.dst.prefix}`}`;
}

function keyIndex(keys: ArrayLike<number>, start: number, end: number): { byKey: KeyTable; lists: Int32Array[] } {
  const lists = new Map<number, number[]>();
  for (let k = start; k < end; k++) {
    const a = keys[k - start]!;
    const l = lists.get(a);
    if (l) l.push(k);
    else lists.set(a, [k]);
  }
  const byKey = new Map<number, number>();
  const shared: Int32Array[] = [];
  for (const [a, l] of lists) {
    if (l.length === 1) byKey.set(a, l[0]!);
    else {
      byKey.set(a, -(shared.length + 1));
      shared.push(Int32Array.from(l));
    }
  }
  return { byKey: new KeyTable(byKey), lists: shared };
}

function dstRun(rules: readonly Rule[], i: number, j: number): IndexedRun {
  const keys = rules.slice(i, j).map((r) => r.dst!.addr);
  return { kind: RUN_DST, start: i, end: j, ...keyIndex(keys, i, j), classes: [] };
}

/** The longest port run starting at i (it ends where a rule has no port key or a class too many). */
function portRunEnd(rules: readonly Rule[], i: number): number {
  const classes = new Set<string>();
  let j = i;
  while (j < rules.length && portKey(rules[j]!) >= 0) {
    const c = classOf(rules[j]!);
    if (!classes.has(c)) {
      if (classes.size === MAX_PORT_RUN_CLASSES) break;
      classes.add(c);
    }
    j++;
  }
  return j;
}

function portRun(rules: readonly Rule[], i: number, j: number): IndexedRun {
  const keys = rules.slice(i, j).map(portKey);
  const byName = new Map<string, PortClass>();
  const classes: PortClass[] = [];
  for (let k = i; k < j; k++) {
    const r = rules[k]!;
    const name = classOf(r);
    let c = byName.get(name);
    if (!c) {
      c = { proto: r.proto!, addr: r.dst?.addr ?? 0, mask: r.dst?.mask ?? 0, prefix: new Int32Array(j - i + 1) };
      byName.set(name, c);
      classes.push(c);
    }
  }
  for (let k = i; k < j; k++) {
    const r = rules[k]!;
    const own = byName.get(classOf(r))!;
    const miss = portMissMatches(r);
    for (const c of classes) c.prefix[k - i + 1] = c.prefix[k - i]! + (c === own ? miss : 0);
  }
  return { kind: RUN_PORT, start: i, end: j, ...keyIndex(keys, i, j), classes };
}

export function buildChainIndex(chain: Chain, index: boolean): ChainIndex {
  const cache = index ? indexCache : linearCache;
  const hit = cache.get(chain);
  if (hit) return hit;
  const rules = chain.rules;
  const targets = new Map<string, number>();
  const targetOf = new Int32Array(rules.length).fill(-1);
  for (let k = 0; k < rules.length; k++) {
    const tg = rules[k]!.target;
    if (tg.kind !== 'jump' && tg.kind !== 'goto') continue;
    let slot = targets.get(tg.chain);
    if (slot === undefined) targets.set(tg.chain, (slot = targets.size));
    targetOf[k] = tg.kind === 'jump' ? slot : -(slot + 2);
  }
  const runs: IndexedRun[] = [];
  let runOf: Int32Array | null = null;
  if (index) {
    let i = 0;
    while (i < rules.length) {
      let j = i;
      let run: IndexedRun | null = null;
      if (isDstKeyed(rules[i]!)) {
        while (j < rules.length && isDstKeyed(rules[j]!)) j++;
        if (j - i >= MIN_INDEXED_RUN) run = dstRun(rules, i, j);
      } else if (portKey(rules[i]!) >= 0) {
        j = portRunEnd(rules, i);
        if (j - i >= MIN_INDEXED_RUN) run = portRun(rules, i, j);
      } else {
        j = i + 1;
      }
      if (run !== null) {
        runOf ??= new Int32Array(rules.length).fill(-1);
        runOf.fill(runs.length, i, j);
        runs.push(run);
      }
      i = j;
    }
  }
  const ci: ChainIndex = { runOf, runs, targets: [...targets.keys()], targetOf };
  cache.set(chain, ci);
  return ci;
}

function compileTable(t: Table, index: boolean): CompiledTable {
  const chains = new Map<string, CompiledChain>();
  for (const [name, chain] of t.chains) chains.set(name, { chain, index: buildChainIndex(chain, index), jumpTargets: [] });
  // Targets must exist and the jump graph must be acyclic.
  for (const [name, c] of chains) {
    for (const target of c.index.targets) {
      const tc = chains.get(target);
      if (!tc) throw new InputError(`table ${t.name}, chain ${name}`, `a jump to an existing chain`, JSON.stringify(target));
      if (tc.chain.builtin) throw new InputError(`table ${t.name}, chain ${name}`, 'a jump to a user-defined chain', `built-in chain ${target}`);
      c.jumpTargets.push(tc);
    }
  }
  const state = new Map<string, 1 | 2>();
  const visit = (name: string, path: string[]): void => {
    const s = state.get(name);
    if (s === 2) return;
    if (s === 1) throw new InputError(`table ${t.name}`, 'no loops between chains', `${[...path, name].join(' -> ')}`);
    state.set(name, 1);
    for (const target of chains.get(name)!.index.targets) visit(target, [...path, name]);
    state.set(name, 2);
  };
  for (const name of chains.keys()) visit(name, []);
  const hooks: Partial<Record<Hook, CompiledChain>> = {};
  for (const h of BUILTIN_CHAINS[t.name]) {
    const c = chains.get(h);
    if (c) hooks[h] = c;
  }
  return { name: t.name, chains, hooks };
}

export function compileRuleset(rs: Ruleset, opts: CompileOptions = {}): CompiledRuleset {
  const index = opts.index ?? true;
  const tables: Partial<Record<TableName, CompiledTable>> = {};
  for (const name of TABLE_NAMES) {
    const t = rs.tables.get(name);
    if (t) tables[name] = compileTable(t, index);
  }
  return { source: rs, tables, indexed: index };
}
