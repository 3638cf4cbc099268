/**
 * The measurements. Each probe builds its own namespaces, measures, and removes them.
 *
 * Data path (walk cost and the nft verdict map): a client, a router and a server namespace joined
 * by veth pairs, like ../shared/tools/kernel-probe/dp.sh. The router holds the kube-proxy-like
 * rules; the client connects to a ClusterIP whose KUBE-SERVICES rule sits after k others, so the
 * SYN walks k non-matching rules in the nat PREROUTING hook before its DNAT (later packets of the
 * connection follow conntrack and walk nothing). The slope of connect latency against k is the
 * per-rule walk cost.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import type { IptablesBackend } from '../sim/cost/cost-model.ts';
import { median, quantile } from './fit.ts';
import { kubeProxyNftTransactions } from './kube-proxy-nft.ts';
import { NamespaceRegistry } from './namespaces.ts';
import { iptablesRestoreInput, nftablesInput, type ProbeTarget } from './rulesets.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..');
const agentPath = join(here, 'agent.mjs');

export const TARGET: ProbeTarget = { clusterIP: '10.100.0.1', port: 80, backend: '192.168.60.2:8080' };

export interface WalkPoint {
  backend: IptablesBackend;
  /** Rules before the matching one in KUBE-SERVICES (k). */
  position: number;
  /** Passes through KUBE-SERVICES per SYN (see iptablesRestoreInput): R, chosen so R * k is large. */
  walkRepeat: number;
  /** Connect latency's lower decile with k rules before the match, and with none (same R), ns. */
  withRulesNs: number;
  withoutRulesNs: number;
  /** (withRulesNs - withoutRulesNs) / R: the cost of walking k rules once, ns. */
  walkNs: number;
  /** Median connect latency with the k rules, ns (for the record; the fit uses the lower decile). */
  p50Ns: number;
  connects: number;
}
/** `ns` is the command's CPU time (user + system), what the fits use; `wallNs` its wall time. */
export interface RestorePoint { backend: IptablesBackend; services: number; lines: number; rules: number; ns: number; wallNs: number }
export interface UpdatePoint { backend: IptablesBackend; services: number; rules: number; ns: number; wallNs: number }
export interface VmapPoint {
  services: number;
  lines: number;
  /** CPU time of `nft -f` of the verdict-map layout into an empty table */
  loadNs: number;
  loadWallNs: number;
  p10Ns: number;
  p50Ns: number;
  p99Ns: number;
  cpuNs: number;
  connects: number;
  /**
   * kube-proxy's own transactions for the same services (calibrate/kube-proxy-nft.ts): the
   * full sync into an empty table (its lines, the table's objects after it, CPU time), and the
   * median CPU time of 3 partial syncs, each removing one endpoint (their mean lines). Optional:
   * points without them give no nft -f figures (calibrate/model.ts fitNftTransaction).
   */
  kpLines?: number;
  kpObjects?: number;
  kpLoadNs?: number;
  kpPartialLines?: number;
  kpPartialNs?: number;
}
/** CPU time per packet (ns) of each burst: tracked one flow / new flows, untracked one flow / new flows. */
export interface ConntrackPoints {
  packets: number;
  sameFlowNs: number[];
  newFlowNs: number[];
  untrackedNs: number[];
  untrackedNewFlowNs: number[];
  /**
   * Both namespaces walk the same filter rule, so the difference between them is conntrack alone;
   * without this mark it may hold filter hooks and a rule besides, and the fit derives no conntrack
   * figures.
   */
  filterBalanced?: true;
}

function agentArgs(...args: (string | number)[]): string[] {
  return [agentPath, ...args.map(String)];
}

/** Client, router and server namespaces with a TCP server listening behind the router. */
export class DataPath {
  readonly client: string;
  readonly router: string;
  readonly server: string;
  private serverProcess?: ChildProcess;

  private constructor(private readonly reg: NamespaceRegistry, names: [string, string, string]) {
    [this.client, this.router, this.server] = names;
  }

