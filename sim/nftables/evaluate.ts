/**
 * A packet through one netfilter hook of an nftables ruleset, with the simulated cost.
 *
 * Semantics (kernel net/netfilter/nf_tables_core.c nft_do_chain, nft(8)):
 * - every base chain registered at the hook runs, in priority order (lower first); `accept` ends
 *   that base chain only, `drop` and `reject` end the packet's journey;
 * - within a chain, rules run in order; a failed match ends the rule; `jump` pushes a return point
 *   (at most NFT_JUMP_STACK_SIZE = 16 deep), `goto` does not, `return` and the end of a regular
 *   chain pop, the end of a base chain applies its policy;
 * - a map lookup that finds no element ends the rule (NFT_BREAK), so `vmap` falls through;
 * - NAT statements (`dnat`, `masquerade`) set up the binding and accept (nft_nat_eval); nat-type
 *   chains only see the first packet of a connection (ct state new), later packets follow the
 *   conntrack binding;
 * - `numgen random mod N` draws uniformly in [0, N) (nft_ng_random_eval: reciprocal_scale of
 *   prandom), here from the caller's named stream.
 *
 * Cost: CostModel.hookNs per base chain entered (each is its own nf_hook_ops registration),
 * nftRuleNs per rule evaluated, nftLookupNs per set/map/verdict-map/anonymous-set lookup. With
 * kube-proxy's verdict maps the walk is a handful of rules and lookups whatever the number of
 * Services: that flatness is the point of nftables mode. The simulator's own work is the same walk
 * (Map probes on numeric keys), so it is flat too.
 */
import type { CostModel } from '../cost/cost-model.ts';
import type { Packet } from '../net/packet.ts';
import { PROTOCOL_NUMBER } from '../net/protocol.ts';
import type { DynamicSets } from './dynamic-sets.ts';
import { CT_STATE_BITS, RADIX, encodeKey, keyDigit, numericKey } from './key.ts';
import { FIB_TYPES, renderRule } from './rule.ts';
import type { AnonElement, Chain, Expr, Field, Hook, KeyCode, NamedSet, Rule, Ruleset, Table, Verdict } from './types.ts';
import { tableKey } from './types.ts';

export const NFT_JUMP_STACK_SIZE = 16;

export interface NftContext {
  /** Simulated time (ns), for timeouts of dynamic set elements. */
  nowNs: number;
  /** Conntrack state bits of the packet (CT_STATE_BITS.new for a first packet). */
  ctState: number;
  /** Addresses `fib daddr type local` treats as local (the node's own); 127.0.0.0/8 always is. */
  localAddresses: ReadonlySet<number>;
  /** Source of `numgen random` draws: uniform in [0, 1). */
  numgen: { random(): number };
  /** Per-node elements written by `update @set` (affinity); lookups of dynamic sets read them. */
  dynamic?: DynamicSets;
  costs: CostModel;
  /** When set, each rule that matched (chain: rule, in nft list spelling) is appended. */
  trace?: string[];
  /**
   * The connection's NAT is already set up although the packet is still NEW: a first packet coming
   * back in through lo after OUTPUT and POSTROUTING. nf_nat_inet_fn (net/netfilter/nf_nat_core.c)
   * runs the nat chains only while nf_nat_initialized() is false for the hook's manip type, and both
   * were set on the way out; filter chains still see `ct state new`.
   */
  natDone?: boolean;
}

export type FinalVerdict = 'accept' | 'drop' | 'reject';

export interface NftHookResult {
  verdict: FinalVerdict;
  costNs: number;
  rulesVisited: number;
  lookups: number;
  baseChains: number;
  /** Destination NAT set up at this hook (the packet's dst/dport are already rewritten). */
  dnat: boolean;
  dnatAddr: number;
  dnatPort: number;
  /** Source NAT to the outgoing interface's address requested (masquerade); the caller rewrites. */
  masquerade: boolean;
  fullyRandom: boolean;
  /** For drop/reject: `chain` where it happened (the drop reason). */
  verdictChain: string;
}

