/**
 * A node's host network namespace: interfaces with addresses, routes, the netfilter rules it last
 * synced (a CompiledRuleset, shared between nodes), and its conntrack table, with the kernel's packet
 * path through them.
 *
 * Packet path (torvalds/linux net/ipv4/ip_input.c, ip_forward.c, ip_output.c; hook priorities in
 * include/uapi/linux/netfilter_ipv4.h enum nf_ip_hook_priorities):
 *   received:  PREROUTING (raw -> conntrack -> mangle -> nat DST) -> routing decision (ip_rcv_finish) ->
 *              INPUT (mangle -> filter -> nat SRC -> confirm)      for a local address (ip_local_deliver), or
 *              FORWARD (mangle -> filter) -> POSTROUTING (mangle -> nat SRC -> confirm) and out (ip_forward).
 *   generated: routing (ip_route_output) -> OUTPUT (raw -> conntrack -> mangle -> nat DST -> filter) ->
 *              rerouting if NAT changed the destination (nf_nat_ipv4_local_fn -> ip_route_me_harder) ->
 *              POSTROUTING -> out; for a local destination the packet goes out on lo and comes back in
 *              through PREROUTING already carrying its conntrack (nf_conntrack_in: "Previously seen
 *              (loopback or untracked)"), whose nat is already set up, -> INPUT.
 *
 * NAT (net/netfilter/nf_nat_core.c nf_nat_inet_fn): at each nat position the nat table is walked only
 * while the connection's NAT for that manip type is not initialised, i.e. for the first packet of a
 * connection (its conntrack entry is still unconfirmed); when no rule picks a NAT the kernel installs a
 * null binding. Every packet, first or not, is then translated from the entry (nf_nat_packet): at the
 * DST positions (PREROUTING, OUTPUT) the original direction gets the DNAT target and the reply direction
 * the un-SNAT; at the SRC positions (POSTROUTING, INPUT) the original direction gets the SNAT source and
 * the reply direction the un-DNAT (the Service address the client connected to). Packets without a
 * conntrack entry (INVALID) never traverse nat (nf_nat_inet_fn returns NF_ACCEPT when !ct).
 *
 * The entry is confirmed (inserted in the hash table, __nf_conntrack_confirm in nf_conntrack_core.c) at
 * the end of POSTROUTING or INPUT (ipv4_confirm at NF_IP_PRI_CONNTRACK_CONFIRM); a packet dropped earlier
 * takes its unconfirmed entry with it (nf_conntrack_free via skb release).
 *
 * Costs: each hook charges CostModel.hookNs plus the rules, matches and jumps its tables walked (the
 * same formula as sim/netfilter evaluateHook); conntrack charges conntrackLookupNs per tracked packet and
 * conntrackInsertNs per confirmed new entry. One PathResult, CtLookup and EvalContext per node are
 * reused for every packet: the hot path allocates nothing unless tracing is on.
 */
import type { CostModel, IptablesBackend } from '../cost/cost-model.ts';
import { DEFAULT_COSTS, hookCostNs } from '../cost/cost-model.ts';
import type { Packet } from '../net/packet.ts';
import { formatIPv4, prefixMask, type Cidr, type IPv4 } from '../net/ipv4.ts';
import type { RandomStream } from '../engine/random.ts';
import type { Nanos } from '../engine/time.ts';
import { compileRuleset, type CompiledRuleset } from '../netfilter/compile.ts';
import { newHookResult, resetHookResult, type EvalContext, type HookResult, type TraceStep } from '../netfilter/context.ts';
import { evaluateTable } from '../netfilter/evaluate.ts';
import { CT_DNAT, CT_ESTABLISHED, CT_INVALID, CT_NEW, CT_SNAT, type Disposition } from '../netfilter/rule.ts';
import { EMPTY_RULESET, HOOK_ORDER, type Hook, type Ruleset } from '../netfilter/ruleset.ts';
import type { IpsetRegistry } from '../netfilter/ipset.ts';
import { RecentTables } from '../netfilter/recent.ts';
import { ConntrackTable } from '../conntrack/table.ts';
import {
  CtLookup, CT_INVALID as CTINFO_INVALID, IP_CT_NEW, IPS_DST_NAT, IPS_SRC_NAT, DROP_NAT_NO_PORT, DROP_INSERT_FAILED,
} from '../conntrack/common.ts';
import type { ConntrackOptions } from '../conntrack/store.ts';