  /**
   * Makes the three namespaces and joins them; each is recorded as it is made (see NamespaceRegistry).
   * `prefix` goes before each role in the names (the ebpf probe's are `ebpf-cl`...).
   */
  static async open(reg: NamespaceRegistry, prefix = ''): Promise<DataPath> {
    const dp = new DataPath(reg, [await reg.create(`${prefix}cl`), await reg.create(`${prefix}rt`), await reg.create(`${prefix}sv`)]);
    await dp.wire();
    return dp;
  }

  private async wire(): Promise<void> {
    const reg = this.reg;
    const ip = (...a: string[]) => reg.exec(this.router, 'ip', a);
    // The veth pairs are made inside the router namespace and one end moved to its peer namespace,
    // so nothing ever appears in the host's namespace.
    await ip('link', 'add', 'r0', 'type', 'veth', 'peer', 'name', 'c0', 'netns', this.client);
    await ip('link', 'add', 'r1', 'type', 'veth', 'peer', 'name', 's0', 'netns', this.server);
    await ip('addr', 'add', '192.168.50.1/24', 'dev', 'r0');
    await ip('addr', 'add', '192.168.60.1/24', 'dev', 'r1');
    await ip('link', 'set', 'r0', 'up');
    await ip('link', 'set', 'r1', 'up');
    await reg.exec(this.router, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    await reg.exec(this.client, 'ip', ['addr', 'add', '192.168.50.2/24', 'dev', 'c0']);
    await reg.exec(this.client, 'ip', ['link', 'set', 'c0', 'up']);
    await reg.exec(this.client, 'ip', ['route', 'add', 'default', 'via', '192.168.50.1']);
    // Thousands of short connections from one client: reuse TIME_WAIT ports rather than run out.
    await reg.exec(this.client, 'sysctl', ['-qw', 'net.ipv4.tcp_tw_reuse=1']);
    await reg.exec(this.server, 'ip', ['addr', 'add', '192.168.60.2/24', 'dev', 's0']);
    await reg.exec(this.server, 'ip', ['link', 'set', 's0', 'up']);
    await reg.exec(this.server, 'ip', ['route', 'add', 'default', 'via', '192.168.60.1']);
  }

  async startServer(): Promise<void> {
    const child = this.reg.spawn(this.server, process.execPath, agentArgs('serve', 8080), repoRoot);
    this.serverProcess = child;
    await new Promise<void>((resolveReady, reject) => {
      const timer = setTimeout(() => reject(new Error('calibration server did not start within 20 s')), 20_000);
      child.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(timer);
          resolveReady();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`calibration server exited (${code}) before listening`));
      });
    });
  }

  /** Connect latency to the probe target over `count` sequential connects, ns. */
  async connectLatency(count: number, warmup: number): Promise<{ p10Ns: number; p50Ns: number; p99Ns: number; cpuNs: number }> {
    const r = await this.reg.exec(this.client, process.execPath, agentArgs('connect', TARGET.clusterIP, TARGET.port, count, warmup));
    const { times, cpuNsPerConnect } = JSON.parse(r.stdout) as { times: number[]; cpuNsPerConnect: number };
    return { p10Ns: quantile(times, 0.1), p50Ns: median(times), p99Ns: quantile(times, 0.99), cpuNs: cpuNsPerConnect };
  }

  close(): void {
    if (this.serverProcess) this.reg.kill(this.serverProcess);
    for (const ns of [this.client, this.router, this.server]) this.reg.remove(ns);
  }
}

export interface WalkOptions {
  positions: number[];
  connects: number;
  warmup: number;
  endpointsPerService: number;
  passes: number;
  /** Rules a SYN should walk per measurement: R = round(walkTarget / k), at least 1. */
  walkTarget: number;
}

/**
 * The per-rule walk cost of one iptables backend. For each position k the SYN walks the k rules R
 * times (R large for small k, so every point carries a walk of about walkTarget rules), and the
 * same layout with no rules before the match (same R) is measured right after: the difference over
 * R is the cost of one walk of k rules, whatever the fixed costs of connect, jump and DNAT. The
 * lower decile of connect latency is used: it is the least disturbed by waiting for a CPU on a
 * shared machine. Passes alternate the order of positions so drift does not look like a slope.
 */
