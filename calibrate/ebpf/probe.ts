/**
 * The ebpf probe: the calibration's own BPF programs (calibrate/bpf/*.c, built with clang at
 * calibration time, loaded and attached with bpftool and tc) timed against the same path without
 * them, as the walk probe times the iptables walk.
 *
 * - Connect: a client in the ebpf DataPath's client namespace, running in the session's cgroup,
 *   connects to random ClusterIPs of N services; svc_connect4.c attached to that cgroup translates
 *   each to the server behind the router (three map lookups: service, slot, backend). Without the
 *   program the client connects to the server's address directly. Connect latency's lower decile
 *   and the client's CPU time per connect, with minus without, is what the translation costs; the
 *   kernel's own run-time statistics give the program's run time alone (without the hook's entry).
 * - Packet: UDP bursts on loopback in a namespace without netfilter, with ct_tc.c on lo's tc egress
 *   (one program run and one CT map lookup per packet) and without the clsact qdisc, to one flow (a
 *   CT hit each packet) and to a new flow per packet (a miss and an insert each). CPU time per
 *   packet of the sender, with minus without, is the per-packet datapath cost; a fresh map is loaded
 *   for each burst.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { median, quantile } from '../fit.ts';
import { run, type NamespaceRegistry } from '../namespaces.ts';
import { CONNTRACK_SENDER, DataPath } from '../probes.ts';
import { serviceBatch } from './maps.ts';
import { EbpfSession } from './session.ts';

const bpfDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'bpf');

export interface EbpfConnectPoint {
  services: number;
  endpointsPerService: number;
  /** Connect latency's lower decile with the program (random ClusterIPs) and without (the backend directly), ns. */
  withNs: number;
  withoutNs: number;
  withP50Ns: number;
  withoutP50Ns: number;
  /** The client's CPU time per connect (user + system), with and without, ns. */
  withCpuNs: number;
  withoutCpuNs: number;
  /** The program's mean run time per connect (kernel.bpf_stats_enabled: run_time_ns / run_cnt), ns. */
  programNs: number;
  connects: number;
}

/** CPU time per packet (ns) of each burst, and the program's mean run time per packet in the bursts with it. */
export interface EbpfPacketPoints {
  packets: number;
  sameFlowNs: number[];
  newFlowNs: number[];
  withoutNs: number[];
  withoutNewFlowNs: number[];
  programSameFlowNs: number[];
  programNewFlowNs: number[];
}

export interface EbpfPoints {
  connect: EbpfConnectPoint[];
  packet?: EbpfPacketPoints;
  /** clang's and bpftool's first version lines. */
  tools: string;
}

export interface EbpfOptions {
  services: number[];
  endpointsPerService: number;
  connects: number;
  warmup: number;
  alternations: number;
  packets: number;
  rounds: number;
}

const CONNECT_CLIENT = `
import socket, sys, time, random, json
n, count, warmup, mode = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rnd = random.Random(7)
def target():
    a = rnd.randrange(n) + 1
    return ('10.100.%d.%d' % (a >> 8, a & 255), 80) if mode == 'svc' else ('192.168.60.2', 8080)
def one():
    a = target()
    s = socket.socket(); s.settimeout(3)
    t = time.perf_counter_ns(); s.connect(a); dt = time.perf_counter_ns() - t
    s.close()
    return dt
for i in range(warmup): one()
c = time.process_time()
times = [one() for i in range(count)]
print(json.dumps({'times': times, 'cpuNs': (time.process_time() - c) / count * 1e9}))
`;


function first(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return (r.stdout || r.stderr || 'unknown').trim().split('\n')[0]!;
}

/** Builds calibrate/bpf/NAME.c into the scratch directory with clang -target bpf; returns the object's path. */
export async function buildProgram(name: string, outDir: string): Promise<string> {
  const multiarch = (await run('clang', ['-print-multiarch'], undefined, true)).stdout.trim();
  const out = join(outDir, `${name}.o`);
  const inc = multiarch ? ['-I', `/usr/include/${multiarch}`] : [];
  await run('clang', ['-O2', '-g', '-target', 'bpf', ...inc, '-c', join(bpfDir, `${name}.c`), '-o', out]);
  return out;
}

