/**
 * `sudo npx tsx calibrate/connect-distribution.ts [--quick] [--out FILE]`: measures the distribution
 * of TCP connect latency on this host (not only its mean), for the kernel part of
 * connectSetupLatency (sim/cost/connect-latency.ts) and for the validation study's references.
 * `--from FILE` fits an earlier measurement again and prints it, measuring nothing.
 *
 * The data path is calibrate/probes.ts's: client, router and server namespaces joined by veth pairs,
 * the router holding kube-proxy-like rules in nat PREROUTING (calibrate/rulesets.ts). Two layouts:
 * - position k: the probe target's Service rule after k others, every connect to it (the SYN walks
 *   k rules once: walkRepeat 1, kube-proxy's layout exactly). k = 0 is the kernel's connect without
 *   a walk, which runs draw from.
 * - services N: N Services whose endpoints all answer (the server namespace takes the pod range as
 *   local addresses), each connect to one of them chosen uniformly: a client of a cluster of N
 *   Services, the distribution a run of N Services simulates.
 * For iptables (legacy) and nftables (kube-proxy's verdict-map layout). Every namespace's name holds
 * `latency`; all are removed on exit, on failure and on SIGINT/SIGTERM (NamespaceRegistry).
 */
import { loadavg, release, cpus } from 'node:os';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../sim/io/atomic-write.ts';
import { KEPT_QUANTILES, fitQuantileFunction, percentileKey, type QuantileFunction } from '../sim/cost/connect-latency.ts';
import { NamespaceRegistry } from './namespaces.ts';
import { missingMessage, missingPrerequisites, realHost } from './preflight.ts';
import { DataPath, TARGET } from './probes.ts';
import { iptablesRestoreInput, nftablesInput } from './rulesets.ts';

const here = dirname(fileURLToPath(import.meta.url));
const agentPath = join(here, 'latency-agent.mjs');

export type ConnectMode = 'iptables' | 'nftables';

export interface ConnectDistributionPoint {
  mode: ConnectMode;
  layout: 'position' | 'services';
  /** Rules before the target's (position) or Services in the table (services). */
  k: number;
  connects: number;
  meanNs: number;
  minNs: number;
  maxNs: number;
  /** `p1`..`p99`, `p99.5`, `p99.9` -> ns (nearest rank). */
  percentiles: Record<string, number>;
}

export interface ConnectDistributionFile {
  kind: 'svcsim-connect-distribution';
  measuredAt: string;
  command: string;
  host: { kernel: string; cpuModel: string; cpus: number; loadavgStart: number[]; loadavgEnd: number[] };
  endpointsPerService: number;
  points: ConnectDistributionPoint[];
  /** The point runs draw the kernel's part of connection setup from (its key, pointKey). */
  kernel: string;
}