export async function measureWalk(reg: NamespaceRegistry, backend: IptablesBackend, o: WalkOptions, log: (s: string) => void): Promise<WalkPoint[]> {
  const dp = await DataPath.open(reg);
  try {
    await dp.startServer();
    const acc = new Map<number, { with: number[]; without: number[]; p50: number[] }>();
    const load = async (k: number, repeat: number) => {
      const rules = iptablesRestoreInput(k, o.endpointsPerService, TARGET, repeat);
      await reg.exec(dp.router, `iptables-${backend}-restore`, [], rules.text);
    };
    for (let pass = 0; pass < o.passes; pass++) {
      const order = pass % 2 === 0 ? o.positions : [...o.positions].reverse();
      for (const k of order) {
        const repeat = walkRepeatFor(k, o.walkTarget);
        await load(k, repeat);
        const withRules = await dp.connectLatency(o.connects, o.warmup);
        await load(0, repeat);
        const without = await dp.connectLatency(o.connects, o.warmup);
        const e = acc.get(k) ?? { with: [], without: [], p50: [] };
        e.with.push(withRules.p10Ns);
        e.without.push(without.p10Ns);
        e.p50.push(withRules.p50Ns);
        acc.set(k, e);
        log(`walk ${backend} position=${k} x${repeat}: connect p10 ${(withRules.p10Ns / 1e3).toFixed(1)} us vs ${(without.p10Ns / 1e3).toFixed(1)} us without the rules: ${((withRules.p10Ns - without.p10Ns) / repeat / 1e3).toFixed(2)} us per walk`);
      }
    }
    return o.positions.map((k) => {
      const e = acc.get(k)!;
      const walkRepeat = walkRepeatFor(k, o.walkTarget);
      const withRulesNs = median(e.with);
      const withoutRulesNs = median(e.without);
      return {
        backend,
        position: k,
        walkRepeat,
        withRulesNs,
        withoutRulesNs,
        walkNs: (withRulesNs - withoutRulesNs) / walkRepeat,
        p50Ns: median(e.p50),
        connects: o.connects * o.passes,
      };
    });
  } finally {
    dp.close();
  }
}

/** Passes through KUBE-SERVICES so that a SYN walks about `target` rules (bounded: 1..1000). */
export function walkRepeatFor(position: number, target: number): number {
  if (position <= 0) return 1;
  return Math.max(1, Math.min(1000, Math.round(target / position)));
}

export interface RestoreOptions { services: number[]; repeats: number; endpointsPerService: number }

/**
 * iptables-restore of N services into an empty nat table, then one `iptables -A` into the table of
 * N services. Timed as CPU time of the command (see execCpuTimed): on an idle node kube-proxy's
 * restore is CPU-bound (parsing in the process, the table swap in its system time), so CPU time is
 * the wall time an idle host would see, whatever else this machine is running.
 */
