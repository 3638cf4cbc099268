import type { Simulator } from '../engine/simulator.ts';
import { TimeSeries } from '../engine/stats/time-series.ts';
import type { ClientConntrack } from './client-conntrack.ts';

/**
 * Conntrack figures of a run, over the nodes that host clients (the tables kube-proxy's ClusterIP
 * traffic fills). `conntrack.entries.peak` is the fullest node's nf_conntrack_count at its peak;
 * `.mean` is the time-weighted count averaged over those nodes; `.end` the fullest node's count when
 * the run ends (what is still held then: entries a long timeout keeps pile up there, while the peak
 * of a short run is often the first minute before the gc worker's first pass); drops and evictions are the sums of
 * the kernel's `conntrack -S` counters (drop, early_drop, insert_failed).
 *
 * The time series `conntrack.entries` samples the fullest node's count once per metrics interval
 * (a gauge read at the end of each bucket, as a `conntrack -C` poll would).
 */
export class ConntrackMetrics {
  readonly series: TimeSeries;

  constructor(
    private readonly sim: Simulator,
    private readonly conntrack: ClientConntrack,
    private readonly max: number,
    intervalNs: number,
  ) {
    this.series = new TimeSeries('conntrack.entries', intervalNs, 'last');
  }

  /** Schedules the sampler at the end of every interval up to `untilNs`. */
  start(untilNs: number): void {
    const step = this.series.intervalNs;
    for (let t = step; t <= untilNs; t += step) this.sim.scheduleAt(t, sample, this);
  }

  /** @internal */
  sample(now: number): void {
    let fullest = 0;
    for (const [, t] of this.conntrack.nodes) if (t.count > fullest) fullest = t.count;
    // Recorded into the bucket that just ended, so the point at t is the count at t + interval.
    this.series.record(now - 1, fullest);
  }

  figures(untilNs: number): Record<string, number> {
    let peak = 0;
    let end = 0;
    let meanSum = 0;
    let nodes = 0;
    let drop = 0;
    let earlyDrop = 0;
    let insertFailed = 0;
    for (const [, t] of this.conntrack.nodes) {
      nodes++;
      peak = Math.max(peak, t.occupancy.max);
      end = Math.max(end, t.count);
      meanSum += t.occupancy.mean(untilNs);
      drop += t.stats.drop;
      earlyDrop += t.stats.earlyDrop;
      insertFailed += t.stats.insertFailed;
    }
    return {
      'conntrack.max': this.max,
      'conntrack.entries.peak': peak,
      'conntrack.entries.mean': nodes ? meanSum / nodes : 0,
      'conntrack.occupancy.peak': this.max > 0 ? peak / this.max : NaN,
      'conntrack.entries.end': end,
      'conntrack.occupancy.end': this.max > 0 ? end / this.max : NaN,
      'conntrack.drops': drop,
      'conntrack.earlyDrops': earlyDrop,
      'conntrack.insertFailed': insertFailed,
    };
  }
}

const sample = (m: ConntrackMetrics, sim: Simulator) => m.sample(sim.now);
