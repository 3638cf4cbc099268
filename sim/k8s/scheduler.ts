import type { ApiServer, WatchEvent } from './apiserver.ts';
import { ZERO_LATENCY } from './latency.ts';
import type { Node } from './objects.ts';

/**
 * Where a new pod goes: kube-scheduler reduced to its spreading behaviour for identical pods
 * (kubernetes/kubernetes pkg/scheduler/schedule_one.go):
 * - nodes that are not Ready or carry a NoSchedule/NoExecute taint the pod does not tolerate are
 *   filtered out (plugins NodeUnschedulable, TaintToleration; the node lifecycle controller adds
 *   node.kubernetes.io/unreachable and not-ready taints);
 * - only `numFeasibleNodesToFind` nodes are examined per pod (percentageOfNodesToScore adaptive default:
 *   50% - nodes/125, at least 5%, at least 100 nodes), starting where the previous pod stopped
 *   (nextStartNodeIndex), so large clusters are not scanned whole;
 * - among those, the node with the fewest pods wins (the scoring plugins' effect for identical pods:
 *   NodeResourcesFit LeastAllocated and the default PodTopologySpread); ties go to the first examined.
 * Scheduling itself takes no simulated time here; the pod is created already bound (spec.nodeName).
 * Node state comes from the API store and, once `start`ed, from a Node watch without delay (the
 * scheduler's node cache), kept as the set of nodes that cannot take pods.
 */
export class Scheduler {
  private readonly nodes: string[] = [];
  private readonly podsOn = new Map<string, number>();
  private nextStart = 0;
  private readonly blocked = new Set<string>();
  private started = false;

  constructor(private readonly api: ApiServer) {}

  /** Follows Node changes (taints, Ready) instead of reading each node from the store per pod. */
  start(): void {
    for (const name of this.nodes) if (!schedulable(this.api.get<Node>('Node', name))) this.blocked.add(name);
    this.api.watch({
      name: 'kube-scheduler',
      kind: 'Node',
      latency: ZERO_LATENCY,
      sendInitialEvents: false,
      handler: (e) => {
        const ev = e as WatchEvent<Node>;
        if (ev.type !== 'DELETED' && schedulable(ev.object)) this.blocked.delete(ev.key);
        else this.blocked.add(ev.key);
      },
    });
    this.started = true;
  }

  addNode(name: string): void {
    if (this.podsOn.has(name)) return;
    this.nodes.push(name);
    this.podsOn.set(name, 0);
  }

  /** Pod count bookkeeping (callers report pods placed and pods gone). */
  adjust(node: string, delta: number): void {
    const n = this.podsOn.get(node);
    if (n !== undefined) this.podsOn.set(node, n + delta);
  }

  podsOnNode(node: string): number {
    return this.podsOn.get(node) ?? 0;
  }

  /** numFeasibleNodesToFind with the adaptive percentage (schedule_one.go). */
  static feasibleNodesToFind(n: number): number {
    if (n < 100) return n;
    const pct = Math.max(5, 50 - Math.floor(n / 125));
    return Math.max(100, Math.floor((n * pct) / 100));
  }

  /** Picks a node for one pod and counts the pod on it; undefined when no node fits. */
  place(): string | undefined {
    const n = this.nodes.length;
    const want = Scheduler.feasibleNodesToFind(n);
    let best: string | undefined;
    let bestPods = Infinity;
    let found = 0;
    let examined = 0;
    for (; examined < n && found < want; examined++) {
      const name = this.nodes[(this.nextStart + examined) % n]!;
      if (this.started ? this.blocked.has(name) : !schedulable(this.api.get<Node>('Node', name))) continue;
      found++;
      const p = this.podsOn.get(name)!;
      if (p < bestPods) {
        bestPods = p;
        best = name;
      }
    }
    this.nextStart = n === 0 ? 0 : (this.nextStart + examined) % n;
    if (best !== undefined) this.podsOn.set(best, bestPods + 1);
    return best;
  }
}

export function schedulable(node: Node | undefined): boolean {
  if (!node || node.spec.unschedulable) return false;
  for (const t of node.spec.taints ?? []) if (t.effect === 'NoSchedule' || t.effect === 'NoExecute') return false;
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  return ready === undefined || ready.status === 'True';
}
