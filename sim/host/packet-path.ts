/**
 * The hooks one packet crosses in a node, as the kernel's IPv4 stack calls them
 * (net/ipv4/ip_input.c ip_rcv -> PREROUTING, ip_forward.c -> FORWARD, ip_output.c ->
 * POSTROUTING, ip_local_deliver -> INPUT; locally generated: __ip_local_out -> OUTPUT), with the
 * routing decision between them made on the destination as it is after PREROUTING/OUTPUT (a DNAT
 * to a pod on another node is forwarded, a DNAT to a local address is delivered).
 *
 * A packet from this node to this node goes out through lo and comes back in: OUTPUT,
 * POSTROUTING, then PREROUTING and INPUT. Its connection's NAT was decided on the way out
 * (nf_nat_inet_fn sees IPS_DST_NAT_DONE/IPS_SRC_NAT_DONE), so the nat table is skipped on the way
 * back in.
 *
 * This is the path of the offline tracer (`svcsim trace`), for either rule model: it only needs a
 * function that runs one hook. The simulation's own node model (node.ts) adds conntrack, routes and
 * delivery on top of the same evaluateHook.
 */
import type { Packet } from '../net/packet.ts';
import type { Disposition } from '../netfilter/rule.ts';
import type { Hook } from '../netfilter/ruleset.ts';

export interface PathOptions {
  /** Walk exactly these hooks, in this order (no routing decisions). */
  hooks?: readonly Hook[];
  /** Interface the packet came in on when it was not generated locally (default eth0). */
  inIface?: string;
  /** Interface a forwarded or locally generated packet leaves by (default eth0). */
  outIface?: string;
}

/** The hooks one packet crossed and what became of it (the node's full record is node.ts's PathResult). */
export interface HookWalk {
  /** The hooks walked, in order (the last one is where a DROP or REJECT happened). */
  hooks: Hook[];
  verdict: Disposition;
}

/** What the path needs of the context: the node's addresses, and the first-packet flag it clears on re-entry. */
export interface PathContext {
  localAddrs: ReadonlySet<number>;
  firstPacket: boolean;
}

function isLocal(ctx: PathContext, ip: number): boolean {
  return ip >>> 24 === 127 || ctx.localAddrs.has(ip);
}

/**
 * Walks `p` through the node's hooks, calling `run` for each (which evaluates the rules and may
 * rewrite the packet). The interfaces are set on the packet before each call. Stops at the first
 * verdict that is not ACCEPT.
 */
export function walkPath(run: (hook: Hook) => Disposition, p: Packet, ctx: PathContext, opts: PathOptions = {}): HookWalk {
  const walked: Hook[] = [];
  const step = (hook: Hook): Disposition => {
    walked.push(hook);
    return run(hook);
  };
  if (opts.hooks !== undefined) {
    let verdict: Disposition = 'ACCEPT';
    for (const h of opts.hooks) {
      verdict = step(h);
      if (verdict !== 'ACCEPT') break;
    }
    return { hooks: walked, verdict };
  }
  const out = opts.outIface ?? 'eth0';
  if (isLocal(ctx, p.src)) {
    p.inIface = '';
    p.outIface = isLocal(ctx, p.dst) ? 'lo' : out;
    let v = step('OUTPUT');
    if (v !== 'ACCEPT') return { hooks: walked, verdict: v };
    // Rerouted after a DNAT in OUTPUT (ip_route_me_harder): a local destination leaves by lo.
    p.outIface = isLocal(ctx, p.dst) ? 'lo' : out;
    v = step('POSTROUTING');
    if (v !== 'ACCEPT' || p.outIface !== 'lo') return { hooks: walked, verdict: v };
    const first = ctx.firstPacket;
    ctx.firstPacket = false;
    p.inIface = 'lo';
    p.outIface = '';
    v = step('PREROUTING');
    if (v === 'ACCEPT') v = step('INPUT');
    ctx.firstPacket = first;
    return { hooks: walked, verdict: v };
  }
  p.inIface = opts.inIface ?? 'eth0';
  p.outIface = '';
  let v = step('PREROUTING');
  if (v !== 'ACCEPT') return { hooks: walked, verdict: v };
  if (isLocal(ctx, p.dst)) return { hooks: walked, verdict: step('INPUT') };
  p.outIface = out;
  v = step('FORWARD');
  if (v !== 'ACCEPT') return { hooks: walked, verdict: v };
  return { hooks: walked, verdict: step('POSTROUTING') };
}