export interface NetInterface {
  name: string;
  /** Primary IPv4 address (MASQUERADE uses it) and its prefix length. */
  addr: IPv4;
  prefix: number;
}

export interface Route {
  dst: Cidr;
  dev: string;
  /** Gateway; 0 for a directly connected destination. */
  via: IPv4;
}

/** Drop reasons the node itself gives (conntrack's own are DROP_TABLE_FULL etc. in conntrack/table.ts). */
export const DROP_NO_ROUTE = 'no route to host';
const LOOPBACK = 0x7f000001;
/** A rule's DROP or REJECT verdict: `iptables DROP (filter/FORWARD)`. */
export function ruleDropReason(v: Disposition, table: string, hook: Hook): string {
  return `iptables ${v} (${table}/${hook})`;
}

export type Delivery = 'local' | 'forward' | 'none';

/** What happened to one packet at this node. Owned by the node and overwritten by the next packet. */
export class PathResult {
  verdict: Disposition = 'ACCEPT';
  /** Why the packet was dropped or rejected, null when it passed. */
  dropReason: string | null = null;
  /** REJECT's --reject-with (the error the kernel sends back to the source). */
  rejectWith: string | null = null;
  /** 'local': delivered to a socket of this namespace; 'forward': sent out of `outIface`; 'none': dropped. */
  delivery: Delivery = 'none';
  outIface = '';
  /** Where the packet goes next on the link: the gateway, or the destination itself. */
  nextHop: IPv4 = 0;
  /** Conntrack of the packet: entry (-1 none), direction, ctinfo (IP_CT_* or CT_INVALID). */
  ctEntry = -1;
  ctDir = 0;
  ctinfo = CTINFO_INVALID;
  /** This packet created the conntrack entry (it was the first of its connection). */
  newConnection = false;
  /** The nat table chose a DNAT for this (first) packet. */
  dnat = false;
  /** The netfilter totals of this packet at this node (hooks, rules visited, simulated cost). */
  readonly hook: HookResult = newHookResult();
  /** Simulated processing cost added at this node, in ns (netfilter plus conntrack). */
  costNs = 0;
}

/**
 * Per-node packet accounting. Every packet handed to receive() or send() ends, before the call
 * returns, in exactly one of: delivered locally, forwarded, dropped (with a reason); so
 * received + generated = delivered + forwarded + sum(dropped).
 */
export class NodeCounters {
  received = 0;
  generated = 0;
  delivered = 0;
  forwarded = 0;
  readonly dropped = new Map<string, number>();
  droppedTotal(): number {
    let n = 0;
    for (const v of this.dropped.values()) n += v;
    return n;
  }
}

export interface NodeOptions {
  name: string;
  interfaces: NetInterface[];
  routes?: Route[];
  /** Other local addresses (e.g. kube-ipvs0 dummy addresses); interface addresses are always local. */
  localAddrs?: IPv4[];
  conntrack: ConntrackOptions;
  /** The rules (a CompiledRuleset shared between nodes, or a Ruleset compiled here). Default: none. */
  ruleset?: Ruleset | CompiledRuleset;
  costs?: CostModel;
  backend?: IptablesBackend;
  /** Stream for -m statistic and for SNAT port choice (e.g. sim.rng(`node/${name}/netfilter`)). */
  random?: RandomStream | null;
  ipsets?: IpsetRegistry | null;
}

/** Routes grouped by prefix length, longest first: a lookup costs one Map probe per distinct length. */
class RouteTable {
  private byLen = new Map<number, Map<number, Route>>();
  private lens: number[] = [];
  private masks: number[] = [];

  add(r: Route): void {
    let m = this.byLen.get(r.dst.prefix);
    if (!m) {
      m = new Map();
      this.byLen.set(r.dst.prefix, m);
      this.lens = [...this.byLen.keys()].sort((a, b) => b - a);
      this.masks = this.lens.map(prefixMask);
    }
    m.set((r.dst.addr & prefixMask(r.dst.prefix)) >>> 0, r);
  }