interface CompiledHook {
  readonly chains: readonly { readonly table: Table; readonly tableKey: string; readonly chain: Chain }[];
}

interface Compiled {
  readonly hooks: ReadonlyMap<Hook, CompiledHook>;
}

const compiledCache = new WeakMap<Ruleset, Compiled>();
const numericCache = new WeakMap<NamedSet, boolean>();

/** Base chains per hook in priority order (creation order between equal priorities), cached per version. */
function compile(rs: Ruleset): Compiled {
  let c = compiledCache.get(rs);
  if (c) return c;
  const byHook = new Map<Hook, { table: Table; tableKey: string; chain: Chain; order: number }[]>();
  let order = 0;
  for (const t of rs.tables.values()) {
    const tk = tableKey(t.family, t.name);
    for (const ch of t.chains.values()) {
      if (!ch.base) continue;
      let l = byHook.get(ch.base.hook);
      if (!l) byHook.set(ch.base.hook, (l = []));
      l.push({ table: t, tableKey: tk, chain: ch, order: order++ });
    }
  }
  const hooks = new Map<Hook, CompiledHook>();
  for (const [h, l] of byHook) {
    l.sort((a, b) => a.chain.base!.priority - b.chain.base!.priority || a.order - b.order);
    hooks.set(h, { chains: l.map(({ table, tableKey: tk, chain }) => ({ table, tableKey: tk, chain })) });
  }
  c = { hooks };
  compiledCache.set(rs, c);
  return c;
}

function isNumeric(s: NamedSet): boolean {
  let n = numericCache.get(s);
  if (n === undefined) numericCache.set(s, (n = numericKey(s.keyType)));
  return n;
}

const NEW = CT_STATE_BITS.new;

/** Value of a field for the packet, or -1 when the packet has no such field (ports of ICMP). */
function fieldValue(f: Field, p: Packet, ctx: NftContext): number {
  switch (f) {
    case 'ip saddr':
      return p.src;
    case 'ip daddr':
      return p.dst;
    case 'ip protocol':
    case 'meta l4proto':
      return PROTOCOL_NUMBER[p.proto];
    case 'th dport':
      return p.proto === 'icmp' ? -1 : p.dport;
    case 'th sport':
      return p.proto === 'icmp' ? -1 : p.sport;
    case 'tcp dport':
    case 'udp dport':
    case 'sctp dport':
      return p.proto === f.slice(0, f.indexOf(' ')) ? p.dport : -1;
    case 'tcp sport':
    case 'udp sport':
    case 'sctp sport':
      return p.proto === f.slice(0, f.indexOf(' ')) ? p.sport : -1;
    case 'meta mark':
      return p.mark;
    case 'ct state':
      return ctx.ctState;
    case 'fib saddr type':
      return isLocal(p.src, ctx) ? FIB_TYPES.local : FIB_TYPES.unicast;
    case 'fib daddr type':
      return isLocal(p.dst, ctx) ? FIB_TYPES.local : FIB_TYPES.unicast;
  }
}

function isLocal(ip: number, ctx: NftContext): boolean {
  return ip >>> 24 === 127 || ctx.localAddresses.has(ip);
}

function matchElement(f: Field, v: number, e: AnonElement): boolean {
  if (e.kind === 'prefix') return ((v & e.prefix.mask) >>> 0) === e.prefix.addr;
  if (f === 'ct state') return (v & e.value) !== 0;
  return v === e.value;
}

/** The packet's key for a lookup in `s` through `fields`, or undefined when the packet lacks a field. */
function packetKey(fields: readonly Field[], s: NamedSet, p: Packet, ctx: NftContext): KeyCode | undefined {
  const types = s.keyType;
  if (fields.length !== types.length) return undefined;
  if (isNumeric(s)) {
    let code = 0;
    for (let i = 0; i < fields.length; i++) {
      const v = fieldValue(fields[i], p, ctx);
      if (v < 0) return undefined;
      const d = keyDigit(types[i], v);
      if (d < 0) return undefined;
      code = code * RADIX[types[i]] + d;
    }
    return code;
  }
  const parts: number[] = [];
  for (const f of fields) {
    const v = fieldValue(f, p, ctx);
    if (v < 0) return undefined;
    parts.push(v);
  }
  return encodeKey(types, parts, false);
}