async function progStats(pin: string): Promise<{ runNs: number; runs: number }> {
  const j = JSON.parse((await run('bpftool', ['-j', 'prog', 'show', 'pinned', pin])).stdout) as { run_time_ns?: number; run_cnt?: number };
  return { runNs: j.run_time_ns ?? 0, runs: j.run_cnt ?? 0 };
}

const perRun = (a: { runNs: number; runs: number }, b: { runNs: number; runs: number }) => (b.runs > a.runs ? (b.runNs - a.runNs) / (b.runs - a.runs) : 0);

export async function measureEbpf(reg: NamespaceRegistry, o: EbpfOptions, log: (s: string) => void): Promise<EbpfPoints> {
  const session = EbpfSession.open(reg);
  try {
    const tools = `${first('clang', ['--version'])}; ${first('bpftool', ['version'])}`;
    const connect = await measureConnect(reg, session, o, log);
    const packet = o.rounds > 0 ? await measurePacket(reg, session, o, log) : undefined;
    return { connect, ...(packet ? { packet } : {}), tools };
  } finally {
    session.close();
  }
}

async function measureConnect(reg: NamespaceRegistry, session: EbpfSession, o: EbpfOptions, log: (s: string) => void): Promise<EbpfConnectPoint[]> {
  const obj = await buildProgram('svc_connect4', session.scratch);
  const prog = session.pin('connect4');
  const maps = { services: session.pin('lb-maps', 'svcsim_services'), backends: session.pin('lb-maps', 'svcsim_backends') };
  await run('bpftool', ['prog', 'loadall', obj, prog, 'pinmaps', session.pin('lb-maps')]);
  const progPin = join(prog, 'svcsim_connect4');
  const dp = await DataPath.open(reg, 'ebpf-');
  const out: EbpfConnectPoint[] = [];
  try {
    await dp.startServer();
    const client = async (n: number, mode: 'svc' | 'direct') => {
      // Joins the cgroup before entering the namespace: `ip netns exec` remounts /sys, hiding the cgroup tree.
      const script = 'echo $$ > "$1/cgroup.procs" && shift && exec ip netns exec "$@"';
      const args = ['-c', script, 'bash', session.cgroup, dp.client, 'python3', '-c', CONNECT_CLIENT, String(n), String(o.connects), String(o.warmup), mode];
      const r = JSON.parse((await run('bash', args)).stdout) as { times: number[]; cpuNs: number };
      return { p10: quantile(r.times, 0.1), p50: median(r.times), cpu: r.cpuNs };
    };
    let loaded = 0;
    for (const n of [...o.services].sort((a, b) => a - b)) {
      const batch = join(session.scratch, 'batch.txt');
      writeFileSync(batch, serviceBatch(maps, loaded, n, o.endpointsPerService));
      if (n > loaded) await run('bpftool', ['batch', 'file', batch]);
      loaded = Math.max(loaded, n);
      const acc = { with: [] as number[], without: [] as number[], withP50: [] as number[], withoutP50: [] as number[], withCpu: [] as number[], withoutCpu: [] as number[], prog: [] as number[] };
      for (let a = 0; a < o.alternations; a++) {
        await run('bpftool', ['cgroup', 'attach', session.cgroup, 'connect4', 'pinned', progPin]);
        const s0 = await progStats(progPin);
        const w = await client(n, 'svc');
        const s1 = await progStats(progPin);
        await run('bpftool', ['cgroup', 'detach', session.cgroup, 'connect4', 'pinned', progPin]);
        const d = await client(n, 'direct');
        acc.with.push(w.p10);
        acc.withP50.push(w.p50);
        acc.withCpu.push(w.cpu);
        acc.without.push(d.p10);
        acc.withoutP50.push(d.p50);
        acc.withoutCpu.push(d.cpu);
        acc.prog.push(perRun(s0, s1));
      }
      const p: EbpfConnectPoint = {
        services: n,
        endpointsPerService: o.endpointsPerService,
        withNs: median(acc.with),
        withoutNs: median(acc.without),
        withP50Ns: median(acc.withP50),
        withoutP50Ns: median(acc.withoutP50),
        withCpuNs: median(acc.withCpu),
        withoutCpuNs: median(acc.withoutCpu),
        programNs: median(acc.prog),
        connects: o.connects * o.alternations,
      };
      out.push(p);
      log(`ebpf connect4 services=${n}: connect p10 ${(p.withNs / 1e3).toFixed(1)} us vs ${(p.withoutNs / 1e3).toFixed(1)} us direct, CPU ${(p.withCpuNs / 1e3).toFixed(2)} us vs ${(p.withoutCpuNs / 1e3).toFixed(2)} us; the program runs ${p.programNs.toFixed(0)} ns`);
    }
  } finally {
    dp.close();
  }
  return out;
}

