import type { Simulator } from '../../engine/simulator.ts';
import type { SyncObserver } from './proxy-agent.ts';

/**
 * An update path without kube-proxy's bounded-frequency runner: one update at a time, started as soon
 * as something is heard and the previous update ended, taking every change heard by then. Cilium's
 * agent (CiliumAgent) and the userspace proxier's in-memory balancer (UserspaceProxier) both work this
 * way; they differ only in what an update costs, which `updateCost` says.
 */
export abstract class SerialUpdater {
  heard = 0;
  active = 0;
  generation = 0;
  private busy = false;
  private target = 0;
  private startedAt = 0;
  private full = false;
  private units = 0;

  constructor(
    protected readonly sim: Simulator,
    readonly node: number,
    protected readonly observer: SyncObserver,
  ) {}

  heardUpTo(version: number): void {
    if (version <= this.heard) return;
    this.heard = version;
    if (!this.busy) this.beginUpdate(false);
  }

  /** What applying the changes from version `from` to `to` costs: its duration (ns, > 0) and work units. */
  protected abstract updateCost(from: number, to: number, full: boolean): { durationNs: number; units: number };

  protected beginUpdate(full: boolean): void {
    this.busy = true;
    this.full = full;
    this.target = this.heard;
    this.startedAt = this.sim.now;
    const cost = this.updateCost(this.active, this.target, full);
    this.units = cost.units;
    this.sim.schedule(cost.durationNs, onUpdateEnd, this);
  }

  /** @internal the end of an update: its changes are active together. */
  updateEnded(): void {
    const from = this.active;
    this.active = this.target;
    this.generation++;
    this.busy = false;
    const now = this.sim.now;
    this.observer.onSyncEnd(this.node, from, this.target, now, true, now - this.startedAt, this.full, this.units);
    if (this.heard > this.active) this.beginUpdate(false);
  }
}

const onUpdateEnd = (u: SerialUpdater) => u.updateEnded();