  delete(dst: Cidr): boolean {
    return this.byLen.get(dst.prefix)?.delete((dst.addr & prefixMask(dst.prefix)) >>> 0) ?? false;
  }

  /** Longest-prefix match (fib_table_lookup). */
  lookup(ip: IPv4): Route | undefined {
    for (let i = 0; i < this.lens.length; i++) {
      const r = this.byLen.get(this.lens[i]!)!.get((ip & this.masks[i]!) >>> 0);
      if (r) return r;
    }
    return undefined;
  }

  all(): Route[] {
    return this.lens.flatMap((l) => [...this.byLen.get(l)!.values()]);
  }
}

export class Node {
  readonly name: string;
  readonly conntrack: ConntrackTable;
  readonly interfaces: readonly NetInterface[];
  readonly localAddrs: Set<IPv4>;
  readonly counters = new NodeCounters();
  /** Labels of the path steps taken by the last packet (hooks, conntrack, nat, routing), when non-null. */
  trace: string[] | null = null;

  private rules: CompiledRuleset;
  private readonly routes = new RouteTable();
  private readonly ctx: EvalContext;
  private readonly lookup = new CtLookup();
  private readonly result = new PathResult();
  private readonly random: RandomStream | null;
  private now: Nanos = 0;
  private packet: Packet | null = null;
  /** Set while a looped-back packet re-enters PREROUTING: it already carries its conntrack. */
  private loopback = false;

  constructor(o: NodeOptions) {
    this.name = o.name;
    this.interfaces = o.interfaces;
    this.localAddrs = new Set([...o.interfaces.map((i) => i.addr >>> 0), ...(o.localAddrs ?? [])]);
    this.conntrack = new ConntrackTable(o.conntrack);
    this.random = o.random ?? null;
    for (const i of o.interfaces) {
      // The kernel adds a connected route for each address's subnet (proto kernel scope link,
      // net/ipv4/fib_frontend.c fib_add_ifaddr).
      if (i.prefix < 32 && i.name !== 'lo') {
        this.routes.add({ dst: { addr: (i.addr & prefixMask(i.prefix)) >>> 0, prefix: i.prefix, mask: prefixMask(i.prefix) }, dev: i.name, via: 0 });
      }
    }
    for (const r of o.routes ?? []) this.routes.add(r);
    this.rules = compileRuleset(EMPTY_RULESET);
    if (o.ruleset) this.setRuleset(o.ruleset);
    this.ctx = {
      backend: o.backend ?? 'legacy',
      costs: o.costs ?? DEFAULT_COSTS,
      firstPacket: false,
      ctState: 0,
      random: this.random,
      recent: new RecentTables(),
      nowNs: 0,
      ipsets: o.ipsets ?? null,
      localAddrs: this.localAddrs,
      // The node runs the conntrack step itself (runHook), so evaluateTable never needs it.
      conntrack: null,
      trace: null,
    };
  }

  /** Points the node at a rule-set version (shared between nodes; compiled chains are cached per chain). */
  setRuleset(rs: Ruleset | CompiledRuleset): void {
    this.rules = 'source' in rs ? rs : compileRuleset(rs);
  }

  get ruleset(): CompiledRuleset {
    return this.rules;
  }

  get costs(): CostModel {
    return this.ctx.costs;
  }

  addRoute(r: Route): void {
    this.routes.add(r);
  }

  deleteRoute(dst: Cidr): boolean {
    return this.routes.delete(dst);
  }

  routeFor(ip: IPv4): Route | undefined {
    return this.routes.lookup(ip);
  }

  /** `ip route` style listing, for debugging and tests. */
  routeList(): string[] {
    return this.routes.all().map((r) => `${formatIPv4(r.dst.addr)}/${r.dst.prefix}${r.via ? ` via ${formatIPv4(r.via)}` : ''} dev ${r.dev}`);
  }

  /** Netfilter step recording (TRACE-like) for the next packets, or null to stop. */
  setNetfilterTrace(steps: TraceStep[] | null): void {
    this.ctx.trace = steps;
  }

  isLocal(ip: IPv4): boolean {
    return ip >>> 24 === 127 || this.localAddrs.has(ip);
  }

