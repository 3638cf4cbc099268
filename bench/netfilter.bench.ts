/**
 * The iptables rule walk at kube-proxy scale: a packet to a ClusterIP through nat PREROUTING, whose
 * KUBE-SERVICES chain holds one `-d VIP/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-...` rule per
 * Service (1k, 10k, 50k, 100k), as kube-proxy's syncProxyRules writes it, followed by the nodeports
 * rule; each service chain has three endpoints chosen by `-m statistic` (0.33333333349, 0.5, rest)
 * and each endpoint chain masquerade-marks hairpin traffic and DNATs.
 *
 * The simulated cost grows with the rules visited (a packet to a uniformly chosen Service visits
 * about half of KUBE-SERVICES); the simulator's own time per packet must not, because the compiled
 * walk finds the matching rule of a destination run by lookup (sim/netfilter/compile.ts). The
 * `walk-linear` tasks walk the same rules without the index, to show what the index saves.
 *
 * To keep memory to what the walk needs, the 1000 service chains (and their 3000 endpoint chains)
 * are shared: Service i jumps to KUBE-SVC-(i mod 1000). A packet still crosses exactly one service
 * chain and one endpoint chain, as in a real rule set.
 */
import { RandomStream } from '../sim/engine/random.ts';
import { DEFAULT_COSTS } from '../sim/cost/cost-model.ts';
import { makePacket } from '../sim/net/packet.ts';
import { compileRuleset, type CompiledRuleset } from '../sim/netfilter/compile.ts';
import { newHookResult, resetHookResult, type EvalContext } from '../sim/netfilter/context.ts';
import { evaluateHook } from '../sim/netfilter/evaluate.ts';
import { parseIptablesSave } from '../sim/netfilter/iptables-save.ts';
import { CT_NEW, type Rule } from '../sim/netfilter/rule.ts';
import type { Chain, Ruleset } from '../sim/netfilter/ruleset.ts';
import type { BenchSuite, BenchTask } from './suite.ts';

const SERVICE_CHAINS = 1000;
/** Packets per timed call (indexed walk) and per call of the linear walk (which is far slower). */
const PACKETS = 1000;
const LINEAR_PACKETS = 100;
const VIP_BASE = 0x0a600000; // 10.96.0.0

