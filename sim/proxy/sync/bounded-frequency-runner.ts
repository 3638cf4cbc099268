import type { Simulator } from '../../engine/simulator.ts';
import type { Nanos } from '../../engine/time.ts';

/**
 * kube-proxy's sync runner: kubernetes/kubernetes pkg/proxy/runner/bounded_frequency_runner.go,
 * as the iptables, ipvs and nftables proxiers build it (pkg/proxy/iptables/proxier.go:
 * `NewBoundedFrequencyRunner("sync-runner", syncProxyRules, minSyncPeriod, syncPeriod, FullSyncPeriod)`):
 *
 * - at least `minInterval` (minSyncPeriod) passes between the *end* of one sync and the start of the
 *   next; requests during a sync or during that cool-down coalesce into one sync when it expires;
 * - a failed sync is retried after `retryInterval` (syncPeriod) unless something runs it sooner;
 * - a sync runs at least once per `maxInterval` (FullSyncPeriod, one hour) even with no request.
 *
 * Older kube-proxy (<= 1.32, pkg/util/async) used syncPeriod as the max interval and allowed two
 * burst syncs; this models the current runner, which has no bursts.
 *
 * A sync takes simulated time: `start()` returns how long it will take and whether it will fail, and
 * the runner calls `finish()` at its end (when the new rules become active).
 */
export interface SyncJob {
  /** Called when a sync starts; returns its duration and whether it fails. */
  start(now: Nanos): { durationNs: Nanos; ok: boolean };
  /** Called when that sync ends (rules active if it succeeded). */
  finish(now: Nanos, ok: boolean): void;
  /**
   * For a job whose changes are not all announced by Run() as they come (a watch read on demand):
   * asked at the end of the cool-down whether it has heard of changes since its last start, which
   * is what a Run() call for each of them would have queued by then.
   */
  changesWaiting?(): boolean;
  /** Told that the runner went idle: the job calls run() at its next change. */
  idle?(): void;
}

export interface RunnerIntervals {
  minInterval: Nanos;
  retryInterval: Nanos;
  maxInterval: Nanos;
}

type Phase = 'idle' | 'running' | 'cooldown' | 'stopped';

const onMaxTimer = (r: BoundedFrequencyRunner) => r.wake('max');
const onRetryTimer = (r: BoundedFrequencyRunner) => r.wake('retry');
const onCooldownEnd = (r: BoundedFrequencyRunner) => r.cooled();
const onSyncEnd = (r: BoundedFrequencyRunner) => r.ended();

export class BoundedFrequencyRunner {
  private phase: Phase = 'idle';
  /** A Run() request is queued (the Go runner's one-slot channel is full). */
  private requested = false;
  private lastOk = true;
  private maxTimer = -1;
  private retryTimer = -1;
  syncs = 0;
  failures = 0;

  constructor(
    private readonly sim: Simulator,
    private readonly intervals: RunnerIntervals,
    private readonly job: SyncJob,
  ) {
    if (intervals.maxInterval < intervals.minInterval) throw new RangeError('maxInterval must be >= minInterval');
  }

  /** Starts the loop (Loop()): arms the max-interval timer. */
  loop(): void {
    this.maxTimer = this.sim.schedule(this.intervals.maxInterval, onMaxTimer, this);
  }

  /** Run(): sync as soon as the min interval allows; coalesces with a request already queued. */
  run(): void {
    if (this.phase === 'stopped') return;
    if (this.phase === 'idle') this.begin();
    else this.requested = true;
  }

  stop(): void {
    this.phase = 'stopped';
    this.sim.cancel(this.maxTimer);
    this.sim.cancel(this.retryTimer);
  }

  get busy(): boolean {
    return this.phase === 'running';
  }

  /** @internal timer callbacks */
  wake(_why: 'max' | 'retry'): void {
    if (this.phase === 'idle') this.begin();
    else if (this.phase !== 'stopped') this.requested = true;
  }

  /** @internal */
  cooled(): void {
    if (this.phase !== 'cooldown') return;
    this.phase = 'idle';
    if (this.job.changesWaiting?.()) this.requested = true;
    if (this.requested) this.begin();
    else this.job.idle?.();
  }

  /** @internal */
  ended(): void {
    if (this.phase !== 'running') return;
    this.job.finish(this.sim.now, this.lastOk);
    if (this.lastOk) this.sim.cancel(this.retryTimer);
    else {
      this.failures++;
      this.sim.cancel(this.retryTimer);
      this.retryTimer = this.sim.schedule(this.intervals.retryInterval, onRetryTimer, this);
    }
    this.sim.cancel(this.maxTimer);
    this.maxTimer = this.sim.schedule(this.intervals.maxInterval, onMaxTimer, this);
    this.phase = 'cooldown';
    this.sim.schedule(this.intervals.minInterval, onCooldownEnd, this);
  }

  private begin(): void {
    this.requested = false;
    this.phase = 'running';
    this.syncs++;
    const { durationNs, ok } = this.job.start(this.sim.now);
    this.lastOk = ok;
    this.sim.schedule(durationNs, onSyncEnd, this);
  }
}
