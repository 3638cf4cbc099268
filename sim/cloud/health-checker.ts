import type { Simulator } from '../engine/simulator.ts';
import type { RandomStream } from '../engine/random.ts';
import type { Nanos } from '../engine/time.ts';
import { observeProbe, type NodeHealth } from './node-health.ts';
import { healthCheckProblems, type HealthCheckSpec } from './presets.ts';

/**
 * One cloud health check probing every node of a backend pool, and the health it derives per node.
 * A load balancer reads it (load-balancer.ts); several may share one, as GKE's L4 controller shares
 * one node health check (kube-proxy :10256/healthz) among all eTP Cluster Services (ingress-gce
 * healthchecksl4.go, "shared" health check), which also saves a run the repeated probes.
 *
 * Probes: each node is probed every `interval` at its own phase. To keep runs with many nodes cheap,
 * nodes share at most `maxPhaseSlots` phases: one event per occupied slot per interval probes the
 * nodes of that slot at that instant. A node's slot is drawn from the stream `cloud/hc/<name>/phase`.
 * A probe's result is the run's callback at the probe instant: answered (200 or not) counts at once;
 * unanswered (`answered: false`: a dead node, a dropped SYN) counts as a failure `timeout` later.
 * Nodes start healthy (the load balancer existed before the run) unless `initiallyHealthy` is false.
 */
export interface ProbeResult {
  ok: boolean;
  /** False when nothing answered: the failure counts after the probe's timeout. Default true. */
  answered?: boolean;
}

export type ProbeFn = (node: string, now: Nanos) => ProbeResult;

export interface HealthCheckerOptions {
  /** Names the random stream `cloud/hc/<name>/phase`. */
  name: string;
  nodes: readonly string[];
  healthCheck: HealthCheckSpec;
  probe: ProbeFn;
  /** Default true. */
  initiallyHealthy?: boolean;
  /** Most distinct probe phases (events per interval); default 64. */
  maxPhaseSlots?: number;
}

export interface NodeHealthTransition {
  node: string;
  at: Nanos;
  healthy: boolean;
}

/** One node of the pool. Read-only outside this file. */
export interface Backend {
  readonly name: string;
  health: NodeHealth;
  slot: number;
  inPool: boolean;
  /** Index in the healthy list, -1 when not healthy or not in the pool. */
  healthyAt: number;
  /** Index in the pool list. */
  poolAt: number;
}

interface SlotEvent {
  hc: HealthChecker;
  slot: number;
}
interface TimeoutEvent {
  hc: HealthChecker;
  nodes: Backend[];
}

function onSlot(e: SlotEvent): void {
  e.hc.probeSlot(e.slot);
}
function onTimeouts(e: TimeoutEvent): void {
  for (const b of e.nodes) e.hc.record(b, false);
}

export class HealthChecker {
  readonly name: string;
  readonly healthCheck: HealthCheckSpec;
  readonly transitions: NodeHealthTransition[] = [];
  readonly stats = { probes: 0, failedProbes: 0 };
  /** The healthy nodes of the pool, in no particular order. */
  readonly healthyList: Backend[] = [];
  /** Every node of the pool, in no particular order. */
  readonly poolList: Backend[] = [];
  private readonly probe: ProbeFn;
  private readonly phaseRng: RandomStream;
  private readonly backends = new Map<string, Backend>();
  private readonly slots: Backend[][];
  private readonly slotScheduled: boolean[];
  private readonly listeners: ((t: NodeHealthTransition) => void)[] = [];
  private started = false;
  private startedAt = 0;

  constructor(
    readonly sim: Simulator,
    o: HealthCheckerOptions,
  ) {
    const problems = healthCheckProblems(o.healthCheck);
    if (problems.length > 0) throw new RangeError(`health check ${o.name}: ${problems.join('; ')}`);
    this.name = o.name;
    this.healthCheck = o.healthCheck;
    this.probe = o.probe;
    this.phaseRng = sim.rng(`cloud/hc/${o.name}/phase`);
    const n = Math.max(1, Math.min(o.nodes.length, o.maxPhaseSlots ?? 64));
    this.slots = Array.from({ length: n }, () => []);
    this.slotScheduled = new Array<boolean>(n).fill(false);
    for (const name of o.nodes) this.addNode(name, o.initiallyHealthy ?? true);
  }

