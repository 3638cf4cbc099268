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
  const t0 = performance.now();
  sim.run();
  const seconds = (performance.now() - t0) / 1000;
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  return { pending, events: count, seconds, eventsPerSecond: count / seconds, rssBytes, peakRssBytes };
}

/** The line format of ../shared/tools/ns3-hold/run.sh, so the two can be read side by side. */
export function holdLine(r: HoldResult): string {
  return `svcsim pending=${r.pending} events=${r.events} seconds=${r.seconds.toFixed(3)} events_per_s=${Math.round(r.eventsPerSecond)}`;
}