/** Nearest-rank percentile of sorted values (Histogram.percentile's rule). */
export function nearestRank(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function summarize(mode: ConnectMode, layout: ConnectDistributionPoint['layout'], k: number, times: readonly number[]): ConnectDistributionPoint {
  const s = [...times].sort((a, b) => a - b);
  const percentiles: Record<string, number> = {};
  for (const q of KEPT_QUANTILES) percentiles[percentileKey(q)] = s[0] === undefined ? NaN : nearestRank(s, q);
  return { mode, layout, k, connects: s.length, meanNs: s.reduce((a, b) => a + b, 0) / s.length, minNs: s[0]!, maxNs: s.at(-1)!, percentiles };
}

export function pointKey(p: Pick<ConnectDistributionPoint, 'mode' | 'layout' | 'k'>): string {
  return `${p.mode}/${p.layout}/${p.k}`;
}

/** iptables with the target's rule first (position 0): connect latency without a walk, what runs draw. */
export const KERNEL_POINT = 'iptables/position/0';

/** The fitted distribution of the file's kernel point (sim/cost/connect-latency.ts). */
export function kernelFit(file: ConnectDistributionFile): QuantileFunction {
  const p = file.points.find((x) => pointKey(x) === file.kernel);
  if (!p) throw new Error(`connect-distribution: no point ${file.kernel}`);
  return fitQuantileFunction(p);
}

/** A registry whose namespaces carry `latency` in their names, so no other probe's cleanup touches them. */
class LatencyNamespaces extends NamespaceRegistry {
  override nextName(role: string): string {
    return super.nextName(`latency-${role}`);
  }
}

interface Plan { positions: number[]; services: number[]; connects: number; warmup: number; passes: number; endpointsPerService: number }
const FULL: Plan = { positions: [0, 1000, 5000, 10_000], services: [100, 1000, 5000, 10_000], connects: 2000, warmup: 200, passes: 3, endpointsPerService: 4 };
const QUICK: Plan = { positions: [0, 1000], services: [100, 1000], connects: 500, warmup: 50, passes: 1, endpointsPerService: 4 };

/** Every endpoint address answers: the router routes the pod range to the server, which takes it as local. */
async function routePodRange(reg: NamespaceRegistry, dp: DataPath): Promise<void> {
  await reg.exec(dp.router, 'ip', ['route', 'add', '10.244.0.0/14', 'via', '192.168.60.2']);
  await reg.exec(dp.server, 'ip', ['route', 'add', 'local', '10.244.0.0/14', 'dev', 'lo']);
}

async function loadRules(reg: NamespaceRegistry, dp: DataPath, mode: ConnectMode, layout: 'position' | 'services', k: number, e: number): Promise<void> {
  if (mode === 'iptables') {
    const rules = layout === 'position' ? iptablesRestoreInput(k, e, TARGET, 1) : iptablesRestoreInput(k, e);
    await reg.exec(dp.router, 'iptables-legacy-restore', [], rules.text);
  } else {
    await reg.exec(dp.router, 'nft', ['flush', 'ruleset']);
    const rules = layout === 'position' ? nftablesInput(k, e, TARGET) : nftablesInput(k, e);
    await reg.exec(dp.router, 'nft', ['-f', '-'], rules.text);
  }
}

async function connects(reg: NamespaceRegistry, dp: DataPath, layout: 'position' | 'services', k: number, plan: Plan, seed: number): Promise<number[]> {
  const args = layout === 'position' ? ['one', TARGET.clusterIP, TARGET.port, plan.connects, plan.warmup] : ['services', k, 80, plan.connects, plan.warmup, seed];
  const r = await reg.exec(dp.client, process.execPath, [agentPath, ...args.map(String)]);
  return (JSON.parse(r.stdout) as { times: number[] }).times;
}

/** Measures every point of the plan for one mode in a data path of its own. Passes alternate the order. */
async function measureMode(reg: NamespaceRegistry, mode: ConnectMode, plan: Plan, log: (s: string) => void): Promise<ConnectDistributionPoint[]> {
  const dp = await DataPath.open(reg);
  try {
    await routePodRange(reg, dp);
    await dp.startServer();
    const layouts = [...plan.positions.map((k) => ({ layout: 'position' as const, k })), ...plan.services.map((k) => ({ layout: 'services' as const, k }))];
    const acc = new Map<string, number[]>();
    for (let pass = 0; pass < plan.passes; pass++) {
      for (const { layout, k } of pass % 2 === 0 ? layouts : [...layouts].reverse()) {
        await loadRules(reg, dp, mode, layout, k, plan.endpointsPerService);
        const times = await connects(reg, dp, layout, k, plan, pass + 1);
        const key = `${layout}/${k}`;
        acc.set(key, [...(acc.get(key) ?? []), ...times]);
        const p = summarize(mode, layout, k, times);
        log(`${mode} ${layout}=${k} pass ${pass + 1}: p50 ${(p.percentiles.p50! / 1e3).toFixed(1)} us, p90 ${(p.percentiles.p90! / 1e3).toFixed(1)} us, p99 ${(p.percentiles.p99! / 1e3).toFixed(1)} us`);
      }
    }
    return layouts.map(({ layout, k }) => summarize(mode, layout, k, acc.get(`${layout}/${k}`)!));
  } finally {
    dp.close();
  }
}

export async function measureConnectDistributions(quick: boolean, command: string, log: (s: string) => void): Promise<ConnectDistributionFile> {
  const plan = quick ? QUICK : FULL;
  const reg = new LatencyNamespaces();
  try {
    const preflight = reg.nextName('preflight');
    reg.adopt(preflight);
    const missing = missingPrerequisites(realHost, preflight);
    reg.forget(preflight);
    if (missing.length) throw new Error(missingMessage(missing));
    const measuredAt = new Date().toISOString();
    const load0 = loadavg();
    const points: ConnectDistributionPoint[] = [];
    for (const mode of ['iptables', 'nftables'] as const) points.push(...(await measureMode(reg, mode, plan, log)));
    const round = (v: number[]) => v.map((l) => Math.round(l * 100) / 100);
    return {
      kind: 'svcsim-connect-distribution',
      measuredAt,
      command,
      host: { kernel: release(), cpuModel: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, loadavgStart: round(load0), loadavgEnd: round(loadavg()) },
      endpointsPerService: plan.endpointsPerService,
      points,
      kernel: KERNEL_POINT,
    };
  } finally {
    reg.close();
  }
}

export function readConnectDistributionFile(path: string): ConnectDistributionFile {
  const f = JSON.parse(readFileSync(path, 'utf8')) as ConnectDistributionFile;
  if (f?.kind !== 'svcsim-connect-distribution') throw new Error(`${path}: not a connect-distribution file (kind ${JSON.stringify(f?.kind)})`);
  return f;
}

/**
 * sim/cost/connect-latency-default.ts: the kernel fit of a measurement as the default runs use.
 * connect-distribution.test.ts checks that the module holds the fit of calibrate/measured/connect-latency.json.
 */
export function defaultModuleText(file: ConnectDistributionFile, source: string): string {
  const f = kernelFit(file);
  const p = file.points.find((x) => pointKey(x) === file.kernel)!;
  const us = (v: number | undefined) => `${((v ?? NaN) / 1e3).toFixed(1)} us`;
  return `import type { QuantileFunction } from './connect-latency.ts';

/**
 * The kernel part of connectSetupLatency that runs draw by default: the fit (connect-latency.ts) of
 * ${source} point ${file.kernel} (${p.connects} connects; p50 ${us(p.percentiles.p50)}, p90 ${us(p.percentiles.p90)}, p99 ${us(p.percentiles.p99)}),
 * measured ${file.measuredAt} on Linux ${file.host.kernel}, ${file.host.cpus} CPUs, load average ${file.host.loadavgStart[0]} to ${file.host.loadavgEnd[0]}.
 * Written by \`npx tsx calibrate/connect-distribution.ts --from ${source} --write-default\`; do not edit.
 */
export const DEFAULT_CONNECT_KERNEL: QuantileFunction = {
  q: [${f.q.map((v) => Number(v.toFixed(4))).join(', ')}],
  ns: [${f.ns.map((v) => Math.round(v)).join(', ')}],
};
`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string' }, from: { type: 'string' }, 'write-default': { type: 'boolean', default: false } } });
  const out = resolve(values.out ?? join(here, 'measured', 'connect-latency.json'));
  const command = `sudo npx tsx calibrate/connect-distribution.ts${values.quick ? ' --quick' : ''}${values.out ? ` --out ${values.out}` : ''}`;
  const file = values.from ? { ...readConnectDistributionFile(values.from) } : await measureConnectDistributions(values.quick!, command, (s) => process.stderr.write(`${s}\n`));
  if (!values.from) writeFileAtomic(out, `${JSON.stringify(file, null, 2)}\n`);
  const us = (v: number | undefined) => `${((v ?? NaN) / 1e3).toFixed(1)} us`.padStart(11);
  for (const p of file.points) process.stdout.write(`${pointKey(p).padEnd(26)} p50 ${us(p.percentiles.p50)} p90 ${us(p.percentiles.p90)} p99 ${us(p.percentiles.p99)}  n=${p.connects}\n`);
  const f = kernelFit(file);
  process.stdout.write(`kernel (${file.kernel}): ${f.q.length} knots, ${us(f.ns[0])} .. ${us(f.ns.at(-1))}\n`);
  if (values['write-default']) writeFileAtomic(join(here, '..', 'sim', 'cost', 'connect-latency-default.ts'), defaultModuleText(file, values.from ?? 'calibrate/measured/connect-latency.json'));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: Error) => {
    process.stderr.write(`connect-distribution: ${e.message}\n`);
    process.exit(e.message.includes('missing') ? 2 : 1);
  });
}
