/**
 * The zones of a run's cluster: each node's topology.kubernetes.io/zone label and allocatable CPU,
 * where client traffic comes from and where each synthetic Service's pods run. Absent from a run's
 * config when the study names no zones: then every node is alike and the run is what it was.
 */
export interface ClusterZones {
  /** topology.kubernetes.io/zone of each node, by node index ("" when a manifest node has none). */
  nodeZones: readonly string[];
  /** Allocatable CPU of each node, in millicores (status.allocatable.cpu). */
  nodeCpuMilli: readonly number[];
  /**
   * Share of the client traffic from each node, by node index (sums to 1): open loop, the source
   * node of a connection is drawn with these weights; closed loop, the clients are dealt out in
   * proportion. Undefined: the source nodes alike (traffic.sourceNodes), as without zones.
   */
  clientWeights?: readonly number[];
  /**
   * Share of each synthetic Service's pods per zone, by zone order of `names` (sums to 1): by default
   * in proportion to the zones' nodes, so each Service is spread over the zones as kube-scheduler's
   * default topology spread constraints aim for (pkg/scheduler/apis/config/v1 defaults.go: zone and
   * hostname spread, ScheduleAnyway). Undefined (manifest clusters): the pods are where they are.
   */
  endpointShares?: readonly number[];
  /** The zone names in the order the study gives them. */
  names: readonly string[];
}

/** One zone as a study describes it (cluster.zones[]), resolved. */
export interface ZoneSpec {
  name: string;
  nodes: number;
  cpusPerNode: number;
  /** Relative weights; undefined: by node count (clients) or even over nodes (endpoints). */
  clients?: number;
  endpoints?: number;
}

/**
 * Nodes numbered zone by zone, in the order of `zones` (zone a's nodes first). Client weights: a
 * zone's share split evenly over its nodes; zones without a `clients` weight share what the others
 * leave, by node count. Endpoint shares likewise, by zone.
 */
export function clusterZones(zones: readonly ZoneSpec[]): ClusterZones {
  const nodeZones: string[] = [];
  const nodeCpuMilli: number[] = [];
  for (const z of zones) {
    for (let i = 0; i < z.nodes; i++) {
      nodeZones.push(z.name);
      nodeCpuMilli.push(z.cpusPerNode * 1000);
    }
  }
  const out: ClusterZones = { nodeZones, nodeCpuMilli, names: zones.map((z) => z.name) };
  const clientShares = shares(zones.map((z) => z.clients), zones.map((z) => z.nodes));
  if (clientShares) out.clientWeights = zones.flatMap((z, i) => Array.from({ length: z.nodes }, () => clientShares[i]! / z.nodes));
  const nodes = zones.map((z) => z.nodes);
  const total = nodes.reduce((a, b) => a + b, 0);
  out.endpointShares = shares(zones.map((z) => z.endpoints), nodes) ?? nodes.map((n) => n / total);
  return out;
}

/**
 * Weights given for some zones made into shares summing to 1; zones without one share the rest
 * (1 - the given sum, or nothing when the given sum reaches 1) in proportion to `fallback`.
 * Undefined when no zone gives a weight.
 */
function shares(given: readonly (number | undefined)[], fallback: readonly number[]): number[] | undefined {
  if (given.every((g) => g === undefined)) return undefined;
  const sum = given.reduce<number>((a, g) => a + (g ?? 0), 0);
  const rest = Math.max(0, 1 - sum);
  const fallbackSum = given.reduce<number>((a, g, i) => a + (g === undefined ? fallback[i]! : 0), 0);
  const raw = given.map((g, i) => g ?? (fallbackSum > 0 ? (rest * fallback[i]!) / fallbackSum : 0));
  const total = raw.reduce((a, b) => a + b, 0);
  return raw.map((r) => r / total);
}

/**
 * The node of Service `s`'s `e`th pod of `count` when pods are placed by zone shares: the zone whose
 * cumulative share holds (e + 0.5) / count (so the pods of a Service follow the shares as closely as
 * whole pods can), turned by s / services, then round robin over that zone's nodes with the per-zone
 * counter `next` (kept across Services, so the nodes of a zone take turns). The turn matters when a
 * Service has fewer pods than zones or the shares do not divide evenly: the scheduler breaks ties
 * between equally scored nodes at random (pkg/scheduler/schedule_one.go selectHost), so which zone
 * goes without a pod differs from Deployment to Deployment instead of always being the same one.
 */
export function nodeByZoneShare(z: ClusterZones, e: number, count: number, next: number[], s = 0, services = 1): number {
  const shares = z.endpointShares!;
  const u = ((e + 0.5) / count + s / services) % 1;
  let zone = 0;
  let acc = shares[0]!;
  while (u >= acc && zone < shares.length - 1) acc += shares[++zone]!;
  const nodes = nodesOfZone(z, z.names[zone]!);
  const k = next[zone] ?? 0;
  next[zone] = k + 1;
  return nodes[k % nodes.length]!;
}

/** Node indexes of zone `name`, in index order. */
export function nodesOfZone(z: ClusterZones, name: string): number[] {
  const out: number[] = [];
  z.nodeZones.forEach((n, i) => {
    if (n === name) out.push(i);
  });
  return out;
}

/**
 * Closed loop: client `i` of `clients` goes to the node whose cumulative weight holds (i + 0.5) /
 * clients, which deals the clients out in proportion with no random draw.
 */
export function nodeOfClient(weights: readonly number[], i: number, clients: number): number {
  const u = (i + 0.5) / clients;
  let acc = 0;
  for (let n = 0; n < weights.length; n++) {
    acc += weights[n]!;
    if (u < acc) return n;
  }
  return weights.length - 1;
}
