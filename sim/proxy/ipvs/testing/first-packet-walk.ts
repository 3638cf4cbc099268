/**
 * A first packet through an ipvs-mode node, walked by the kernel models: the netfilter model on the
 * iptables rules the ipvs proxier restores (with its ipsets loaded into the ipset model), and the
 * IPVS service table and scheduler the proxier programmed. Only tests use it: it is the exact tier
 * the ipvs cost model is checked against (sim/proxy/cost/ipvs-external.test.ts).
 *
 * The path of a packet received for an address of the node (torvalds/linux net/netfilter/ipvs/
 * ip_vs_core.c, ip_vs_xmit.c; hook priorities in include/uapi/linux/netfilter_ipv4.h):
 *   PREROUTING (nat: kube-proxy's KUBE-SERVICES marks for masquerade, ACCEPTs);
 *   the address is local (a node IP, or bound to kube-ipvs0) -> INPUT: filter (KUBE-NODE-PORT,
 *   KUBE-PROXY-FIREWALL, KUBE-IPVS-FILTER), then IPVS at LOCAL_IN (ip_vs_remote_request4, priority
 *   NF_IP_PRI_NAT_SRC - 2, so after filter and before nat INPUT): the virtual-server lookup and the
 *   scheduler; with no virtual server the packet goes on to a local socket; with no real server
 *   ip_vs_leave answers ICMP port unreachable;
 *   ip_vs_nat_xmit rewrites the destination and sends the packet out through LOCAL_OUT
 *   (ip_vs_nat_send_or_cont: NF_HOOK(NF_INET_LOCAL_OUT)): OUTPUT (filter; the connection's
 *   destination NAT was settled in PREROUTING, so nat OUTPUT is not walked), then POSTROUTING
 *   (nat: KUBE-POSTROUTING masquerades a marked packet).
 * A packet for an address that is not the node's is forwarded: FORWARD, POSTROUTING.
 */
import type { CostModel } from '../../../cost/cost-model.ts';
import { RandomStream } from '../../../engine/random.ts';
import { formatIPv4, parseIPv4 } from '../../../net/ipv4.ts';
import { makePacket, type Packet } from '../../../net/packet.ts';
import { compileRuleset, type CompiledRuleset } from '../../../netfilter/compile.ts';
import { newHookResult, type EvalContext } from '../../../netfilter/context.ts';
import { evaluateHook } from '../../../netfilter/evaluate.ts';
import { IpsetRegistry, type Ipset } from '../../../netfilter/ipset.ts';
import type { Hook } from '../../../netfilter/ruleset.ts';
import { RecentTables } from '../../../netfilter/recent.ts';
import type { Disposition } from '../../../netfilter/rule.ts';
import type { IpvsProtocol } from '../../../ipvs/types.ts';
import { ipsetSave } from '../ipsets.ts';
import type { IpvsProxier, IpvsSyncResult } from '../proxier.ts';
import { ipvsNodeRuleset } from '../render.ts';

/** The ipsets as the `set` match sees them, counting each test (a hash lookup in the kernel). */
class CountingIpsets extends IpsetRegistry {
  tests = 0;
  private readonly wrapped = new Map<string, Ipset>();
  override get(name: string): Ipset | undefined {
    const s = super.get(name);
    if (!s) return s;
    let w = this.wrapped.get(name);
    if (!w) {
      w = Object.create(s) as Ipset;
      w.test = (p, flags) => {
        this.tests++;
        return s.test(p, flags);
      };
      this.wrapped.set(name, w);
    }
    return w;
  }
}

export interface IpvsWalkHook {
  hook: Hook;
  rules: number;
}

export interface IpvsWalk {
  verdict: Disposition;
  /** Per hook walked, its rules visited. */
  hooks: IpvsWalkHook[];
  rulesVisited: number;
  /** ipset tests plus IPVS virtual-server lookups. */
  lookups: number;
  /** The scheduler ran (a real server was chosen). */
  scheduled: boolean;
  /** The real server chosen, "ip" (null when none). */
  realServer: string | null;
  masquerade: boolean;
  /** The IPVS virtual server took the packet. */
  ipvs: boolean;
}

export class IpvsNodeWalker {
  private readonly rules: CompiledRuleset;
  private readonly ipsets = new CountingIpsets();
  private readonly local: Set<number>;

  constructor(
    private readonly proxier: IpvsProxier,
    sync: IpvsSyncResult,
    nodeIPs: readonly string[],
    private readonly costs: CostModel,
  ) {
    this.rules = compileRuleset(ipvsNodeRuleset(sync));
    this.ipsets.restore(ipsetSave(proxier.ipsets), 'kube-proxy ipsets');
    this.local = new Set([...nodeIPs, ...proxier.dummyAddresses].map((ip) => parseIPv4(ip)));
  }

  walk(src: string, dst: string, dport: number, seed: number): IpvsWalk {
    const p = makePacket({ proto: 'tcp', src: parseIPv4(src), dst: parseIPv4(dst), sport: 40000, dport });
    p.inIface = 'eth0';
    const ctx: EvalContext = {
      backend: 'legacy',
      costs: this.costs,
      firstPacket: true,
      ctState: 2,
      random: new RandomStream(seed, 'test/ipvs-walk'),
      recent: new RecentTables(),
      nowNs: 0,
      ipsets: this.ipsets,
      localAddrs: this.local,
      conntrack: null,
      trace: null,
    };
    this.ipsets.tests = 0;
    const res = newHookResult();
    const out: IpvsWalk = { verdict: 'ACCEPT', hooks: [], rulesVisited: 0, lookups: 0, scheduled: false, realServer: null, masquerade: false, ipvs: false };
    const step = (hook: Hook, nat: boolean): boolean => {
      const before = res.rulesVisited;
      ctx.firstPacket = nat;
      out.verdict = evaluateHook(this.rules, hook, p, ctx, res);
      out.hooks.push({ hook, rules: res.rulesVisited - before });
      return out.verdict === 'ACCEPT';
    };
    this.run(p, step, out);
    out.rulesVisited = res.rulesVisited;
    out.lookups += this.ipsets.tests;
    out.masquerade = res.masquerade;
    return out;
  }

  private run(p: Packet, step: (hook: Hook, nat: boolean) => boolean, out: IpvsWalk): void {
    if (!step('PREROUTING', true)) return;
    if (!this.local.has(p.dst)) {
      p.outIface = 'eth0';
      if (step('FORWARD', false)) step('POSTROUTING', true);
      return;
    }
    if (!step('INPUT', false)) return;
    out.lookups++;
    const e = this.proxier.table.get(p.proto.toUpperCase() as IpvsProtocol, p.dst, p.dport);
    if (!e) return; // a local socket's business
    out.ipvs = true;
    const d = e.scheduler.schedule(e.vs, p.src, p.sport, p.dst);
    if (!d) {
      out.verdict = 'REJECT';
      return;
    }
    out.scheduled = true;
    out.realServer = formatIPv4(d.addr);
    p.dst = d.addr;
    p.dport = d.port;
    p.outIface = 'eth0';
    if (step('OUTPUT', false)) step('POSTROUTING', true);
  }
}
