import type { Simulator } from '../engine/simulator.ts';
import type { RandomStream } from '../engine/random.ts';
import type { Nanos } from '../engine/time.ts';
import { observeProbe, type NodeHealth } from './node-health.ts';
import { healthCheckProblems, type HealthCheckSpec, type WhenAllUnhealthy } from './presets.ts';

/**
 * A cloud load balancer in front of one LoadBalancer Service: every node of the backend pool is a
 * backend (the provider's instance group / target group / backend pool holds all nodes, for eTP
 * Cluster and Local alike); health checks decide which ones get new connections.
 *
 *   const lb = new CloudLoadBalancer(sim, { name: 'shop/web', nodes, healthCheck: healthCheckFor(PRESETS.gcp, 'Local'),
 *     whenAllUnhealthy: PRESETS.gcp.whenAllUnhealthy, probe: (node, now) => ({ ok: serviceHealth(...).status === 200 }) });
 *   lb.start();
 *   const node = lb.pickNode();          // a new external connection goes to this node (undefined: none)
 *
 * Probes: each node is probed every `interval` at its own phase. To keep runs with many nodes cheap,
 * nodes share at most `maxPhaseSlots` phases: one event per occupied slot per interval probes the
 * nodes of that slot at that instant. A node's slot is drawn from the stream `cloud/lb/<name>/phase`.
 * A probe's result is the run's callback at the probe instant: answered (200 or not) counts at once;
 * unanswered (`answered: false`: a dead node, a dropped SYN) counts as a failure `timeout` later.
 * New connections are spread uniformly over the healthy nodes (stream `cloud/lb/<name>/pick`); with
 * no healthy node, over all nodes (`whenAllUnhealthy: 'all'`) or nowhere (`'none'`).
 * Nodes start healthy (the load balancer existed before the run) unless `initiallyHealthy` is false.
 */
export interface ProbeResult {
  ok: boolean;
  /** False when nothing answered: the failure counts after the probe's timeout. Default true. */
  answered?: boolean;
}

export type ProbeFn = (node: string, now: Nanos) => ProbeResult;

export interface LoadBalancerOptions {
  /** Names the random streams: `cloud/lb/<name>/phase`, `cloud/lb/<name>/pick`. */
  name: string;
  nodes: readonly string[];
  healthCheck: HealthCheckSpec;
  whenAllUnhealthy: WhenAllUnhealthy;
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

export interface LoadBalancerStats {
  probes: number;
  failedProbes: number;
  newConnections: number;
  /** New connections with no node to go to (whenAllUnhealthy 'none'). */
  noBackend: number;
}

interface Backend {
  name: string;
  health: NodeHealth;
  slot: number;
  inPool: boolean;
  /** Index in `healthyList`, -1 when not healthy or not in the pool. */
  healthyAt: number;
  /** Index in `poolList`. */
  poolAt: number;
  lastNewConnection: Nanos | undefined;
  newConnections: number;
}

interface SlotEvent {
  lb: CloudLoadBalancer;
  slot: number;
}
interface TimeoutEvent {
  lb: CloudLoadBalancer;
  nodes: Backend[];
}

function onSlot(e: SlotEvent): void {
  e.lb.probeSlot(e.slot);
}
function onTimeouts(e: TimeoutEvent): void {
  for (const b of e.nodes) e.lb.record(b, false);
}

export class CloudLoadBalancer {
  readonly name: string;
  readonly healthCheck: HealthCheckSpec;
  readonly whenAllUnhealthy: WhenAllUnhealthy;
  readonly transitions: NodeHealthTransition[] = [];
  readonly stats: LoadBalancerStats = { probes: 0, failedProbes: 0, newConnections: 0, noBackend: 0 };
  private readonly probe: ProbeFn;
  private readonly phaseRng: RandomStream;
  private readonly pickRng: RandomStream;
  private readonly backends = new Map<string, Backend>();
  private readonly healthyList: Backend[] = [];
  private readonly poolList: Backend[] = [];
  private readonly slots: Backend[][];
  private readonly slotScheduled: boolean[];
  private readonly listeners: ((t: NodeHealthTransition) => void)[] = [];
  private started = false;
  private startedAt = 0;