async function measurePacket(reg: NamespaceRegistry, session: EbpfSession, o: EbpfOptions, log: (s: string) => void): Promise<EbpfPacketPoints> {
  const obj = await buildProgram('ct_tc', session.scratch);
  const ns = await reg.create('ebpf-ct');
  const packets = Math.min(o.packets, 65_000);
  const out: EbpfPacketPoints = { packets, sameFlowNs: [], newFlowNs: [], withoutNs: [], withoutNewFlowNs: [], programSameFlowNs: [], programNewFlowNs: [] };
  let fresh = 0;
  const burst = async (kind: 'same' | 'new') => Number((await reg.exec(ns, 'python3', ['-c', CONNTRACK_SENDER, String(packets), kind])).stdout.trim());
  /** A burst with a freshly loaded program and an empty CT map on lo's egress; returns CPU per packet and the program's run time. */
  const withProgram = async (kind: 'same' | 'new') => {
    const dir = session.pin(`ct-${++fresh}`);
    await run('bpftool', ['prog', 'loadall', obj, dir, 'pinmaps', `${dir}-maps`]);
    const pin = join(dir, 'svcsim_ct');
    await reg.exec(ns, 'tc', ['qdisc', 'add', 'dev', 'lo', 'clsact']);
    await reg.exec(ns, 'tc', ['filter', 'add', 'dev', 'lo', 'egress', 'pref', '1', 'handle', '1', 'bpf', 'object-pinned', pin, 'direct-action']);
    const s0 = await progStats(pin);
    const ns0 = await burst(kind);
    const s1 = await progStats(pin);
    await reg.exec(ns, 'tc', ['qdisc', 'del', 'dev', 'lo', 'clsact']);
    // The pins were the last references but the filter's: the program and its map are freed.
    await run('rm', ['-rf', dir, `${dir}-maps`]);
    return { cpu: ns0, prog: perRun(s0, s1) };
  };
  try {
    for (let i = 0; i < o.rounds * o.alternations; i++) {
      const same = await withProgram('same');
      out.sameFlowNs.push(same.cpu);
      out.programSameFlowNs.push(same.prog);
      out.withoutNs.push(await burst('same'));
      const created = await withProgram('new');
      out.newFlowNs.push(created.cpu);
      out.programNewFlowNs.push(created.prog);
      out.withoutNewFlowNs.push(await burst('new'));
      const f = (v: number[]) => `${v.at(-1)!.toFixed(0)} ns`;
      log(`ebpf ct: CPU per packet: one flow ${f(out.sameFlowNs)} (without ${f(out.withoutNs)}; program ${f(out.programSameFlowNs)}), a new flow each ${f(out.newFlowNs)} (without ${f(out.withoutNewFlowNs)}; program ${f(out.programNewFlowNs)})`);
    }
    return out;
  } finally {
    reg.remove(ns);
  }
}
