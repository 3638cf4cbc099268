/**
 * `npm run bench:engine [-- --events E] [--queue radix|heap4|fastpriorityqueue] [--repeat N] [--ns3]`
 *
 * Runs the hold model at P = 1e3, 1e5, 1e6 and prints one line per P in the format of
 * ../shared/tools/ns3-hold/run.sh (`svcsim pending=P events=E seconds=S events_per_s=R`), the median
 * of --repeat runs (default 3). With --ns3 it then runs ns-3's own event core on the identical
 * workload (that script installs libns3-dev when needed) and prints svcsim's rate over the best ns-3
 * scheduler at each P. Each P runs in a fresh process so one size's heap does not tax the next.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { runHold, holdLine, type HoldResult } from './hold-model.ts';
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
  const r = runHold(sizes[0]!, events, queue);
  process.stdout.write(JSON.stringify(r) + '\n');
  process.exit(0);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ours = new Map<number, number>();
for (const P of sizes) {
  const runs: HoldResult[] = [];
  for (let i = 0; i < repeat; i++) {
    const res = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', '--pending', String(P), '--events', String(events), '--queue', queue], { encoding: 'utf8' });
    if (res.status !== 0) throw new Error(`hold child failed: ${res.stderr}`);
    runs.push(JSON.parse(res.stdout.trim().split('\n').pop()!));
  }
  const mid = runs.find((r) => r.eventsPerSecond === median(runs.map((x) => x.eventsPerSecond)))!;
  ours.set(P, mid.eventsPerSecond);
  console.log(holdLine(mid));
  console.log(`# queue=${queue} runs=${runs.map((r) => Math.round(r.eventsPerSecond)).join(',')} rss_after_schedule_mb=${(mid.rssBytes / 2 ** 20).toFixed(0)} peak_rss_mb=${(mid.peakRssBytes / 2 ** 20).toFixed(0)}`);
}

if (flag('--ns3')) {
  const script = join(here, '..', '..', 'shared', 'tools', 'ns3-hold', 'run.sh');
  if (!existsSync(script)) {
    console.log(`# ns-3 anchor not found at ${script}`);
  } else {
    const res = spawnSync('bash', [script, String(events)], { encoding: 'utf8' });
    process.stdout.write(res.stdout);
    const best = new Map<number, number>();
    for (const line of res.stdout.split('\n')) {
      const m = /^ns3 \S+ pending=(\d+) .*events_per_s=(\d+)/.exec(line);
      if (m) best.set(Number(m[1]), Math.max(best.get(Number(m[1])) ?? 0, Number(m[2])));
    }
    for (const [P, r] of ours) {
      const b = best.get(P);
      if (b) console.log(`ratio pending=${P} svcsim/best_ns3=${(r / b).toFixed(2)}`);
    }
  }
}
