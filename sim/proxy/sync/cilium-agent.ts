import type { Simulator } from '../../engine/simulator.ts';
import type { ModeModel } from '../cost/mode-model.ts';
import type { EndpointTimeline } from './endpoint-timeline.ts';
import { describeSync, type SyncObserver } from './proxy-agent.ts';
import type { NodeProxy } from './node-proxy.ts';
import { SerialUpdater } from './serial-updater.ts';

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
export class CiliumAgent extends SerialUpdater implements NodeProxy {
  constructor(
    sim: Simulator,
    node: number,
    private readonly timeline: EndpointTimeline,
    private readonly mode: ModeModel,
    observer: SyncObserver,
  ) {
    super(sim, node, observer);
  }

  /** The start-up round writes every service and backend. */
  startLoop(): void {
    this.beginUpdate(true);
  }

  protected updateCost(from: number, to: number, full: boolean): { durationNs: number; units: number } {
    const cost = this.mode.syncCost(describeSync(this.timeline, from, to, full));
    return { durationNs: Math.round(this.mode.activationLagNs + cost.durationNs), units: cost.units };
  }
}
