import type { Simulator } from '../engine/simulator.ts';
import type { ControlPlane } from '../k8s/control-plane.ts';
import type { Node } from '../k8s/objects.ts';
import { ProxierHealthTracker, eligibilityOf, healthTimeoutFor, healthz, type NodeEligibilityState } from '../proxy/health/proxy-health.ts';
import { serviceHealth } from '../proxy/health/service-health.ts';
import type { NodeProbeState, TrafficPortAnswer } from '../proxy/health/probe.ts';
import type { NodeProxy } from '../proxy/sync/node-proxy.ts';

/**
 * What a cloud load balancer's probe finds at each node of a run: whether the node answers at all
 * (not failed, not deleted), kube-proxy's /healthz on :10256, and a Service's healthCheckNodePort.
 * The answers are ns-health's pure functions (sim/proxy/health/) fed with the run's state:
 * - kube-proxy's health marks per node: `Updated` at the start of its sync loop and after every
 *   successful sync, `QueuedUpdate` whenever its watch delivers a change (proxy_health.go; the
 *   proxier calls QueuedUpdate from Sync() when a change is tracked);
 * - the Node object from the simulated API server (deletionTimestamp, the cluster autoscaler's
 *   ToBeDeletedByClusterAutoscaler taint); a static run has no API objects and every node stays
 *   eligible.
 * kube-proxy reads its Node through an informer; the watch delay of that informer is left out (the
 * API server's state is used as it is).
 */
export class NodeHealth {
  private readonly marks: ProxierHealthTracker[];
  private readonly healthTimeout: number;

  constructor(
    private readonly sim: Simulator,
    private readonly nodeNames: readonly string[],
    syncPeriodNs: number,
    private readonly controlPlane: ControlPlane | null,
  ) {
    this.marks = nodeNames.map(() => new ProxierHealthTracker());
    this.healthTimeout = healthTimeoutFor(syncPeriodNs);
  }

  /** The sync loops start (SyncLoop calls Updated once before its first sync). */
  start(): void {
    for (const m of this.marks) m.updated(this.sim.now);
  }

  /** Node `n`'s watch delivered a change (QueuedUpdate). */
  queued(n: number): void {
    this.marks[n]!.queuedUpdate(this.sim.now);
  }

  /** Node `n`'s sync ended; a successful one calls Updated. */
  synced(n: number, ok: boolean): void {
    if (ok) this.marks[n]!.updated(this.sim.now);
  }

  /** Wraps each node's proxy so that a delivered change is a QueuedUpdate on that node. */
  track(agents: readonly NodeProxy[]): NodeProxy[] {
    return agents.map((a) => {
      const health = this;
      return {
        get node() {
          return a.node;
        },
        get heard() {
          return a.heard;
        },
        get active() {
          return a.active;
        },
        get generation() {
          return a.generation;
        },
        heardUpTo(v: number) {
          if (v > a.heard) health.queued(a.node);
          a.heardUpTo(v);
        },
        startLoop() {
          a.startLoop();
        },
      };
    });
  }

  /** Node `n` answers at its address: not failed (node-failure churn) and its Node object not deleted. */
  up(n: number): boolean {
    const cp = this.controlPlane;
    if (!cp) return true;
    const name = this.nodeNames[n]!;
    if (cp.nodeLifecycle.failures.some((f) => f.node === name && f.failedAt <= this.sim.now)) return false;
    return cp.api.get<Node>('Node', name) !== undefined;
  }

  private eligibility(n: number): NodeEligibilityState {
    if (!this.controlPlane) return { deleting: false, toBeDeletedTaint: false };
    return eligibilityOf(this.controlPlane.api.get<Node>('Node', this.nodeNames[n]!)) ?? { deleting: true, toBeDeletedTaint: false };
  }

  /** What a probe of node `n` finds now (sim/proxy/health/probe.ts answerProbe reads it). */
  probeState(n: number, localReadyEndpoints: number, trafficPort: TrafficPortAnswer): NodeProbeState {
    return { reachable: this.up(n), proxy: this.state(n), localReadyEndpoints, trafficPort };
  }

  private state(n: number) {
    return { healthTimeout: this.healthTimeout, families: [this.marks[n]!], node: this.eligibility(n) };
  }

  /** GET :10256/healthz on node `n` answers 200 (a node that does not answer fails the probe). */
  healthzOk(n: number): boolean {
    return this.up(n) && healthz(this.state(n), this.sim.now).status === 200;
  }

  /** Whether kube-proxy on node `n` is healthy (Health(): sync staleness only, the Node ignored). */
  proxyHealthy(n: number): boolean {
    return healthz(this.state(n), this.sim.now).body.healthy;
  }

  /** GET healthCheckNodePort on node `n` answers 200: local Ready endpoints and a healthy proxy (service_health.go). */
  serviceOk(n: number, service: { namespace: string; name: string }, localReady: number): boolean {
    return this.up(n) && serviceHealth(service, localReady, this.proxyHealthy(n)).status === 200;
  }
}