export async function measureRestore(reg: NamespaceRegistry, backend: IptablesBackend, o: RestoreOptions, log: (s: string) => void): Promise<{ restore: RestorePoint[]; update: UpdatePoint[] }> {
  const ns = await reg.create('rs');
  const ipt = `iptables-${backend}`;
  const restore: RestorePoint[] = [];
  const update: UpdatePoint[] = [];
  try {
    for (const n of o.services) {
      const rules = iptablesRestoreInput(n, o.endpointsPerService);
      const r = { cpu: [] as number[], wall: [] as number[] };
      const u = { cpu: [] as number[], wall: [] as number[] };
      for (let i = 0; i < o.repeats; i++) {
        await reg.exec(ns, ipt, ['-t', 'nat', '-F']);
        await reg.exec(ns, ipt, ['-t', 'nat', '-X']);
        const t = await reg.execCpuTimed(ns, `${ipt}-restore`, [], rules.text);
        r.cpu.push(t.cpuNs);
        r.wall.push(t.wallNs);
        const extra = ['KUBE-SERVICES', '-d', '10.100.0.2/32', '-p', 'tcp', '-m', 'tcp', '--dport', '80', '-j', 'KUBE-MARK-MASQ'];
        const a = await reg.execCpuTimed(ns, ipt, ['-t', 'nat', '-A', ...extra]);
        u.cpu.push(a.cpuNs);
        u.wall.push(a.wallNs);
        await reg.exec(ns, ipt, ['-t', 'nat', '-D', ...extra]);
      }
      restore.push({ backend, services: n, lines: rules.lines, rules: rules.rules, ns: median(r.cpu), wallNs: median(r.wall) });
      update.push({ backend, services: n, rules: rules.rules, ns: median(u.cpu), wallNs: median(u.wall) });
      log(`restore ${backend} services=${n} lines=${rules.lines}: CPU ${(median(r.cpu) / 1e6).toFixed(1)} ms (wall ${(median(r.wall) / 1e6).toFixed(1)} ms); single -A: CPU ${(median(u.cpu) / 1e6).toFixed(1)} ms`);
    }
  } finally {
    reg.remove(ns);
  }
  return { restore, update };
}

export interface VmapOptions { services: number[]; connects: number; warmup: number; endpointsPerService: number }

/** The nftables verdict-map layout: `nft -f` load time and connect latency against services. */
export async function measureVmap(reg: NamespaceRegistry, o: VmapOptions, log: (s: string) => void): Promise<VmapPoint[]> {
  const dp = await DataPath.open(reg);
  const out: VmapPoint[] = [];
  try {
    await dp.startServer();
    for (const n of o.services) {
      await reg.exec(dp.router, 'nft', ['flush', 'ruleset']);
      const rules = nftablesInput(n, o.endpointsPerService, TARGET);
      const load = await reg.execCpuTimed(dp.router, 'nft', ['-f', '-'], rules.text);
      const m = await dp.connectLatency(o.connects, o.warmup);
      // kube-proxy's own transactions for the same services: a cold full sync, then 3 partial ones.
      await reg.exec(dp.router, 'nft', ['flush', 'ruleset']);
      const kp = kubeProxyNftTransactions(n, o.endpointsPerService, 3);
      const kpLoad = await reg.execCpuTimed(dp.router, 'nft', ['-f', '-'], kp.full.text);
      const partials: number[] = [];
      for (const t of kp.partials) partials.push((await reg.execCpuTimed(dp.router, 'nft', ['-f', '-'], t.text)).cpuNs);
      await reg.exec(dp.router, 'nft', ['flush', 'ruleset']);
      const kpPartialNs = median(partials);
      const kpPartialLines = kp.partials.reduce((a, t) => a + t.lines, 0) / kp.partials.length;
      out.push({
        services: n, lines: rules.lines, loadNs: load.cpuNs, loadWallNs: load.wallNs, ...m, connects: o.connects,
        kpLines: kp.full.lines, kpObjects: kp.objects, kpLoadNs: kpLoad.cpuNs, kpPartialLines, kpPartialNs,
      });
      log(`nft vmap services=${n}: nft -f CPU ${(load.cpuNs / 1e6).toFixed(0)} ms (wall ${(load.wallNs / 1e6).toFixed(0)} ms), connect p10 ${(m.p10Ns / 1e3).toFixed(1)} us p50 ${(m.p50Ns / 1e3).toFixed(1)} us; kube-proxy's full sync ${kp.full.lines} lines ${(kpLoad.cpuNs / 1e6).toFixed(0)} ms, a partial sync ${(kpPartialNs / 1e6).toFixed(1)} ms`);
    }
  } finally {
    dp.close();
  }
  return out;
}

export interface ConntrackOptions { packets: number; rounds: number; alternations: number }

