/**
 * `npm run bench:engine [-- --events E] [--queue radix|heap4|fastpriorityqueue] [--repeat N] [--ns3] [--rearm]`
 *
 * Runs the hold model at P = 1e3, 1e5, 1e6 and prints one line per P in the format of
 * ../shared/tools/ns3-hold/run.sh (`svcsim pending=P events=E seconds=S events_per_s=R`), the median
 * of --repeat runs (default 3). With --ns3 each of those runs is followed by one run of ns-3's own
 * event core per scheduler on the identical workload (hold.cc of that tool), and it prints the ns-3
 * medians and svcsim's median rate over the best ns-3 scheduler's at each P. Each run is a fresh
 * process, so one size's heap does not tax the next, and its peak RSS (getrusage's maxrss, the
 * whole process: node, tsx and the engine) is that size's alone.
 *
 * --cpu compares by CPU time instead of wall time, for a machine loaded by other work, where a
 * wall-clock rate mostly measures the share of the cores a run happened to get: svcsim's child
 * times sim.run() with process.cpuUsage, and ns-3's side is hold.cc rebuilt with its steady_clock
 * timer swapped for std::clock (process CPU time) around the same Simulator::Run().
 *
 * --rearm runs the cancel-heavy model instead (runRearm in hold-model.ts: 1e5 live timers, each
 * event re-arms one) with and without the compaction of cancelled events, and prints events/s, the
 * queue's entries at the end and peak RSS for each: the measurement behind Simulator.cancel's policy.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { runHold, runRearm, holdLine, type HoldResult, type RearmResult } from './hold-model.ts';
import type { QueueKind } from '../sim/engine/event-queue.ts';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const value = (name: string, def: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const events = Number(value('--events', '5000000'));
const queue = value('--queue', 'radix') as QueueKind;
const repeat = Number(value('--repeat', '3'));
const sizes = value('--pending', '1000,100000,1000000').split(',').map(Number);

if (flag('--child')) {
  // One P, one run, in this process: print JSON for the parent.
  const r = flag('--rearm') ? runRearm(sizes[0]!, events, !flag('--lazy')) : runHold(sizes[0]!, events, queue);
  process.stdout.write(JSON.stringify(r) + '\n');
  process.exit(0);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function runOurs(P: number): HoldResult {
  const res = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', '--pending', String(P), '--events', String(events), '--queue', queue], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`hold child failed: ${res.stderr}`);
  return JSON.parse(res.stdout.trim().split('\n').pop()!);
}

if (flag('--rearm')) {
  const live = flag('--pending') ? sizes[0]! : 100_000;
  for (let i = 0; i < repeat; i++) {
    for (const lazy of [false, true]) {
      const res = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', '--rearm', ...(lazy ? ['--lazy'] : []), '--pending', String(live), '--events', String(events)], { encoding: 'utf8' });
      if (res.status !== 0) throw new Error(`rearm child failed: ${res.stderr}`);
      const r: RearmResult = JSON.parse(res.stdout.trim().split('\n').pop()!);
      console.log(`rearm live=${r.live} events=${r.events} compact=${r.compact} seconds=${r.seconds.toFixed(3)} events_per_s=${Math.round(r.eventsPerSecond)} queued=${r.queued} compactions=${r.compactions} peak_rss_mb=${(r.peakRssBytes / 2 ** 20).toFixed(0)}`);
    }
  }
  process.exit(0);
}

// ns-3's side: ../shared/tools/ns3-hold/run.sh builds hold.cc against libns3-dev (installing it when
// missing) into ${TMPDIR:-/tmp}/ns3-hold and runs every scheduler at every P. The first time, the
// script is run as a whole to build it; then the binary is called per (P, scheduler) so that its runs
// alternate with svcsim's: on a machine shared with other work, load drifts over the minutes a
// whole sweep takes, and alternating makes both sides see the same drift.
const NS3_SCHEDULERS = ['ns3::MapScheduler', 'ns3::HeapScheduler', 'ns3::CalendarScheduler'];
const script = join(here, '..', '..', 'shared', 'tools', 'ns3-hold', 'run.sh');
const binary = join(process.env.TMPDIR ?? '/tmp', 'ns3-hold');
let ns3 = flag('--ns3');
if (ns3 && !existsSync(binary)) {
  if (!existsSync(script)) {
    console.log(`# ns-3 anchor not found at ${script}`);
    ns3 = false;
  } else {
    spawnSync('bash', [script, '1000'], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'inherit'] });
    if (!existsSync(binary)) {
      console.log(`# ${script} did not build ${binary}`);
      ns3 = false;
    }
  }
}
// --cpu: the same hold.cc timed by CPU time (see the header), built once beside the binary.
const byCpu = flag('--cpu');
const cpuBinary = binary + '-cpu';
if (ns3 && byCpu && !existsSync(cpuBinary)) {
  const source = readFileSync(join(dirname(script), 'hold.cc'), 'utf8')
    .replace('auto t0 = std::chrono::steady_clock::now();', 'std::clock_t t0 = std::clock();')
    .replace('std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()', 'double(std::clock() - t0) / CLOCKS_PER_SEC')
    .replace('#include <chrono>', '#include <chrono>\n#include <ctime>');
  if (!source.includes('std::clock() - t0')) throw new Error('hold.cc changed: cannot swap its timer for CPU time');
  const cc = cpuBinary + '.cc';
  writeFileSync(cc, source);
  const flags = spawnSync('pkg-config', ['--cflags', '--libs', 'ns3-core'], { encoding: 'utf8' }).stdout.trim().split(/\s+/);
  const res = spawnSync('g++', ['-O2', '-std=c++17', cc, '-o', cpuBinary, ...flags], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`building ${cpuBinary} failed: ${res.stderr}`);
}
function runNs3(P: number, scheduler: string): number | undefined {
  const res = spawnSync(byCpu ? cpuBinary : binary, [String(P), String(events), scheduler], { encoding: 'utf8' });
  const m = /events_per_s=(\d+)/.exec(res.stdout);
  return m ? Number(m[1]) : undefined;
}

for (const P of sizes) {
  const runs: HoldResult[] = [];
  const theirs = new Map<string, number[]>();
  // The calendar queue degrades badly with a million pending events; run.sh skips it there too.
  const schedulers = NS3_SCHEDULERS.filter((s) => !(P >= 1_000_000 && s === 'ns3::CalendarScheduler'));
  for (let i = 0; i < repeat; i++) {
    runs.push(runOurs(P));
    if (!ns3) continue;
    for (const s of schedulers) {
      const r = runNs3(P, s);
      if (r !== undefined) theirs.set(s, [...(theirs.get(s) ?? []), r]);
    }
  }
  // By CPU time, the line's seconds and rate are the CPU time's (the format stays run.sh's).
  if (byCpu) for (const r of runs) Object.assign(r, { seconds: r.cpuSeconds, eventsPerSecond: r.events / r.cpuSeconds });
  const mid = runs.find((r) => r.eventsPerSecond === median(runs.map((x) => x.eventsPerSecond)))!;
  console.log(holdLine(mid));
  console.log(`# queue=${queue} clock=${byCpu ? 'cpu' : 'wall'} runs=${runs.map((r) => Math.round(r.eventsPerSecond)).join(',')} rss_after_schedule_mb=${(mid.rssBytes / 2 ** 20).toFixed(0)} peak_rss_mb=${(mid.peakRssBytes / 2 ** 20).toFixed(0)} max_peak_rss_mb=${(Math.max(...runs.map((r) => r.peakRssBytes)) / 2 ** 20).toFixed(0)}`);
  if (!ns3) continue;
  let best = 0;
  for (const [s, rs] of theirs) {
    const m = median(rs);
    best = Math.max(best, m);
    console.log(`ns3 ${s} pending=${P} events=${events} events_per_s=${Math.round(m)}`);
    console.log(`# runs=${rs.join(',')}`);
  }
  if (best > 0) console.log(`ratio pending=${P} svcsim/best_ns3=${(mid.eventsPerSecond / best).toFixed(2)}`);
}