/** Scratch state for one evaluation: a fixed jump stack, reused. */
const stackChains: Chain[] = new Array(NFT_JUMP_STACK_SIZE);
const stackIdx = new Int32Array(NFT_JUMP_STACK_SIZE);

export function newHookResult(): NftHookResult {
  return {
    verdict: 'accept',
    costNs: 0,
    rulesVisited: 0,
    lookups: 0,
    baseChains: 0,
    dnat: false,
    dnatAddr: 0,
    dnatPort: 0,
    masquerade: false,
    fullyRandom: false,
    verdictChain: '',
  };
}

/**
 * Runs `p` through every base chain of `rs` at `hook`. Rewrites p.dst/p.dport on DNAT and p.mark on
 * `mark set`; adds the cost to the result and to p.costNs. Pass `out` to reuse a result record.
 */
export function evaluateHook(rs: Ruleset, hook: Hook, p: Packet, ctx: NftContext, out: NftHookResult = newHookResult()): NftHookResult {
  out.verdict = 'accept';
  out.costNs = 0;
  out.rulesVisited = 0;
  out.lookups = 0;
  out.baseChains = 0;
  out.dnat = false;
  out.dnatAddr = 0;
  out.dnatPort = 0;
  out.masquerade = false;
  out.fullyRandom = false;
  out.verdictChain = '';
  const h = compile(rs).hooks.get(hook);
  if (h) {
    for (const { table, tableKey: tk, chain } of h.chains) {
      if (chain.base!.type === 'nat' && ((ctx.ctState & NEW) === 0 || ctx.natDone === true)) continue;
      out.baseChains++;
      const v = runBaseChain(table, tk, chain, p, ctx, out);
      if (v !== 'accept') {
        out.verdict = v;
        break;
      }
    }
  }
  const c = ctx.costs;
  out.costNs = out.baseChains * c.hookNs + out.rulesVisited * c.nftRuleNs + out.lookups * c.nftLookupNs;
  p.costNs += out.costNs;
  return out;
}

function runBaseChain(table: Table, tk: string, base: Chain, p: Packet, ctx: NftContext, out: NftHookResult): FinalVerdict {
  let chain = base;
  let i = 0;
  let depth = 0;
  for (;;) {
    if (i >= chain.rules.length) {
      if (depth === 0) return chain.base ? chain.base.policy : 'accept';
      depth--;
      chain = stackChains[depth];
      i = stackIdx[depth];
      continue;
    }
    const rule = chain.rules[i++];
    out.rulesVisited++;
    const v = runRule(table, tk, chain, rule, p, ctx, out);
    if (v === undefined) continue;
    switch (v.code) {
      case 'continue':
        continue;
      case 'accept':
        return 'accept';
      case 'drop':
      case 'reject':
        out.verdictChain = chain.name;
        return v.code;
      case 'return':
        if (depth === 0) return chain.base ? chain.base.policy : 'accept';
        depth--;
        chain = stackChains[depth];
        i = stackIdx[depth];
        continue;
      case 'jump':
      case 'goto': {
        const target = table.chains.get(v.chain);
        if (!target) {
          out.verdictChain = chain.name;
          return 'drop';
        }
        if (v.code === 'jump') {
          if (depth >= NFT_JUMP_STACK_SIZE) {
            out.verdictChain = chain.name;
            return 'drop';
          }
          stackChains[depth] = chain;
          stackIdx[depth] = i;
          depth++;
        }
        chain = target;
        i = 0;
        continue;
      }
    }
  }
}

/**
 * Evaluates one rule; returns the verdict it reached (accept after NAT), or undefined to go on.
 * The match and lookup cases stay inline in this one switch because it runs for every expression of
 * every rule a packet visits; only the statements a connection meets once (NAT, `update`) are helpers.
 */
