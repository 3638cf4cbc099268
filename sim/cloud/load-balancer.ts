import type { Simulator } from '../engine/simulator.ts';
import type { RandomStream } from '../engine/random.ts';
import type { Nanos } from '../engine/time.ts';
import { HealthChecker, type HealthCheckerOptions, type NodeHealthTransition, type ProbeFn, type ProbeResult } from './health-checker.ts';
import type { HealthCheckSpec, WhenAllUnhealthy } from './presets.ts';

export type { NodeHealthTransition, ProbeFn, ProbeResult };

/**
 * A cloud load balancer in front of one LoadBalancer Service: every node of the backend pool is a
 * backend (the provider's instance group / target group / backend pool holds all nodes, for eTP
 * Cluster and Local alike); its health check (health-checker.ts) decides which ones get new
 * connections.
 *
 *   const lb = new CloudLoadBalancer(sim, { name: 'shop/web', nodes, healthCheck: healthCheckFor(PRESETS.gcp, 'Local'),
 *     whenAllUnhealthy: PRESETS.gcp.whenAllUnhealthy, probe: (node, now) => answerProbe(...) });
 *   lb.start();
 *   const node = lb.pickNode();          // a new external connection goes to this node (undefined: none)
 *
 * Pass `checker` instead of `healthCheck`/`probe` to share one health check among load balancers
 * (GKE's shared node health check for eTP Cluster); the load balancer then neither starts it nor
 * changes its pool: the owner does.
 * New connections are spread uniformly over the healthy nodes (stream `cloud/lb/<name>/pick`); with
 * no healthy node, over all nodes of the pool (`whenAllUnhealthy: 'all'`) or nowhere (`'none'`).
 */
export type LoadBalancerOptions =
  | ({ whenAllUnhealthy: WhenAllUnhealthy } & HealthCheckerOptions)
  | { name: string; whenAllUnhealthy: WhenAllUnhealthy; checker: HealthChecker };

export interface LoadBalancerStats {
  newConnections: number;
  /** New connections with no node to go to (whenAllUnhealthy 'none'). */
  noBackend: number;
}

export class CloudLoadBalancer {
  readonly name: string;
  readonly whenAllUnhealthy: WhenAllUnhealthy;
  readonly checker: HealthChecker;
  readonly stats: LoadBalancerStats = { newConnections: 0, noBackend: 0 };
  private readonly ownsChecker: boolean;
  private readonly pickRng: RandomStream;
  private readonly lastNew = new Map<string, Nanos>();
  private readonly counts = new Map<string, number>();

  constructor(
    readonly sim: Simulator,
    o: LoadBalancerOptions,
  ) {
    this.name = o.name;
    this.whenAllUnhealthy = o.whenAllUnhealthy;
    this.ownsChecker = !('checker' in o);
    this.checker = 'checker' in o ? o.checker : new HealthChecker(sim, o);
    this.pickRng = sim.rng(`cloud/lb/${o.name}/pick`);
  }

  get healthCheck(): HealthCheckSpec {
    return this.checker.healthCheck;
  }

  /** The node health transitions its health check recorded. */
  get transitions(): readonly NodeHealthTransition[] {
    return this.checker.transitions;
  }

  /** Starts its own health check's probes (a shared checker is started by its owner). */
  start(): void {
    if (this.ownsChecker) this.checker.start();
  }

  addNode(name: string, healthy = false): void {
    this.checker.addNode(name, healthy);
  }

  removeNode(name: string): void {
    this.checker.removeNode(name);
  }

  /** The node a new connection goes to now, or undefined when none may take it. */
  pickNode(now: Nanos = this.sim.now): string | undefined {
    const c = this.checker;
    const from = c.healthyList.length > 0 ? c.healthyList : this.whenAllUnhealthy === 'all' ? c.poolList : undefined;
    if (!from || from.length === 0) {
      this.stats.noBackend++;
      return undefined;
    }
    const name = from[Math.floor(this.pickRng.random() * from.length)]!.name;
    this.lastNew.set(name, now);
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
    this.stats.newConnections++;
    return name;
  }

  isHealthy(node: string): boolean {
    return this.checker.isHealthy(node);
  }

  healthyCount(): number {
    return this.checker.healthyList.length;
  }

  /** The instant of the last new connection this load balancer sent to `node` (undefined: none yet). */
  lastNewConnection(node: string): Nanos | undefined {
    return this.lastNew.get(node);
  }

  newConnectionsTo(node: string): number {
    return this.counts.get(node) ?? 0;
  }

  onTransition(cb: (t: NodeHealthTransition) => void): void {
    this.checker.onTransition(cb);
  }

  phaseOf(node: string): Nanos | undefined {
    return this.checker.phaseOf(node);
  }
}
