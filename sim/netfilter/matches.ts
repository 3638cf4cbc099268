/**
 * Does a rule match a packet? The built-in IP header part first (kernel ip_packet_match in
 * net/ipv4/netfilter/ip_tables.c: addresses, interfaces, protocol), then the extension matches in
 * rule order, stopping at the first that fails (xt_ematch_foreach in ipt_do_table). Only extension
 * matches are counted in `matchesEvaluated`; the built-in part is part of the per-rule cost.
 */
import type { Packet } from '../net/packet.ts';
import { PROTOCOL_NUMBER } from '../net/protocol.ts';
import type { EvalContext, HookResult } from './context.ts';
import type { AddrType, Match, PortRange, Rule } from './rule.ts';

function ifaceMatches(pattern: string, name: string): boolean {
  // iptables: a trailing '+' matches any interface whose name begins with the prefix.
  if (pattern.endsWith('+')) return name.startsWith(pattern.slice(0, -1));
  return pattern === name;
}

/**
 * `dstKnown`: the caller found the rule by the packet's destination (a compiled destination run, see
 * compile.ts), so its `-d ADDR/32` is known to match and is not read again.
 */
export function builtinMatches(r: Rule, p: Packet, dstKnown = false): boolean {
  if (!dstKnown && r.dst !== null && (((p.dst & r.dst.mask) >>> 0) === r.dst.addr) === r.dstNeg) return false;
  if (r.src !== null && (((p.src & r.src.mask) >>> 0) === r.src.addr) === r.srcNeg) return false;
  if (r.proto !== null && (PROTOCOL_NUMBER[p.proto] === r.proto) === r.protoNeg) return false;
  if (r.inIface !== null && ifaceMatches(r.inIface, p.inIface) === r.inNeg) return false;
  if (r.outIface !== null && ifaceMatches(r.outIface, p.outIface) === r.outNeg) return false;
  return true;
}

function inRange(r: PortRange, port: number): boolean {
  return port >= r.lo && port <= r.hi;
}

function isLocal(ctx: EvalContext, ip: number): boolean {
  return ip >>> 24 === 127 || ctx.localAddrs.has(ip);
}

/** addrtype via the kernel's inet_addr_type: local routes, broadcast, multicast, else unicast. */
function addrTypeIs(ctx: EvalContext, ip: number, t: AddrType): boolean {
  switch (t) {
    case 'LOCAL':
      return isLocal(ctx, ip);
    case 'BROADCAST':
      return ip === 0xffffffff;
    case 'MULTICAST':
      return ip >>> 28 === 0xe;
    case 'UNICAST':
      return !isLocal(ctx, ip) && ip !== 0xffffffff && ip >>> 28 !== 0xe;
  }
}

/** Statistic --mode random: kernel xt_statistic compares (get_random_u32() & 0x7FFFFFFF) < probability. */
const TWO_31 = 0x80000000;

export function extensionMatches(m: Match, p: Packet, ctx: EvalContext): boolean {
  switch (m.kind) {
    case 'comment':
      return true;
    case 'port': {
      if (p.proto !== m.module) return false;
      if (m.sport !== null && inRange(m.sport, p.sport) === m.sportNeg) return false;
      if (m.dport !== null && inRange(m.dport, p.dport) === m.dportNeg) return false;
      if (m.tcpFlags !== null && ((p.tcpFlags & m.tcpFlags.mask) === m.tcpFlags.comp) === m.tcpFlags.neg) return false;
      return true;
    }
    case 'multiport': {
      if (p.proto === 'icmp') return false;
      let hit = false;
      for (const r of m.ports) {
        if ((m.dir !== 'dports' && inRange(r, p.sport)) || (m.dir !== 'sports' && inRange(r, p.dport))) {
          hit = true;
          break;
        }
      }
      return hit !== m.neg;
    }
    case 'addrtype':
      if (m.srcType !== null && addrTypeIs(ctx, p.src, m.srcType) === m.srcNeg) return false;
      if (m.dstType !== null && addrTypeIs(ctx, p.dst, m.dstType) === m.dstNeg) return false;
      return true;
    case 'mark':
      return (((p.mark & m.mask) >>> 0) === m.value) !== m.neg;
    case 'ctstate':
      return ((ctx.ctState & m.states) !== 0) !== m.neg;
    case 'statistic': {
      const rng = ctx.random;
      if (rng === null) throw new Error('netfilter: a statistic match needs EvalContext.random');
      return (Math.floor(rng.random() * TWO_31) < m.probability) !== m.neg;
    }
    case 'nth': {
      // xt_statistic.c statistic_mt, XT_STATISTIC_MODE_NTH: the counter counts this rule's packets;
      // the one that wraps it past every - 1 back to 0 matches. libxt_statistic.c starts it at
      // (every - 1) - packet, so --packet 0 matches the first packet (checked against a kernel:
      // test/golden/netfilter/kernel/nth.txt).
      const counters = (ctx.nth ??= new Map());
      const old = counters.get(m) ?? m.every - 1 - m.packet;
      const next = old === m.every - 1 ? 0 : old + 1;
      counters.set(m, next);
      return (next === 0) !== m.neg;
    }
    case 'recent': {
      if (ctx.recent === null) throw new Error('netfilter: a recent match needs EvalContext.recent');
      return ctx.recent.evaluate(m, m.side === 'rsource' ? p.src : p.dst, ctx.nowNs);
    }
    case 'set': {
      const s = ctx.ipsets?.get(m.setName);
      // The kernel refuses to load a rule naming a missing set; here a missing set simply never matches.
      if (!s) return m.neg;
      return s.test(p, m.flags) !== m.neg;
    }
    case 'nfacct':
      // Counts the packet and matches: see the Match type (xt_nfacct.c).
      return true;
    case 'unknown':
      return false;
  }
}

/** Full rule test, counting extension matches evaluated into `res`. */
export function ruleMatches(r: Rule, p: Packet, ctx: EvalContext, res: HookResult, dstKnown = false): boolean {
  if (!builtinMatches(r, p, dstKnown)) return false;
  const ms = r.matches;
  for (let i = 0; i < ms.length; i++) {
    res.matchesEvaluated++;
    if (!extensionMatches(ms[i]!, p, ctx)) return false;
  }
  return !r.unsupported;
}
