import type { Simulator } from '../../engine/simulator.ts';
import type { ModeModel, SyncWork } from '../modes/mode-model.ts';
import type { EndpointTimeline } from './endpoint-timeline.ts';
import { endpointChange, type SyncObserver } from './proxy-agent.ts';
import type { NodeProxy } from './node-proxy.ts';

/**
 * The ebpf comparison mode's update path: a Cilium-like agent, not kube-proxy. Cilium has no
 * minSyncPeriod and no bounded-frequency runner: its Kubernetes reflector writes each Service and
 * EndpointSlice event into the load-balancer tables, and a reconciler writes what changed into the BPF
 * maps (cilium/cilium pkg/loadbalancer/reconciler/bpf_reconciler.go: a statedb reconciler whose
 * BPFOps.Update rewrites one frontend's service and backend map entries; older agents did the same
 * per event through pkg/service's UpsertService). Assumptions of this model:
 * - the agent works one reconciliation round at a time; a round starts as soon as something is
 *   pending and the previous round ended (no minimum interval), and takes every change heard by then;
 * - a round costs the agent's own processing lag (CostModel.ebpfAgentLagNs: informer hand-off, table
 *   writes, the reconciler's wake-up) plus one bpf() map update per changed backend and one per
 *   changed service (ModeModel.syncCost); the maps are live as each update lands, and a round's changes
 *   are taken as active together at its end;
 * - the start-up round writes every service and backend (a restarted agent finds maps that already
 *   hold version 0, as a restarted kube-proxy finds its rules); map updates do not fail, so
 *   proxy.syncFailureProbability (an iptables-restore failure) does not apply; the reconciler's
 *   periodic prune (every 30 minutes) finds nothing to change in a run and is not modelled.
 */
export class CiliumAgent implements NodeProxy {
  heard = 0;
  active = 0;
  generation = 0;
  private busy = false;
  private first = true;
  private target = 0;
  private startedAt = 0;
  private full = false;
  private units = 0;

  constructor(
    private readonly sim: Simulator,
    readonly node: number,
    private readonly timeline: EndpointTimeline,
    private readonly mode: ModeModel,
    private readonly observer: SyncObserver,
  ) {}

  startLoop(): void {
    this.round();
  }

  heardUpTo(version: number): void {
    if (version <= this.heard) return;
    this.heard = version;
    if (!this.busy) this.round();
  }

  /** @internal the end of a round */
  ended(): void {
    const from = this.active;
    this.active = this.target;
    this.generation++;
    this.busy = false;
    const now = this.sim.now;
    this.observer.onSyncEnd(this.node, from, this.target, now, true, now - this.startedAt, this.full, this.units);
    if (this.heard > this.active) this.round();
  }

  private round(): void {
    this.busy = true;
    this.full = this.first;
    this.first = false;
    this.target = this.heard;
    this.startedAt = this.sim.now;
    const cost = this.mode.syncCost(this.describe(this.active, this.target, this.full));
    this.units = cost.units;
    this.sim.schedule(Math.round(this.mode.activationLagNs + cost.durationNs), onRoundEnd, this);
  }

  private describe(from: number, to: number, full: boolean): SyncWork {
    const t = this.timeline;
    return {
      full,
      services: t.services.length,
      servicesWithoutEndpoints: t.servicesWithoutEndpointsAt(to),
      endpoints: t.totalEndpointsAt(to),
      changed: full ? [] : t.servicesChangedBetween(from, to).map((s) => endpointChange(t.endpointsAt(s, from), t.endpointsAt(s, to))),
    };
  }
}

const onRoundEnd = (a: CiliumAgent) => a.ended();
