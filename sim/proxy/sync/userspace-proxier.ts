import type { Simulator } from '../../engine/simulator.ts';
import type { ModeModel } from '../cost/mode-model.ts';
import { BoundedFrequencyRunner, type SyncJob } from './bounded-frequency-runner.ts';
import type { EndpointTimeline } from './endpoint-timeline.ts';
import type { AgentOptions, SyncObserver } from './proxy-agent.ts';
import type { NodeProxy } from './node-proxy.ts';
import { SerialUpdater } from './serial-updater.ts';

/**
 * The userspace comparison mode's update paths, as kube-proxy's deprecated userspace proxier had
 * them (kubernetes/kubernetes v1.22 pkg/proxy/userspace/proxier.go and roundrobin.go). Two loops:
 *
 * - Endpoints never went through a sync: the proxier's OnEndpointsUpdate handed each event straight
 *   to the round-robin balancer (LoadBalancerRR.OnEndpointsUpdate), which replaced the service's
 *   endpoint list in memory under its lock. Here each delivered change is applied at once, one update
 *   at a time (the lock), each taking the mode's in-memory cost per changed service port
 *   (ModeModel.syncCost of a partial sync); the next connection the proxy accepts uses the new list.
 * - Services and the iptables portals went through a BoundedFrequencyRunner("userspace-proxy-sync-
 *   runner", syncProxyRules, minSyncPeriod, syncPeriod, burst 4): syncProxyRules ran iptablesInit,
 *   merged changed Services (a proxy socket and two portal rules each) and ensurePortals (`iptables
 *   -C` on every portal rule of every service port), at least once per syncPeriod. Nothing in a run
 *   changes a Service, so these syncs program no endpoint change: they cost time (ModeModel.syncCost
 *   of a full sync; the start-up one opens every socket and appends every portal) and are reported as
 *   syncs, but leave `active` alone. The runner here has no burst syncs (bounded-frequency-runner.ts).
 *
 * A failed `iptables` call only logged an error in that proxier, so proxy.syncFailureProbability does
 * not apply. Version 0 is taken to be programmed when the run starts, as for the other modes.
 */
export class UserspaceProxier extends SerialUpdater implements NodeProxy, SyncJob {
  // The balancer has no rule order: `generation` only counts its updates.
  private startup = true;
  private portalStartedAt = 0;
  private portalUnits = 0;
  readonly runner: BoundedFrequencyRunner;

  constructor(
    sim: Simulator,
    node: number,
    private readonly timeline: EndpointTimeline,
    private readonly mode: ModeModel,
    options: AgentOptions,
    observer: SyncObserver,
  ) {
    super(sim, node, observer);
    // The userspace proxier's runner: maxInterval was syncPeriod (its periodic ensurePortals).
    this.runner = new BoundedFrequencyRunner(sim, { minInterval: options.intervals.minInterval, retryInterval: options.intervals.retryInterval, maxInterval: options.intervals.retryInterval }, this);
  }

  startLoop(): void {
    this.runner.loop();
    this.runner.run();
  }

  /** SyncJob: a portal sync (iptablesInit, mergeService, ensurePortals). */
  start(now: number): { durationNs: number; ok: boolean } {
    const startup = this.startup;
    this.startup = false;
    this.portalStartedAt = now;
    const t = this.timeline;
    const v = this.active;
    const cost = this.mode.syncCost({ full: true, startup, services: t.services.length, servicesWithoutEndpoints: t.servicesWithoutEndpointsAt(v), endpoints: t.totalEndpointsAt(v), changed: [] });
    this.portalUnits = cost.units;
    return { durationNs: Math.round(cost.durationNs), ok: true };
  }

  finish(now: number, ok: boolean): void {
    this.observer.onSyncEnd(this.node, this.active, this.active, now, ok, now - this.portalStartedAt, true, this.portalUnits);
  }

  /** A balancer update: the in-memory cost per changed service port. */
  protected updateCost(from: number, to: number): { durationNs: number; units: number } {
    const t = this.timeline;
    const changed = t.servicesChangedBetween(from, to).map((s) => ({ before: t.endpointsAt(s, from).length, after: t.endpointsAt(s, to).length }));
    const cost = this.mode.syncCost({ full: false, services: t.services.length, servicesWithoutEndpoints: t.servicesWithoutEndpointsAt(to), endpoints: t.totalEndpointsAt(to), changed });
    return { durationNs: Math.max(1, Math.round(cost.durationNs)), units: cost.units };
  }
}
