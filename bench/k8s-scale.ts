/**
 * The control plane at cluster scale (issue 4's benchmark): a 5,000-node, 150,000-pod, 10,000-Service
 * cluster where 10% of the Deployments are rolled (`kubectl rollout restart`) at once, with one
 * EndpointSlice watch per node's kube-proxy. The run lasts until every rollout has finished and the old
 * pods are gone (their 30 s grace period included), and the whole process, cluster build included,
 * must finish within a minute of wall-clock time.
 *
 *   npx tsx bench/k8s-scale.ts                         # the full size; exit 1 over the budget
 *   npx tsx bench/k8s-scale.ts --nodes 500 --services 1000 --budget 0
 *   npx tsx bench/k8s-scale.ts --no-proxy-watches      # without the 5,000-watcher fan-out
 *   node --cpu-prof --import tsx bench/k8s-scale.ts    # where the time goes
 *
 * The script runs itself again under node --max-semi-space-size=64 (unless a semi-space size is given):
 * with V8's default young generation, nearly every object of the 150,000-pod build is copied by several
 * scavenges before it is promoted, and GC took a quarter of the run. SVCSIM_DEFAULT_GC=1 keeps the
 * default, to compare.
 *
 * Prints one line per phase and a JSON record (wall and CPU times, simulated events, events/s, RSS
 * peak). On a shared machine the wall time is up to several times the CPU time, which is what a quiet
 * machine would show; both are reported. `runScale` is also the k8s suite's `k8s/rollout-restart` task
 * at 1/50 of the size (bench/k8s.bench.ts).
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Simulator } from '../sim/engine/simulator.ts';
import { MINUTE, MS, SECOND } from '../sim/engine/time.ts';
import { ControlPlane } from '../sim/k8s/control-plane.ts';
import { samplerOf } from '../sim/engine/distribution.ts';
import type { Deployment } from '../sim/k8s/objects.ts';

export interface ScaleOptions {
  nodes: number;
  services: number;
  endpointsPerService: number;
  /** Share of Deployments restarted at t = 1 s. */
  fraction: number;
  /** One EndpointSlice watch per node (kube-proxy's), each with its own delay stream. */
  proxyWatches: boolean;
  /** Simulated time limit; the run stops earlier once every rollout is complete and no pod terminates. */
  limit: number;
}

export interface ScaleResult {
  buildMs: number;
  runMs: number;
  totalMs: number;
  simulatedS: number;
  events: number;
  eventsPerSecond: number;
  /** Events per second of the run's CPU time (build excluded). */
  eventsPerCpuSecond: number;
  apiWrites: number;
  sliceSyncs: number;
  sliceWrites: number;
  watchDeliveries: number;
  podsCreated: number;
  podsDeleted: number;
  rollouts: number;
  rolloutsComplete: number;
  /** CPU time of the process (user + system), ms: the wall time a quiet machine would show. */
  cpuMs: number;
  buildCpuMs: number;
  rssPeakMB: number;
  heapUsedMB: number;
}

export const FULL_SCALE: ScaleOptions = { nodes: 5000, services: 10_000, endpointsPerService: 15, fraction: 0.1, proxyWatches: true, limit: 5 * MINUTE };

const CHECK_EVERY = 5 * SECOND;

/** Wall-clock time (bench/ only: sim/ never reads a clock). */
const wall = (): number => performance.now();