  /**
   * A packet arriving on `inIface` (from a pod's veth or bridge, or from the wire). The packet is
   * rewritten in place (NAT) and its costNs grows; the returned record is reused by the next call.
   */
  receive(p: Packet, inIface: string, now: Nanos): PathResult {
    const res = this.begin(p, now);
    this.counters.received++;
    p.inIface = inIface;
    p.outIface = '';
    if (!this.runHook('PREROUTING', p, res)) return this.finish(res);
    if (this.isLocal(p.dst)) return this.deliverLocal(p, res, false);
    if (!this.routeOut(p, res)) return this.finish(res);
    if (!this.runHook('FORWARD', p, res)) return this.finish(res);
    return this.postrouting(p, res);
  }

  /**
   * A packet generated by a local process (or a pod using the host network). A source address of 0
   * (an unbound socket) gets the one routing chooses, as ip_route_output_key_hash does
   * (net/ipv4/route.c): the outgoing interface's primary address (inet_select_addr), or for a local
   * destination the destination itself (127.0.0.1 for the loopback net).
   */
  send(p: Packet, now: Nanos): PathResult {
    const res = this.begin(p, now);
    this.counters.generated++;
    p.inIface = '';
    p.outIface = '';
    if (this.isLocal(p.dst)) p.outIface = 'lo';
    else if (!this.routeOut(p, res)) return this.finish(res);
    if (p.src === 0) p.src = this.sourceFor(p);
    const dst0 = p.dst;
    if (!this.runHook('OUTPUT', p, res)) return this.finish(res);
    if (p.dst !== dst0) {
      // nf_nat_ipv4_local_fn: the destination was translated, route again (ip_route_me_harder).
      if (this.trace) this.trace.push('reroute');
      if (this.isLocal(p.dst)) {
        p.outIface = 'lo';
        res.nextHop = 0;
      } else if (!this.routeOut(p, res)) return this.finish(res);
    }
    if (p.outIface === 'lo') {
      // Local destination: POSTROUTING on lo (SNAT, confirm), then back in through PREROUTING and INPUT.
      if (!this.postroutingHooks(p, res)) return this.finish(res);
      p.inIface = 'lo';
      this.loopback = true;
      const ok = this.runHook('PREROUTING', p, res);
      this.loopback = false;
      if (!ok) return this.finish(res);
      return this.deliverLocal(p, res, true);
    }
    return this.postrouting(p, res);
  }

  // ---------------------------------------------------------------- hooks

  /**
   * One netfilter hook: the tables in priority order (HOOK_ORDER) with the conntrack step and the
   * NAT step at their places. On a verdict other than ACCEPT records the reason and frees the
   * packet's unconfirmed entry. The cost formula is sim/netfilter evaluateHook's.
   */
  private runHook(h: Hook, p: Packet, res: PathResult): boolean {
    if (this.trace) this.trace.push(h);
    const hr = res.hook;
    const ctx = this.ctx;
    const rules0 = hr.rulesVisited;
    const matches0 = hr.matchesEvaluated;
    const jumps0 = hr.jumps;
    hr.hooks++;
    let verdict: Disposition = 'ACCEPT';
    let reason: string | null = null;
    const steps = HOOK_ORDER[h];
    for (let s = 0; s < steps.length; s++) {
      const step = steps[s]!;
      if (step === 'conntrack') {
        if (!this.track(p, res)) {
          verdict = 'DROP';
          reason = this.lookup.dropReason ?? 'conntrack';
          break;
        }
      } else if (step === 'nat') {
        reason = this.natStep(h, p, res);
        if (reason !== null) {
          verdict = hr.verdict;
          break;
        }
      } else {
        verdict = evaluateTable(this.rules, step, h, p, ctx, hr);
        if (verdict !== 'ACCEPT') {
          reason = ruleDropReason(verdict, step, h);
          break;
        }
      }
    }
    const cost = hookCostNs(ctx.costs, ctx.backend, hr.rulesVisited - rules0, hr.matchesEvaluated - matches0, hr.jumps - jumps0);
    hr.costNs += cost;
    res.costNs += cost;
    p.costNs += cost;
    hr.verdict = verdict;
    if (verdict === 'ACCEPT') return true;
    res.verdict = verdict;
    res.rejectWith = verdict === 'REJECT' ? hr.rejectWith : null;
    res.dropReason = reason;
    this.abandon();
    return false;
  }