function runRule(table: Table, tk: string, chain: Chain, rule: Rule, p: Packet, ctx: NftContext, out: NftHookResult): Verdict | undefined {
  const exprs = rule.exprs;
  for (let k = 0; k < exprs.length; k++) {
    const e = exprs[k];
    switch (e.kind) {
      case 'cmp': {
        const v = fieldValue(e.field, p, ctx);
        if (v < 0 || matchElement(e.field, v, e.value) === e.negate) return undefined;
        break;
      }
      case 'anon-set': {
        out.lookups++;
        const v = fieldValue(e.field, p, ctx);
        if (v < 0) return undefined;
        let hit = false;
        for (const el of e.elements) if (matchElement(e.field, v, el)) { hit = true; break; }
        if (hit === e.negate) return undefined;
        break;
      }
      case 'mark-cmp':
        if ((((p.mark & e.mask) >>> 0) === e.value) === e.negate) return undefined;
        break;
      case 'lookup': {
        out.lookups++;
        const s = table.sets.get(e.set);
        if (!s) return undefined;
        const key = packetKey(e.fields, s, p, ctx);
        let hit = false;
        if (key !== undefined) {
          hit = s.elements.has(key);
          if (!hit && s.timeoutNs > 0 && ctx.dynamic) hit = ctx.dynamic.has(tk, s.name, key, ctx.nowNs);
        }
        if (hit === e.negate) return undefined;
        break;
      }
      case 'vmap': {
        out.lookups++;
        const s = table.sets.get(e.map);
        if (!s) return undefined;
        const key = packetKey(e.fields, s, p, ctx);
        const el = key === undefined ? undefined : s.elements.get(key);
        if (!el || !el.value) return undefined;
        trace(ctx, chain, rule);
        return el.value;
      }
      case 'numgen-vmap': {
        out.lookups++;
        const n = Math.floor(ctx.numgen.random() * e.mod);
        const v = e.entries.get(n);
        if (!v) return undefined;
        trace(ctx, chain, rule);
        return v;
      }
      case 'mark-set':
        p.mark = (e.op === 'or' ? p.mark | e.value : e.op === 'xor' ? p.mark ^ e.value : e.op === 'and' ? p.mark & e.value : e.value) >>> 0;
        break;
      case 'counter':
        break;
      case 'masquerade':
      case 'dnat':
        applyNat(e, p, out);
        trace(ctx, chain, rule);
        return ACCEPT;
      case 'update':
        updateDynamicSet(table, tk, e, p, ctx);
        break;
      case 'verdict':
        trace(ctx, chain, rule);
        return e.verdict;
    }
  }
  trace(ctx, chain, rule);
  return undefined;
}

const ACCEPT: Verdict = { code: 'accept' };

/** nft_nat_eval: records the binding; DNAT rewrites the packet's destination here, masquerade later. */
function applyNat(e: Extract<Expr, { kind: 'masquerade' | 'dnat' }>, p: Packet, out: NftHookResult): void {
  if (e.kind === 'masquerade') {
    out.masquerade = true;
    out.fullyRandom = e.fullyRandom;
    return;
  }
  out.dnat = true;
  out.dnatAddr = e.addr;
  out.dnatPort = e.port || p.dport;
  p.dst = e.addr;
  if (e.port) p.dport = e.port;
}

/** nft_dynset_eval: adds the packet's key to the set, or refreshes its expiry (no timeout: never). */
function updateDynamicSet(table: Table, tk: string, e: Extract<Expr, { kind: 'update' }>, p: Packet, ctx: NftContext): void {
  const s = table.sets.get(e.set);
  if (!s || !ctx.dynamic) return;
  const key = packetKey(e.fields, s, p, ctx);
  if (key !== undefined) ctx.dynamic.update(tk, s.name, key, ctx.nowNs + (s.timeoutNs || Number.MAX_SAFE_INTEGER - ctx.nowNs));
}

function trace(ctx: NftContext, chain: Chain, rule: Rule): void {
  if (ctx.trace) ctx.trace.push(`${chain.name}: ${renderRule(rule, 'list')}`);
}