  constructor(
    readonly sim: Simulator,
    o: LoadBalancerOptions,
  ) {
    const problems = healthCheckProblems(o.healthCheck);
    if (problems.length > 0) throw new RangeError(`load balancer ${o.name}: ${problems.join('; ')}`);
    this.name = o.name;
    this.healthCheck = o.healthCheck;
    this.whenAllUnhealthy = o.whenAllUnhealthy;
    this.probe = o.probe;
    this.phaseRng = sim.rng(`cloud/lb/${o.name}/phase`);
    this.pickRng = sim.rng(`cloud/lb/${o.name}/pick`);
    const n = Math.max(1, Math.min(o.nodes.length, o.maxPhaseSlots ?? 64));
    this.slots = Array.from({ length: n }, () => []);
    this.slotScheduled = new Array<boolean>(n).fill(false);
    for (const name of o.nodes) this.addNode(name, o.initiallyHealthy ?? true);
  }

  /** Starts the probes (once); each slot's first probe is at now + its phase. */
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
    const b: Backend = { name, health: { healthy, streak: 0 }, slot, inPool: true, healthyAt: -1, poolAt: this.poolList.length, lastNewConnection: this.backends.get(name)?.lastNewConnection, newConnections: 0 };
    this.backends.set(name, b);
    this.poolList.push(b);
    if (healthy) this.addHealthy(b);
    this.slots[slot]!.push(b);
    if (this.started && !this.slotScheduled[slot]) this.scheduleSlot(slot);
  }

  /** A node leaves the backend pool (its Node object was deleted): no more probes or connections. */
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

  /** The node a new connection goes to now, or undefined when none may take it. */
  pickNode(now: Nanos = this.sim.now): string | undefined {
    const from = this.healthyList.length > 0 ? this.healthyList : this.whenAllUnhealthy === 'all' ? this.poolList : undefined;
    if (!from || from.length === 0) {
      this.stats.noBackend++;
      return undefined;
    }
    const b = from[Math.floor(this.pickRng.random() * from.length)]!;
    b.lastNewConnection = now;
    b.newConnections++;
    this.stats.newConnections++;
    return b.name;
  }

  isHealthy(node: string): boolean {
    return (this.backends.get(node)?.healthyAt ?? -1) >= 0;
  }

  inPool(node: string): boolean {
    return this.backends.get(node)?.inPool ?? false;
  }

  healthyCount(): number {
    return this.healthyList.length;
  }

  /** The instant of the last new connection sent to `node` (undefined: none yet). */
  lastNewConnection(node: string): Nanos | undefined {
    return this.backends.get(node)?.lastNewConnection;
  }

  newConnectionsTo(node: string): number {
    return this.backends.get(node)?.newConnections ?? 0;
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
    for (const b of list) {
      const r = this.probe(b.name, now);
      this.stats.probes++;
      if (r.answered === false) (unanswered ??= []).push(b);
      else this.record(b, r.ok);
    }
    // The timeouts are scheduled before the next round so that, with timeout == interval, they count first.
    if (unanswered) {
      if (this.healthCheck.timeout === 0) for (const b of unanswered) this.record(b, false);
      else this.sim.schedule(this.healthCheck.timeout, onTimeouts, { lb: this, nodes: unanswered } satisfies TimeoutEvent);
    }
    this.slotScheduled[slot] = true;
    this.sim.schedule(this.healthCheck.interval, onSlot, { lb: this, slot } satisfies SlotEvent);
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
    this.sim.scheduleAt(at, onSlot, { lb: this, slot } satisfies SlotEvent);
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