  /**
   * nf_conntrack_in at the conntrack position of PREROUTING and OUTPUT: finds or creates the entry
   * and sets the state the conntrack match sees. False when conntrack drops the packet (table full).
   */
  private track(p: Packet, res: PathResult): boolean {
    const ctx = this.ctx;
    if (this.loopback) {
      // Previously seen (loopback): keep the packet's conntrack; its nat was set up on the way out.
      ctx.firstPacket = false;
      return true;
    }
    const ct = this.conntrack;
    const lk = this.lookup;
    const c = ctx.costs.conntrackLookupNs;
    res.costNs += c;
    p.costNs += c;
    const ok = ct.track(p, this.now, lk);
    res.ctEntry = lk.entry;
    res.ctDir = lk.dir;
    res.ctinfo = lk.ctinfo;
    if (this.trace) this.trace.push(`conntrack ${lk.entry < 0 ? (ok ? 'INVALID' : 'DROP') : lk.ctinfo === IP_CT_NEW ? 'NEW' : 'ESTABLISHED'}`);
    if (!ok) {
      ctx.firstPacket = false;
      return false;
    }
    const e = lk.entry;
    if (e < 0) {
      ctx.ctState = CT_INVALID;
      ctx.firstPacket = false;
      return true;
    }
    const first = !ct.isConfirmed(e);
    res.newConnection = first;
    ctx.firstPacket = first;
    const status = ct.status(e);
    ctx.ctState = (lk.ctinfo === IP_CT_NEW ? CT_NEW : CT_ESTABLISHED) | (status & IPS_SRC_NAT ? CT_SNAT : 0) | (status & IPS_DST_NAT ? CT_DNAT : 0);
    return true;
  }

  /**
   * The nat position of a hook (nf_nat_inet_fn): the nat table for the first packet, then the
   * translation from the entry (nf_nat_packet). Returns null to go on, or the drop reason (the
   * verdict is then in res.hook.verdict).
   */
  private natStep(h: Hook, p: Packet, res: PathResult): string | null {
    const e = res.ctEntry;
    if (e < 0) return null;
    const dstManip = h === 'PREROUTING' || h === 'OUTPUT';
    const hr = res.hook;
    if (this.ctx.firstPacket) {
      const v = evaluateTable(this.rules, 'nat', h, p, this.ctx, hr);
      if (v !== 'ACCEPT') {
        hr.verdict = v;
        return ruleDropReason(v, 'nat', h);
      }
      if (dstManip) {
        if (hr.dnat) {
          // The DNAT target already rewrote the packet; record the binding so replies and later packets follow it.
          this.conntrack.setDnat(e, p.dst, p.dport);
          hr.dnat = false;
          res.dnat = true;
          if (this.trace) this.trace.push(`dnat ${formatIPv4(p.dst)}:${p.dport}`);
        }
        return null;
      }
      if (hr.snat || hr.masquerade) {
        let ip = hr.snatIp;
        if (hr.masquerade) {
          // MASQUERADE takes the primary address of the outgoing interface
          // (net/netfilter/nf_nat_masquerade.c nf_nat_masquerade_ipv4: inet_select_addr).
          const ifc = this.interfaces.find((i) => i.name === p.outIface);
          ip = ifc ? ifc.addr : p.src;
        }
        // --to-source ...:LO-HI / --to-ports LO-HI bound the port search; none keeps the kernel's default classes.
        const ok = this.conntrack.setSnat(e, ip, this.now, this.random ?? undefined, hr.randomFully, hr.snatPort, hr.snatPortHi);
        hr.snat = false;
        hr.masquerade = false;
        if (!ok) {
          // nf_nat_setup_info found no free tuple: the packet is dropped.
          hr.verdict = 'DROP';
          return DROP_NAT_NO_PORT;
        }
        this.conntrack.natSrc(e, res.ctDir, p);
        if (this.trace) this.trace.push(`snat ${formatIPv4(p.src)}:${p.sport}`);
      }
      return null;
    }
    const ct = this.conntrack;
    const changed = dstManip ? ct.natDst(e, res.ctDir, p) : ct.natSrc(e, res.ctDir, p);
    if (changed && this.trace) {
      this.trace.push(dstManip ? `nat dst ${formatIPv4(p.dst)}:${p.dport}` : `nat src ${formatIPv4(p.src)}:${p.sport}`);
    }
    return null;
  }