  /** Starts the probes (once; later calls do nothing); each slot's first probe is at now + its phase. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.startedAt = this.sim.now;
    for (let s = 0; s < this.slots.length; s++) if (this.slots[s]!.length > 0) this.scheduleSlot(s);
  }

  /** A node joins the backend pool (healthy or not yet: providers wait for the healthy threshold). */
  addNode(name: string, healthy = false): void {
    if (this.backends.get(name)?.inPool) return;
    const slot = Math.floor(this.phaseRng.random() * this.slots.length);
    const b: Backend = { name, health: { healthy, streak: 0 }, slot, inPool: true, healthyAt: -1, poolAt: this.poolList.length };
    this.backends.set(name, b);
    this.poolList.push(b);
    if (healthy) this.addHealthy(b);
    this.slots[slot]!.push(b);
    if (this.started && !this.slotScheduled[slot]) this.scheduleSlot(slot);
  }

  /** A node leaves the backend pool (its Node object was deleted): no more probes. */
  removeNode(name: string): void {
    const b = this.backends.get(name);
    if (!b || !b.inPool) return;
    b.inPool = false;
    if (b.healthyAt >= 0) this.removeHealthy(b);
    const last = this.poolList.pop()!;
    if (last !== b) {
      this.poolList[b.poolAt] = last;
      last.poolAt = b.poolAt;
    }
    const list = this.slots[b.slot]!;
    list.splice(list.indexOf(b), 1);
  }

  isHealthy(node: string): boolean {
    return (this.backends.get(node)?.healthyAt ?? -1) >= 0;
  }

  inPool(node: string): boolean {
    return this.backends.get(node)?.inPool ?? false;
  }

  /** Called at each health transition, at its instant. */
  onTransition(cb: (t: NodeHealthTransition) => void): void {
    this.listeners.push(cb);
  }

  /** The phase of a node's probes: the offset in [0, interval) of its probe instants from start(). */
  phaseOf(node: string): Nanos | undefined {
    const b = this.backends.get(node);
    return b ? this.slotOffset(b.slot) : undefined;
  }

  /** @internal one slot's probes, now. */
  probeSlot(slot: number): void {
    this.slotScheduled[slot] = false;
    const list = this.slots[slot]!;
    if (list.length === 0) return;
    const now = this.sim.now;
    let unanswered: Backend[] | undefined;
    // A copy: the run's probe callback may add or remove nodes (a Node deleted at this instant).
    for (const b of list.slice()) {
      if (!b.inPool) continue;
      const r = this.probe(b.name, now);
      this.stats.probes++;
      if (r.answered === false) (unanswered ??= []).push(b);
      else this.record(b, r.ok);
    }
    // The timeouts are scheduled before the next round so that, with timeout == interval, they count first.
    if (unanswered) {
      if (this.healthCheck.timeout === 0) for (const b of unanswered) this.record(b, false);
      else this.sim.schedule(this.healthCheck.timeout, onTimeouts, { hc: this, nodes: unanswered } satisfies TimeoutEvent);
    }
    this.slotScheduled[slot] = true;
    this.sim.schedule(this.healthCheck.interval, onSlot, { hc: this, slot } satisfies SlotEvent);
  }

  /** @internal one probe result for one node. */
  record(b: Backend, ok: boolean): void {
    if (!b.inPool) return;
    if (!ok) this.stats.failedProbes++;
    const next = observeProbe(b.health, ok, this.healthCheck.healthyThreshold, this.healthCheck.unhealthyThreshold);
    const changed = next.healthy !== b.health.healthy;
    b.health = next;
    if (!changed) return;
    if (next.healthy) this.addHealthy(b);
    else this.removeHealthy(b);
    const t: NodeHealthTransition = { node: b.name, at: this.sim.now, healthy: next.healthy };
    this.transitions.push(t);
    for (const l of this.listeners) l(t);
  }

  private slotOffset(slot: number): Nanos {
    return Math.floor((slot * this.healthCheck.interval) / this.slots.length);
  }

  private scheduleSlot(slot: number): void {
    // The next instant of this slot's grid (startedAt + offset + k * interval) at or after now.
    const i = this.healthCheck.interval;
    const first = this.startedAt + this.slotOffset(slot);
    const now = this.sim.now;
    const at = now <= first ? first : first + Math.ceil((now - first) / i) * i;
    this.slotScheduled[slot] = true;
    this.sim.scheduleAt(at, onSlot, { hc: this, slot } satisfies SlotEvent);
  }

  private addHealthy(b: Backend): void {
    b.healthyAt = this.healthyList.length;
    this.healthyList.push(b);
  }

  private removeHealthy(b: Backend): void {
    const last = this.healthyList.pop()!;
    if (last !== b) {
      this.healthyList[b.healthyAt] = last;
      last.healthyAt = b.healthyAt;
    }
    b.healthyAt = -1;
  }
}