/**
 * The sender of the conntrack probe: `packets` UDP datagrams on loopback, to one flow or to a new
 * flow (destination 127.1.x.y) per packet; prints the CPU time per packet of the sending process
 * (user + system: on loopback the packet's whole trip, output and input hooks included, runs in the
 * sending syscall). Python's loop costs about 1 us per packet, a tenth of Node's dgram, so the
 * conntrack cost (hundreds of ns) stands out of the sender's own cost. The ebpf probe
 * (ebpf/probe.ts) sends its bursts with it too.
 */
export const CONNTRACK_SENDER = `
import socket, sys, time
n, unique = int(sys.argv[1]), sys.argv[2] == 'new'
sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); sink.bind(('0.0.0.0', 9999))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', 0))
dst = [('127.1.%d.%d' % ((i >> 8) & 255, i & 255), 9999) for i in range(1, n + 1)] if unique else [('127.1.0.1', 9999)] * n
p = b'x' * 16
for a in dst[: min(n, 2000)]: s.sendto(p, ('127.1.0.1', 9999))
t = time.process_time()
for a in dst: s.sendto(p, a)
print((time.process_time() - t) / n * 1e9)
`;

/**
 * Conntrack entry cost on loopback, from the CPU time per packet of UDP bursts, in a namespace where
 * a conntrack match registers conntrack's hooks (tracked) and in one where nothing does
 * (untracked), each to one flow (the output pass finds the flow's entry; the input pass finds it
 * already attached to the packet and goes on: nf_conntrack_in in net/netfilter/nf_conntrack_core.c
 * accepts a packet that carries a conntrack at once) and to a new flow per packet (the output pass
 * creates an entry, POSTROUTING confirms it into the hash). Both namespaces hold filter OUTPUT's one
 * rule with one match that does not decide (conntrack's `--ctstate INVALID` in one, a comment in
 * the other), so the filter table's hooks and walk cancel out of the difference. Tracked and
 * untracked alternate so drift of the machine hits both; the table is flushed before each burst.
 */
export async function measureConntrack(reg: NamespaceRegistry, o: ConntrackOptions, log: (s: string) => void): Promise<ConntrackPoints> {
  const tracked = await reg.create('ct');
  const untracked = await reg.create('nt');
  const packets = Math.min(o.packets, 65_000);
  const out: ConntrackPoints = { packets, sameFlowNs: [], newFlowNs: [], untrackedNs: [], untrackedNewFlowNs: [], filterBalanced: true };
  const burst = async (ns: string, kind: 'same' | 'new') => {
    await reg.exec(ns, 'conntrack', ['-F'], undefined, true);
    return Number((await reg.exec(ns, 'python3', ['-c', CONNTRACK_SENDER, String(packets), kind])).stdout.trim());
  };
  try {
    // Any rule that needs conntrack registers its hooks in this namespace (nf_ct_netns_get).
    await reg.exec(tracked, 'iptables-legacy', ['-A', 'OUTPUT', '-m', 'conntrack', '--ctstate', 'INVALID', '-j', 'DROP']);
    // The same filter table, hooks and walk without conntrack: a rule whose one match passes and
    // which has no target (the walk goes on to the policy, as past the INVALID rule).
    await reg.exec(untracked, 'iptables-legacy', ['-A', 'OUTPUT', '-m', 'comment', '--comment', 'svcsim-balance']);
    for (let i = 0; i < o.alternations * o.rounds; i++) {
      out.sameFlowNs.push(await burst(tracked, 'same'));
      out.untrackedNs.push(await burst(untracked, 'same'));
      out.newFlowNs.push(await burst(tracked, 'new'));
      out.untrackedNewFlowNs.push(await burst(untracked, 'new'));
      const f = (v: number[]) => `${v.at(-1)!.toFixed(0)} ns`;
      log(`conntrack: CPU per packet: one flow ${f(out.sameFlowNs)} (untracked ${f(out.untrackedNs)}), a new flow each ${f(out.newFlowNs)} (untracked ${f(out.untrackedNewFlowNs)})`);
    }
    await reg.exec(tracked, 'conntrack', ['-F'], undefined, true);
    return out;
  } finally {
    reg.remove(tracked);
    reg.remove(untracked);
  }
}
