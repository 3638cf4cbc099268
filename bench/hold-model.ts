import { Simulator } from '../sim/engine/simulator.ts';
import type { QueueKind } from '../sim/engine/event-queue.ts';

/**
 * The hold model, the standard event-queue benchmark (Jones 1986; ns-3's own
 * src/core/examples/main-test-sync and ../shared/tools/ns3-hold/hold.cc): P events pending, each
 * handler reschedules itself once after 1 + Exp(mean 1000) ns (whole ns), until E events have run.
 * The queue holds P events throughout, so the cost per event is that of the queue at size P.
 * Delays come from the engine's own named stream, as ns-3's come from its own RNG.
 */
export interface HoldResult {
  pending: number;
  events: number;
  seconds: number;
  eventsPerSecond: number;
  /** CPU time of the run (process.cpuUsage, user + system), for comparisons on a loaded machine. */
  cpuSeconds: number;
  /** Resident set size right after the P events were scheduled, bytes. */
  rssBytes: number;
  /** Peak resident set size of the process over the whole run, bytes (the memory target's figure). */
  peakRssBytes: number;
}

export function runHold(pending: number, events: number, queue: QueueKind = 'radix', seed = 1): HoldResult {
  const sim = new Simulator({ seed, queue });
  const rng = sim.rng('bench/hold');
  let count = 0;
  const tick = (_: undefined, s: Simulator): void => {
    if (++count >= events) {
      s.stop();
      return;
    }
    s.schedule(1 + Math.floor(rng.exponential(1000)), tick);
  };
  for (let i = 0; i < pending; i++) sim.schedule(1 + Math.floor(rng.exponential(1000)), tick);
  const rssBytes = process.memoryUsage().rss;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  sim.run();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  return { pending, events: count, seconds, eventsPerSecond: count / seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, rssBytes, peakRssBytes };
}

/** The line format of ../shared/tools/ns3-hold/run.sh, so the two can be read side by side. */
export function holdLine(r: HoldResult): string {
  return `svcsim pending=${r.pending} events=${r.events} seconds=${r.seconds.toFixed(3)} events_per_s=${Math.round(r.eventsPerSecond)}`;
}

/**
 * A cancel-heavy workload, what conntrack timeouts and kube-proxy's sync timers do: `live` timers far
 * ahead (timeout ns), and a chain of E short events (1 + Exp(mean 1000) ns apart), each of which
 * re-arms one timer at random (cancel, schedule again at now + timeout). The live set stays `live` + 1;
 * without compaction the queue would keep every cancelled entry until its time came.
 */
export interface RearmResult {
  live: number;
  events: number;
  compact: boolean;
  seconds: number;
  eventsPerSecond: number;
  /** Queue entries at the end, cancelled ones included. */
  queued: number;
  compactions: number;
  peakRssBytes: number;
}

export function runRearm(live: number, events: number, compact: boolean, timeout = 120e9, seed = 1): RearmResult {
  const sim = new Simulator({ seed, compactCancelled: compact });
  const rng = sim.rng('bench/rearm');
  const timers: number[] = [];
  const expire = (): void => {};
  for (let i = 0; i < live; i++) timers.push(sim.schedule(timeout, expire));
  let count = 0;
  const packet = (_: undefined, s: Simulator): void => {
    const i = Math.floor(rng.random() * live);
    s.cancel(timers[i]!);
    timers[i] = s.schedule(timeout, expire);
    if (++count >= events) s.stop();
    else s.schedule(1 + Math.floor(rng.exponential(1000)), packet);
  };
  sim.schedule(0, packet);
  const t0 = performance.now();
  sim.run();
  const seconds = (performance.now() - t0) / 1000;
  return {
    live, events: count, compact, seconds, eventsPerSecond: count / seconds,
    queued: sim.queued, compactions: sim.compactions, peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}