export function runScale(o: ScaleOptions, log: (line: string) => void = () => {}): ScaleResult {
  let rssPeak = process.memoryUsage.rss();
  const sampleRss = () => (rssPeak = Math.max(rssPeak, process.memoryUsage.rss()));
  const t0 = wall();
  const cpu0 = process.cpuUsage();
  const sim = new Simulator({ seed: 1 });
  const delay = samplerOf({ kind: 'lognormal', median: 5 * MS, p99: 50 * MS });
  const cp = new ControlPlane(sim, {
    nodes: o.nodes,
    services: o.services,
    endpointsPerService: o.endpointsPerService,
    // 5,000 nodes with a /26 each (the 45 addresses a node's 30 pods and their surge need) outgrow
    // 10.244.0.0/16: a /10 holds them.
    clusterCIDR: '100.64.0.0/10',
    watchLatency: delay,
    apiWriteLatency: delay,
    podStartupLatency: samplerOf({ kind: 'lognormal', median: 2 * SECOND, p99: 10 * SECOND }),
    churn: [{ kind: 'rolling-update', start: 1 * SECOND, every: 1000 * MINUTE, fraction: o.fraction }],
  });
  let deliveries = 0;
  const count = () => void deliveries++;
  if (o.proxyWatches) for (const node of cp.nodes()) cp.watchEndpointSlices(`kube-proxy/${node.name}`, count, { sendInitialEvents: false });
  cp.start();
  sampleRss();
  const t1 = wall();
  const buildCpu = process.cpuUsage(cpu0);
  log(`built ${o.nodes} nodes, ${cp.api.count('Pod')} pods, ${o.services} Services, ${cp.api.count('EndpointSlice')} EndpointSlices in ${((t1 - t0) / 1000).toFixed(1)} s`);

  // Run in steps: stop once the rollouts are done and the old pods have left.
  let rolloutsComplete = 0;
  while (sim.now < o.limit) {
    sim.run(Math.min(o.limit, sim.now + CHECK_EVERY));
    sampleRss();
    rolloutsComplete = completeRollouts(cp);
    const rollouts = cp.churn.counts.rollouts;
    const pods = cp.api.count('Pod');
    log(`  t=${(sim.now / SECOND).toFixed(0)}s events=${sim.executed} pods=${pods} rollouts complete ${rolloutsComplete}/${rollouts} rss=${(rssPeak / 2 ** 20).toFixed(0)}MB wall=${((wall() - t1) / 1000).toFixed(1)}s`);
    if (rollouts > 0 && rolloutsComplete === rollouts && pods === o.services * o.endpointsPerService) break;
  }
  const t2 = wall();
  const st = cp.stats();
  const runMs = t2 - t1;
  const cpu = process.cpuUsage(cpu0);
  return {
    buildMs: Math.round(t1 - t0),
    runMs: Math.round(runMs),
    totalMs: Math.round(t2 - t0),
    simulatedS: sim.now / SECOND,
    events: sim.executed,
    eventsPerSecond: Math.round(sim.executed / (runMs / 1000)),
    eventsPerCpuSecond: Math.round(sim.executed / ((cpu.user + cpu.system - buildCpu.user - buildCpu.system) / 1e6)),
    apiWrites: st.apiWrites,
    sliceSyncs: st.endpointSliceSyncs,
    sliceWrites: st.endpointSliceWrites,
    watchDeliveries: deliveries,
    podsCreated: st.podsCreated,
    podsDeleted: st.podsDeleted,
    rollouts: st.churn.rollouts,
    rolloutsComplete,
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    buildCpuMs: Math.round((buildCpu.user + buildCpu.system) / 1000),
    rssPeakMB: Math.round(rssPeak / 2 ** 20),
    heapUsedMB: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
  };
}

/**
 * Deployments rolled to completion: besides the new ReplicaSet, every old one is scaled to 0 and the
 * new one has all replicas available (what `kubectl rollout status` waits for), as the Deployment
 * controller sees them.
 */
function completeRollouts(cp: ControlPlane): number {
  let n = 0;
  for (const d of cp.api.list<Deployment>('Deployment')) {
    if ((d.metadata.generation ?? 1) < 2) continue;
    const sets = cp.deploymentController.replicaSetsOf(`${d.metadata.namespace ?? 'default'}/${d.metadata.name}`);
    const want = d.spec.replicas ?? 1;
    const live = sets.filter((s) => s.replicas > 0);
    if (sets.length >= 2 && live.length === 1 && live[0]!.replicas === want && live[0]!.available === want) n++;
  }
  return n;
}

function main(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      nodes: { type: 'string', default: String(FULL_SCALE.nodes) },
      services: { type: 'string', default: String(FULL_SCALE.services) },
      'endpoints-per-service': { type: 'string', default: String(FULL_SCALE.endpointsPerService) },
      fraction: { type: 'string', default: String(FULL_SCALE.fraction) },
      'no-proxy-watches': { type: 'boolean', default: false },
      budget: { type: 'string', default: '60', short: 'b' },
    },
    strict: true,
  });
  const o: ScaleOptions = {
    nodes: Number(values.nodes),
    services: Number(values.services),
    endpointsPerService: Number(values['endpoints-per-service']),
    fraction: Number(values.fraction),
    proxyWatches: !values['no-proxy-watches'],
    limit: FULL_SCALE.limit,
  };
  const r = runScale(o, (l) => process.stderr.write(`${l}\n`));
  const budget = Number(values.budget);
  process.stderr.write(
    `${o.nodes} nodes, ${o.services * o.endpointsPerService} pods, ${o.services} Services, rolling update of ${o.fraction * 100}% of Deployments: ` +
      `${r.simulatedS} s simulated, ${r.events} events in ${(r.runMs / 1000).toFixed(1)} s (${r.eventsPerSecond} events/s; ${r.eventsPerCpuSecond} per CPU second), ` +
      `build ${(r.buildMs / 1000).toFixed(1)} s, total ${(r.totalMs / 1000).toFixed(1)} s (CPU ${(r.cpuMs / 1000).toFixed(1)} s), RSS peak ${r.rssPeakMB} MB\n`,
  );
  process.stdout.write(`${JSON.stringify({ options: o, ...r })}\n`);
  if (budget > 0 && r.totalMs > budget * 1000) {
    process.stderr.write(`over the budget of ${budget} s\n`);
    return 1;
  }
  return r.rolloutsComplete === r.rollouts ? 0 : 1;
}

const SEMI_SPACE = '--max-semi-space-size=64';

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (process.env.SVCSIM_DEFAULT_GC || flags.some((f) => f.startsWith('--max-semi-space-size'))) process.exitCode = main(process.argv.slice(2));
  else {
    const r = spawnSync(process.execPath, [SEMI_SPACE, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
    process.exitCode = r.status ?? 1;
  }
}
