import { Histogram } from '../engine/stats/histogram.ts';
import { SECOND } from '../engine/time.ts';

/**
 * kubeproxy_network_programming_duration_seconds as an operator reads it: kube-proxy exports one
 * histogram per node (every node's kube-proxy its own /metrics), so besides the latency pooled over
 * nodes a run reports each node's p99 summarised over nodes (the slowest node's p99, and the median
 * node's), and the metric's own cumulative buckets summed over nodes, as `sum by (le)` gives them.
 *
 * Bucket bounds are kube-proxy's (kubernetes/kubernetes pkg/proxy/metrics/metrics.go
 * NetworkProgrammingLatency): LinearBuckets(0.25, 0.25, 2), LinearBuckets(1, 1, 59),
 * LinearBuckets(60, 5, 12), LinearBuckets(120, 30, 7), plus +Inf.
 */
export const NETWORK_PROGRAMMING_BUCKETS_S: readonly number[] = [
  ...linear(0.25, 0.25, 2),
  ...linear(1, 1, 59),
  ...linear(60, 5, 12),
  ...linear(120, 30, 7),
];

function linear(start: number, width: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start + i * width);
}

export class ProgrammingLatency {
  private readonly perNode: Histogram[];
  /** Observations per bucket: index i holds those in (bound i-1, bound i], the last one past every bound. */
  private readonly inBucket: number[] = new Array<number>(NETWORK_PROGRAMMING_BUCKETS_S.length + 1).fill(0);
  private count = 0;

  constructor(nodes: number) {
    this.perNode = Array.from({ length: nodes }, () => new Histogram());
  }

  record(node: number, ns: number): void {
    this.perNode[node]!.record(ns);
    this.count++;
    this.inBucket[firstBucketHolding(ns / SECOND)]!++;
  }

  /** Columns: NaN for the per-node view when no node observed anything. */
  figures(): Record<string, number> {
    const p99s = this.perNode.filter((h) => h.count > 0).map((h) => h.percentile(0.99)).sort((a, b) => a - b);
    const m: Record<string, number> = {
      'networkProgrammingLatency.nodeP99.max': p99s.length ? p99s[p99s.length - 1]! : NaN,
      'networkProgrammingLatency.nodeP99.p50': p99s.length ? p99s[Math.floor((p99s.length - 1) / 2)]! : NaN,
    };
    // Prometheus buckets are cumulative: le_b counts every observation <= b.
    let le = 0;
    NETWORK_PROGRAMMING_BUCKETS_S.forEach((b, i) => (m[`networkProgrammingLatency.bucket.le_${b}`] = le += this.inBucket[i]!));
    m['networkProgrammingLatency.bucket.le_+Inf'] = this.count;
    return m;
  }
}

/** The first bucket whose bound is >= s (the bucket count when s is past every bound). */
function firstBucketHolding(s: number): number {
  const bounds = NETWORK_PROGRAMMING_BUCKETS_S;
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (s <= bounds[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