  // ---------------------------------------------------------------- internals

  private begin(p: Packet, now: Nanos): PathResult {
    const res = this.result;
    this.packet = p;
    res.verdict = 'ACCEPT';
    res.dropReason = null;
    res.rejectWith = null;
    res.delivery = 'none';
    res.outIface = '';
    res.nextHop = 0;
    res.ctEntry = -1;
    res.ctDir = 0;
    res.ctinfo = CTINFO_INVALID;
    res.newConnection = false;
    res.dnat = false;
    res.costNs = 0;
    resetHookResult(res.hook);
    this.now = now;
    this.ctx.nowNs = now;
    this.ctx.firstPacket = false;
    this.ctx.ctState = 0;
    if (this.trace) this.trace.length = 0;
    return res;
  }

  /** Counts the packet's outcome. */
  private finish(res: PathResult): PathResult {
    const c = this.counters;
    if (res.delivery === 'local') c.delivered++;
    else if (res.delivery === 'forward') c.forwarded++;
    else {
      const r = res.dropReason ?? 'unknown';
      c.dropped.set(r, (c.dropped.get(r) ?? 0) + 1);
    }
    return res;
  }

  private deliverLocal(p: Packet, res: PathResult, loopedBack: boolean): PathResult {
    if (!this.runHook('INPUT', p, res)) return this.finish(res);
    if (!loopedBack && !this.confirm(res)) return this.finish(res);
    res.delivery = 'local';
    if (this.trace) this.trace.push('deliver local');
    return this.finish(res);
  }

  private postrouting(p: Packet, res: PathResult): PathResult {
    if (!this.postroutingHooks(p, res)) return this.finish(res);
    res.delivery = 'forward';
    res.outIface = p.outIface;
    if (this.trace) this.trace.push(`out ${p.outIface}`);
    return this.finish(res);
  }

  private postroutingHooks(p: Packet, res: PathResult): boolean {
    if (!this.runHook('POSTROUTING', p, res)) return false;
    return this.confirm(res);
  }

  private confirm(res: PathResult): boolean {
    const e = res.ctEntry;
    if (e < 0 || this.conntrack.isConfirmed(e)) return true;
    const c = this.ctx.costs.conntrackInsertNs;
    res.costNs += c;
    this.packet!.costNs += c;
    if (this.trace) this.trace.push('confirm');
    if (!this.conntrack.confirm(e, this.now)) {
      // __nf_conntrack_confirm found the tuple taken (a clash): NF_DROP, counted as insert_failed.
      res.verdict = 'DROP';
      res.dropReason = DROP_INSERT_FAILED;
      res.ctEntry = -1;
      return false;
    }
    return true;
  }

  /** The packet died before confirm: its unconfirmed entry goes with it. */
  private abandon(): void {
    const e = this.result.ctEntry;
    if (e >= 0 && !this.conntrack.isConfirmed(e)) {
      this.conntrack.abandon(e, this.now);
      this.result.ctEntry = -1;
    }
  }

  private sourceFor(p: Packet): IPv4 {
    if (p.outIface === 'lo') return p.dst >>> 24 === 127 ? LOOPBACK : p.dst;
    for (const i of this.interfaces) if (i.name === p.outIface) return i.addr;
    return 0;
  }

  private routeOut(p: Packet, res: PathResult): boolean {
    const r = this.routes.lookup(p.dst);
    if (!r) {
      // ip_route_input_slow / ip_route_output: -ENETUNREACH, the packet is freed.
      res.verdict = 'DROP';
      res.dropReason = DROP_NO_ROUTE;
      this.abandon();
      if (this.trace) this.trace.push('no route');
      return false;
    }
    p.outIface = r.dev;
    res.nextHop = r.via !== 0 ? r.via : p.dst;
    if (this.trace) this.trace.push(`route ${r.dev}${r.via ? ` via ${formatIPv4(r.via)}` : ''}`);
    return true;
  }
}
