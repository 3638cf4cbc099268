import type { Simulator } from '../engine/simulator.ts';
import type { RandomStream } from '../engine/random.ts';
import { sampleNs, type Distribution } from '../engine/distribution.ts';
import { Histogram, bucketIndex, bucketLowerBound } from '../engine/stats/histogram.ts';
import { sampleQuantileFunction, type QuantileFunction } from '../cost/connect-latency.ts';
import { DEFAULT_CONNECT_KERNEL } from '../cost/connect-latency-default.ts';

/**
 * connectSetupLatency: a TCP connection's setup as a client measures it, connect() to its
 * completion, and as kube-proxy's own performance work measures it (conntrack's first sight of the
 * SYN to SEEN_REPLY: the KubeCon NA 2024 talk "From Observability to Performance", the source of
 * https://kubernetes.io/blog/2025/02/28/nftables-kube-proxy/). Per successful TCP connection it is
 *
 *   kernel (client stack, same-node round trip, server accept: drawn from the distribution fitted
 *           to this host's measurement, sim/cost/connect-latency.ts)
 * + rule walk (the cost tier's first-packet cost: the firstPacketLatency of the same connection)
 * + network round trip beyond the node, by placement of client and endpoint: same node (nothing
 *   more: the measured kernel part already crosses the node's veths), same zone, other zone.
 *
 * firstPacketLatency stays the data-plane cost alone. The draws come from two streams of their own
 * (`latency/kernel`, `latency/network`), so no other figure of a run moves, and no event is added.
 */
export interface ConnectSetupConfig {
  /** Zones the nodes are spread over, round robin by node index (topology.kubernetes.io/zone). */
  zones: number;
  /** The cluster's zone of each node (cluster.zones or manifest labels), which then replaces the round robin. */
  nodeZones?: readonly string[];
  roundTrip: { sameNode: Distribution; sameZone: Distribution; otherZone: Distribution };
  kernel: QuantileFunction;
}

export type Placement = 'sameNode' | 'sameZone' | 'otherZone';
export const PLACEMENTS: readonly Placement[] = ['sameNode', 'sameZone', 'otherZone'];

/**
 * Defaults of the round trips beyond the node (docs/research/latency-references.md):
 * - same zone: ping RTT between EC2 instances in one availability zone, average 0.26 ms, at most
 *   0.556 ms over 10 pings (https://orensol.com/2009/05/24/network-latency-inside-and-across-amazon-ec2-availability-zones/);
 * - other zone: the same source's cross-zone average of 0.94-1.13 ms (us-east-1), with the worst
 *   best-of-50 pair of any AWS region at 3.37 ms (https://xkyle.com/Measuring-AWS-Region-and-AZ-Latency)
 *   as its p99.
 */
export const DEFAULT_CONNECT_SETUP: ConnectSetupConfig = {
  zones: 1,
  roundTrip: {
    sameNode: { kind: 'constant', value: 0 },
    sameZone: { kind: 'lognormal', median: 260_000, p99: 556_000 },
    otherZone: { kind: 'lognormal', median: 1_030_000, p99: 3_370_000 },
  },
  kernel: DEFAULT_CONNECT_KERNEL,
};

/** The percentiles a run reports, with the rule walk's part of each. */
export const CONNECT_SETUP_PERCENTILES = [0.5, 0.9, 0.99] as const;

/** Bounds of the histogram columns, in µs (`connectSetupLatency.bucket.le_<µs>`, cumulative, and `le_+Inf`). */
export const CONNECT_SETUP_BUCKETS_US: readonly number[] = [50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000];

/** Histogram buckets either side of a percentile's whose connections give the rule walk's part (about ±2.3%). */
const WALK_WINDOW = 3;

export function connectSetupMetricNames(): string[] {
  return [
    'connectSetupLatency.mean',
    ...CONNECT_SETUP_PERCENTILES.map((q) => `connectSetupLatency.p${Math.round(q * 100)}`),
    'connectSetupLatency.max',
    ...CONNECT_SETUP_PERCENTILES.map((q) => `connectSetupLatency.ruleWalk.p${Math.round(q * 100)}`),
    ...PLACEMENTS.map((p) => `connectSetupLatency.placement.${p}`),
    ...CONNECT_SETUP_BUCKETS_US.map((b) => `connectSetupLatency.bucket.le_${b}`),
    'connectSetupLatency.bucket.le_+Inf',
  ];
}

