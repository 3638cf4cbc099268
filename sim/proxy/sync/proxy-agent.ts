import type { Simulator } from '../../engine/simulator.ts';
import { BoundedFrequencyRunner, type RunnerIntervals, type SyncJob } from './bounded-frequency-runner.ts';
import type { EndpointTimeline } from './endpoint-timeline.ts';
import type { ModeModel, SyncWork } from '../cost/mode-model.ts';
import type { PulledWatch } from './node-proxy.ts';

/**
 * One node's kube-proxy: what it has heard (a version of the shared EndpointTimeline), what its
 * kernel runs (the version of its last successful sync), and the sync loop between the two.
 *
 * As in kube-proxy (pkg/proxy/iptables/proxier.go syncProxyRules): a sync checks out every change
 * heard so far when it starts; it is a full sync at start-up, after a failure, and once per
 * FullSyncPeriod (an hour), partial otherwise; the new rules become active when it ends, atomically
 * (iptables-restore commits a table at once; nft -f is one transaction). The rules of version 0 are
 * taken to be in the kernel already when the run starts (a restarted kube-proxy finds them there).
 */
export interface SyncObserver {
  /** A sync finished on `node`; rules of `to` are active from now (when ok). */
  onSyncEnd(node: number, from: number, to: number, now: number, ok: boolean, durationNs: number, full: boolean, units: number): void;
}

export interface AgentOptions {
  intervals: RunnerIntervals;
  /** Probability that a sync fails (iptables-restore exits non-zero), drawn per sync. */
  syncFailureProbability: number;
  fullSyncPeriodNs: number;
}

export class ProxyAgent implements SyncJob {
  /** Newest timeline version this node's watch has delivered. */
  heard = 0;
  /** Version whose rules the node's kernel runs. */
  active = 0;
  /** Counts completed successful syncs: reshuffles the KUBE-SERVICES order (Go map order). */
  generation = 0;
  activeSince = 0;
  private target = 0;
  private full = true;
  private lastFullSync = 0;
  private startedAt = 0;
  private work: SyncWork | null = null;
  private units = 0;
  readonly runner: BoundedFrequencyRunner;
  private readonly failures;
  private watch: PulledWatch | null = null;

  constructor(
    sim: Simulator,
    readonly node: number,
    private readonly timeline: EndpointTimeline,
    private readonly mode: ModeModel,
    private readonly options: AgentOptions,
    private readonly observer: SyncObserver,
  ) {
    this.runner = new BoundedFrequencyRunner(sim, options.intervals, this);
    this.failures = sim.rng(`proxy/node-${node}/sync-failure`);
  }

  /** Starts the loop with the initial full sync, as kube-proxy does once its informers have synced. */
  startLoop(): void {
    this.runner.loop();
    this.runner.run();
  }

  /** The watch delivered changes up to `version`. */
  heardUpTo(version: number): void {
    if (version <= this.heard) return;
    this.heard = version;
    this.runner.run();
  }

  pullFrom(watch: PulledWatch): void {
    this.watch = watch;
  }

  /** With a pulled watch: what it delivered up to now (a sync checks out all of it). */
  private catchUp(): void {
    if (this.watch) {
      const v = this.watch.catchUp(this.node);
      if (v > this.heard) this.heard = v;
    }
  }

  /** SyncJob: a change heard since the last sync started is what Run() would have queued. */
  changesWaiting(): boolean {
    if (!this.watch) return false;
    this.catchUp();
    return this.heard > this.target;
  }

  /** SyncJob: the runner is idle; the watch wakes it at the next change. */
  idle(): void {
    this.watch?.arm(this.node);
  }

  start(now: number): { durationNs: number; ok: boolean } {
    // doFullSync := needFullSync || time.Since(lastFullSync) > FullSyncPeriod (syncProxyRules in
    // pkg/proxy/iptables/proxier.go and pkg/proxy/nftables/proxier.go). The runner's hourly timer is
    // reset after the sync returns, a moment after lastFullSync was taken, so on a real clock the
    // periodic sync lands just over the hour; in simulated time both are the same instant, hence >=.
    if (now - this.lastFullSync >= this.options.fullSyncPeriodNs) this.full = true;
    this.catchUp();
    this.target = this.heard;
    this.startedAt = now;
    const work = this.full ? describeSync(this.timeline, this.active, this.target, true) : partialSyncWork(this.timeline, this.active, this.target);
    const cost = this.mode.syncCost(work);
    this.work = work;
    this.units = cost.units;
    const ok = !(this.options.syncFailureProbability > 0 && this.failures.bernoulli(this.options.syncFailureProbability));
    return { durationNs: Math.round(cost.durationNs + this.mode.activationLagNs), ok };
  }

  finish(now: number, ok: boolean): void {
    const from = this.active;
    const full = this.work!.full;
    if (ok) {
      this.active = this.target;
      this.activeSince = now;
      this.generation++;
      // The deferred block at the end of syncProxyRules records `lastFullSync = time.Now()` after a
      // successful full sync, i.e. when it ends (pkg/proxy/iptables/proxier.go), not when it began.
      if (full) this.lastFullSync = now;
      this.full = false;
    } else {
      // kube-proxy sets needFullSync after a failed restore (the kernel state is unknown).
      this.full = true;
    }
    this.work = null;
    this.observer.onSyncEnd(this.node, from, this.target, now, ok, now - this.startedAt, full, this.units);
  }
}

/**
 * What a sync of the timeline from version `from` to `to` writes, in the counts a mode model costs:
 * the state at `to`, and per service port changed since `from` its endpoints before and after.
 */
export function describeSync(t: EndpointTimeline, from: number, to: number, full: boolean): SyncWork {
  const changed = full ? [] : t.changedBetween(from, to);
  return {
    full,
    services: t.services.length,
    servicesWithoutEndpoints: t.servicesWithoutEndpointsAt(to),
    endpoints: t.totalEndpointsAt(to),
    changed,
  };
}

/** Recent partial syncs' descriptions per timeline, by (from, to): see partialSyncWork. */
const recentWork = new WeakMap<EndpointTimeline, Map<number, SyncWork>>();
const RECENT_WORK = 4096;

/**
 * describeSync of a partial sync, shared by the nodes that sync the same versions: it depends on the
 * timeline's history only, and nodes whose syncs end together hear the same changes by their next
 * one (the same cool-down, watch lags shorter than the gaps between changes), so on a large cluster
 * most nodes sync version ranges another node already described. The description is not modified by
 * its users (the mode models read it).
 */
export function partialSyncWork(t: EndpointTimeline, from: number, to: number): SyncWork {
  if (to >= 2 ** 26) return describeSync(t, from, to, false);
  let recent = recentWork.get(t);
  if (!recent) recentWork.set(t, (recent = new Map()));
  const key = from * 2 ** 26 + to;
  let work = recent.get(key);
  if (!work || work.services !== t.services.length) {
    if (recent.size >= RECENT_WORK) recent.clear();
    work = describeSync(t, from, to, false);
    recent.set(key, work);
  }
  return work;
}

/** A service port's endpoints before and after a sync, and how many of the old ones it keeps. */
export function endpointChange(before: readonly { endpoint: string }[], after: readonly { endpoint: string }[]): { before: number; after: number; kept: number } {
  const now = new Set(after.map((e) => e.endpoint));
  return { before: before.length, after: after.length, kept: before.filter((e) => now.has(e.endpoint)).length };
}
