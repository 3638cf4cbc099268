/**
 * The conntrack garbage-collection worker: expiry without one timer event per entry.
 *
 * Since Linux 4.7 ("netfilter: conntrack: get rid of conntrack timer") entries carry an expiry stamp
 * and are reaped by lookups that meet them and by gc_worker (torvalds/linux
 * net/netfilter/nf_conntrack_core.c). The current worker walks the hash table in slices of at most
 * GC_SCAN_MAX_DURATION (10 ms), rescheduling at once until the pass completes, and then sleeps for the
 * running average of the remaining lifetimes it saw (each clamped to [1 s, 300 s], seeded with 100
 * samples of GC_SCAN_INTERVAL_INIT = 60 s), clamped to [GC_SCAN_INTERVAL_MIN 1 s, GC_SCAN_INTERVAL_MAX 60 s],
 * minus the time the pass took. After an allocation failed for lack of room it also evicts entries
 * that may be early-dropped while the table is over 95% full (see ConntrackTable.gcScan).
 *
 * In the simulator a slice is a number of buckets (`bucketsPerSlice`) rather than 10 ms of CPU, and a
 * pass takes no simulated time unless `nsPerBucket` is set.
 */
import type { Simulator } from '../engine/simulator.ts';
import type { Nanos } from '../engine/time.ts';
import type { ConntrackTable } from './table.ts';
import { GcScanResult } from './gc-scan.ts';

export const GC_SCAN_INTERVAL_MIN: Nanos = 1_000_000_000;
export const GC_SCAN_INTERVAL_MAX: Nanos = 60_000_000_000;
export const GC_SCAN_INTERVAL_INIT: Nanos = GC_SCAN_INTERVAL_MAX;
export const GC_SCAN_INITIAL_COUNT = 100;

export interface GcWorkerOptions {
  /** Buckets scanned per slice before the worker yields (default: the whole table in one slice). */
  bucketsPerSlice?: number;
  /** Simulated time one bucket takes to scan (default 0). */
  nsPerBucket?: Nanos;
}

export class ConntrackGcWorker {
  /** Full passes completed, slices run, entries reaped and evicted by the worker. */
  passes = 0;
  slices = 0;
  reaped = 0;
  evicted = 0;
  /** The delay chosen after the last full pass. */
  lastInterval: Nanos = GC_SCAN_INTERVAL_INIT;

  private nextBucket = 0;
  private passStart = 0;
  private lifetimeSum = 0;
  private samples = 0;
  private handle = -1;
  private readonly result = new GcScanResult();
  private readonly bucketsPerSlice: number;
  private readonly nsPerBucket: Nanos;

  constructor(private readonly sim: Simulator, readonly table: ConntrackTable, options: GcWorkerOptions = {}) {
    this.bucketsPerSlice = options.bucketsPerSlice ?? table.buckets;
    this.nsPerBucket = options.nsPerBucket ?? 0;
  }

  /** Schedules the first run one initial interval from now (conntrack_gc_work_init + queue_delayed_work). */
  start(delay: Nanos = GC_SCAN_INTERVAL_INIT): void {
    this.handle = this.sim.schedule(delay, runSlice, this);
  }

  stop(): void {
    if (this.handle >= 0) this.sim.cancel(this.handle);
    this.handle = -1;
  }

  /** One slice of the worker; schedules the next one. */
  slice(now: Nanos): void {
    const t = this.table;
    if (this.nextBucket === 0) {
      this.passStart = now;
      this.lifetimeSum = GC_SCAN_INTERVAL_INIT * GC_SCAN_INITIAL_COUNT;
      this.samples = GC_SCAN_INITIAL_COUNT;
    }
    const from = this.nextBucket;
    const n = Math.min(this.bucketsPerSlice, t.buckets - from);
    t.gcScan(from, n, now, this.result);
    this.slices++;
    this.reaped += this.result.expired;
    this.evicted += this.result.evicted;
    this.lifetimeSum += this.result.lifetimeSum;
    this.samples += this.result.live;
    this.nextBucket = this.result.nextBucket;
    const cost = n * this.nsPerBucket;
    let delay: Nanos;
    if (this.nextBucket !== 0) {
      delay = cost; // more buckets to go: continue right away
    } else {
      this.passes++;
      const avg = Math.floor(this.lifetimeSum / this.samples);
      const interval = Math.min(Math.max(avg, GC_SCAN_INTERVAL_MIN), GC_SCAN_INTERVAL_MAX);
      const took = Math.max(now + cost - this.passStart, 1);
      delay = interval > took ? interval - took : 1;
      this.lastInterval = interval;
      // A completed pass clears the pressure flag, as gc_worker does when it reschedules normally.
      t.earlyDropPressure = false;
    }
    this.handle = this.sim.schedule(delay, runSlice, this);
  }
}

function runSlice(w: ConntrackGcWorker, sim: Simulator): void {
  w.slice(sim.now);
}