export class ConnectSetup {
  private readonly kernelRng: RandomStream;
  private readonly networkRng: RandomStream;
  private readonly histogram = new Histogram();
  /** Sum of the rule walk (ns) of the connections in each histogram bucket, by bucket index. */
  private readonly walkSum = new Map<number, number>();
  private readonly placements: Record<Placement, number> = { sameNode: 0, sameZone: 0, otherZone: 0 };
  private readonly nodeIndex: Map<string, number>;

  constructor(
    sim: Simulator,
    private readonly config: ConnectSetupConfig,
    nodeNames: readonly string[],
  ) {
    this.kernelRng = sim.rng('latency/kernel');
    this.networkRng = sim.rng('latency/network');
    this.nodeIndex = new Map(nodeNames.map((n, i) => [n, i]));
  }

  /** Where the endpoint runs relative to the client's node. An endpoint on a node not in the run counts as another zone's when there are zones. */
  placement(clientNode: number, endpointNode: string): Placement {
    const n = this.nodeIndex.get(endpointNode);
    if (n === clientNode) return 'sameNode';
    const named = this.config.nodeZones;
    if (named) return n !== undefined && named[n] === named[clientNode] ? 'sameZone' : 'otherZone';
    const zones = this.config.zones;
    if (zones <= 1) return 'sameZone';
    return n !== undefined && n % zones === clientNode % zones ? 'sameZone' : 'otherZone';
  }

  /** One measured connection whose SYN walked the rules at a cost of `walkNs`. */
  record(clientNode: number, endpointNode: string, walkNs: number): void {
    const where = this.placement(clientNode, endpointNode);
    this.placements[where]++;
    const kernel = sampleQuantileFunction(this.config.kernel, this.kernelRng);
    const network = sampleNs(this.config.roundTrip[where], this.networkRng);
    const total = kernel + walkNs + network;
    this.histogram.record(total);
    const b = bucketIndex(total);
    this.walkSum.set(b, (this.walkSum.get(b) ?? 0) + walkNs);
  }

  figures(): Record<string, number> {
    const h = this.histogram;
    const m: Record<string, number> = { 'connectSetupLatency.mean': h.count ? h.mean : NaN };
    for (const q of CONNECT_SETUP_PERCENTILES) m[`connectSetupLatency.p${Math.round(q * 100)}`] = h.percentile(q);
    m['connectSetupLatency.max'] = h.count ? h.max : NaN;
    for (const q of CONNECT_SETUP_PERCENTILES) m[`connectSetupLatency.ruleWalk.p${Math.round(q * 100)}`] = this.walkAt(q);
    for (const p of PLACEMENTS) m[`connectSetupLatency.placement.${p}`] = this.placements[p];
    let seen = 0;
    let bound = 0;
    const counts = h.bucketCounts();
    const limits = CONNECT_SETUP_BUCKETS_US.map((b) => b * 1000);
    for (const [i, b] of CONNECT_SETUP_BUCKETS_US.entries()) {
      for (; bound < counts.length && bucketUpper(bound) <= limits[i]!; bound++) seen += counts[bound]!;
      m[`connectSetupLatency.bucket.le_${b}`] = seen;
    }
    m['connectSetupLatency.bucket.le_+Inf'] = h.count;
    return m;
  }

  /** The mean rule walk of the connections whose setup latency is within a few buckets of the q-percentile. */
  private walkAt(q: number): number {
    if (this.histogram.count === 0) return NaN;
    const at = bucketIndex(this.histogram.percentile(q));
    let sum = 0;
    let n = 0;
    for (let b = at - WALK_WINDOW; b <= at + WALK_WINDOW; b++) {
      sum += this.walkSum.get(b) ?? 0;
      n += this.histogram.countAt(b);
    }
    return n ? sum / n : NaN;
  }
}

/** Upper edge of histogram bucket b, ns: a bucket counts below a bound when its whole width does (bounds are within 0.8% of a bucket edge). */
function bucketUpper(b: number): number {
  return bucketLowerBound(b + 1);
}