/** The shared part: built-in chains, the masquerade chains, 1000 service chains, 3000 endpoint chains. */
function baseText(): string {
  const l = ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]'];
  l.push(':KUBE-SERVICES - [0:0]', ':KUBE-NODEPORTS - [0:0]', ':KUBE-MARK-MASQ - [0:0]', ':KUBE-POSTROUTING - [0:0]');
  for (let k = 0; k < SERVICE_CHAINS; k++) {
    l.push(`:KUBE-SVC-${k} - [0:0]`);
    for (const e of 'abc') l.push(`:KUBE-SEP-${k}${e} - [0:0]`);
  }
  l.push('-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
  l.push('-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
  l.push('-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING');
  l.push('-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000');
  l.push('-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN');
  l.push('-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0');
  l.push('-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully');
  // The template of a KUBE-SERVICES rule (its -d and target are replaced per Service) and the last rule.
  l.push('-A KUBE-SERVICES -d 10.96.0.0/32 -p tcp -m comment --comment "bench/svc:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-0');
  l.push('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS');
  for (let k = 0; k < SERVICE_CHAINS; k++) {
    const ep = (e: number) => `10.244.${(k >> 6) & 255}.${((k & 63) << 2) + e}`;
    l.push(`-A KUBE-SVC-${k} ! -s 10.244.0.0/16 -p tcp -m comment --comment "bench/svc:http cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ`);
    l.push(`-A KUBE-SVC-${k} -m comment --comment "bench/svc:http -> ${ep(1)}:8080" -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-${k}a`);
    l.push(`-A KUBE-SVC-${k} -m comment --comment "bench/svc:http -> ${ep(2)}:8080" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-${k}b`);
    l.push(`-A KUBE-SVC-${k} -m comment --comment "bench/svc:http -> ${ep(3)}:8080" -j KUBE-SEP-${k}c`);
    ['a', 'b', 'c'].forEach((e, i) => {
      l.push(`-A KUBE-SEP-${k}${e} -s ${ep(i + 1)}/32 -m comment --comment "bench/svc:http" -j KUBE-MARK-MASQ`);
      l.push(`-A KUBE-SEP-${k}${e} -p tcp -m comment --comment "bench/svc:http" -m tcp -j DNAT --to-destination ${ep(i + 1)}:8080`);
    });
  }
  l.push('COMMIT');
  return l.join('\n') + '\n';
}

let base: Ruleset | undefined;

/** The rule set with `services` rules in KUBE-SERVICES (rules share the parsed template's matches). */
function servicesRuleset(services: number): Ruleset {
  base ??= parseIptablesSave(baseText(), 'bench').ruleset;
  const nat = base.tables.get('nat')!;
  const svc = nat.chains.get('KUBE-SERVICES')!;
  const [template, nodeports] = svc.rules as [Rule, Rule];
  const rules: Rule[] = [];
  for (let i = 0; i < services; i++) {
    rules.push({
      ...template,
      dst: { addr: VIP_BASE + i, prefix: 32, mask: 0xffffffff },
      target: { kind: 'jump', chain: `KUBE-SVC-${i % SERVICE_CHAINS}` },
    });
  }
  rules.push(nodeports);
  const chains = new Map<string, Chain>(nat.chains);
  chains.set('KUBE-SERVICES', { ...svc, rules });
  return { tables: new Map([['nat', { name: 'nat', chains }]]) };
}

interface Workload {
  rs: CompiledRuleset;
  dsts: Int32Array;
  ctx: EvalContext;
}

function workload(services: number, indexed: boolean, packets: number): Workload {
  const rs = compileRuleset(servicesRuleset(services), { index: indexed });
  const pick = new RandomStream(1, 'bench/netfilter/destinations');
  const dsts = new Int32Array(packets);
  for (let k = 0; k < packets; k++) dsts[k] = VIP_BASE + pick.integer(0, services - 1);
  const ctx: EvalContext = {
    backend: 'legacy',
    costs: DEFAULT_COSTS,
    firstPacket: true,
    ctState: CT_NEW,
    random: new RandomStream(1, 'bench/netfilter/statistic'),
    recent: null,
    nowNs: 0,
    ipsets: null,
    localAddrs: new Set([0xc0a80002]),
    conntrack: null,
    trace: null,
  };
  return { rs, dsts, ctx };
}

const packet = makePacket({ proto: 'tcp', src: 0x0af40205, dst: 0, sport: 40000, dport: 80, inIface: 'eth0' });
const result = newHookResult();

/** Sends every destination of the workload through nat PREROUTING; returns the totals. */
function sendAll(w: Workload): { rules: number; simulatedNs: number } {
  let rules = 0;
  let simulatedNs = 0;
  const dsts = w.dsts;
  for (let k = 0; k < dsts.length; k++) {
    packet.dst = dsts[k]! >>> 0;
    packet.dport = 80;
    packet.mark = 0;
    packet.costNs = 0;
    w.ctx.ctState = CT_NEW;
    resetHookResult(result);
    evaluateHook(w.rs, 'PREROUTING', packet, w.ctx, result);
    if (!result.dnat) throw new Error(`netfilter bench: packet ${k} was not DNATed`);
    rules += result.rulesVisited;
    simulatedNs += result.costNs;
  }
  return { rules, simulatedNs };
}

function walkTask(services: number, indexed: boolean): BenchTask {
  const packets = indexed ? PACKETS : LINEAR_PACKETS;
  let w: Workload | undefined;
  let figures: Record<string, number> = {};
  return {
    name: `netfilter/${indexed ? 'walk' : 'walk-linear'} services=${services}`,
    beforeAll: () => {
      w = workload(services, indexed, packets);
      const t = sendAll(w);
      figures = {
        services,
        rulesVisitedPerPacket: t.rules / packets,
        simulatedNsPerPacket: t.simulatedNs / packets,
      };
    },
    fn: () => {
      sendAll(w!);
    },
    afterAll: () => {
      w = undefined;
    },
    per: { unit: 'packet', count: packets },
    figures: () => figures,
  };
}

const suite: BenchSuite = {
  name: 'netfilter',
  tasks: ({ quick }) => {
    const sizes = quick ? [1_000, 10_000] : [1_000, 10_000, 50_000, 100_000];
    const linear = quick ? [1_000] : [1_000, 10_000];
    return [...sizes.map((n) => walkTask(n, true)), ...linear.map((n) => walkTask(n, false))];
  },
};
export default suite;
