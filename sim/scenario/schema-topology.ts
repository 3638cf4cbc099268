import { z } from 'zod';
import { issueText } from './issue-text.ts';
import { count, fraction } from './schema-fields.ts';

/**
 * Zones and per-Service policy mixes (docs/topology.md): `cluster.zones`, and the policy fields of
 * `cluster.services`. A policy field takes one value (every Service) or shares of the Services by
 * value, given in index order as the Service types are (schema-external.ts): `{ PreferClose: 0.5,
 * PreferSameNode: 0.25 }` gives the first half of the Services PreferClose, the next quarter
 * PreferSameNode, and the rest the default. Without any of these fields a run is what it was.
 */

/** A policy field: one value for every Service, or shares by value (the rest keep the default). */
function policyField<const V extends readonly [string, ...string[]]>(values: V, shareValues: readonly V[number][], description: string) {
  const shares = z
    .partialRecord(z.enum(shareValues as unknown as [V[number], ...V[number][]]), fraction('Share of the Services with this value.'))
    .superRefine((m, ctx) => {
      const sum = Object.values(m).reduce<number>((a, b) => a + ((b as number | undefined) ?? 0), 0);
      if (sum > 1 + 1e-12) ctx.addIssue({ code: 'custom', input: sum, message: issueText({ expected: 'shares adding up to at most 1 (the rest of the Services keep the default)' }) });
    });
  return z.union([z.enum(values), shares]).describe(description);
}

export const topologyServiceFields = {
  sessionAffinity: policyField(
    ['None', 'ClientIP'] as const,
    ['ClientIP'],
    'spec.sessionAffinity: None, ClientIP (every Service), or the share of the Services with ClientIP, e.g. { ClientIP: 0.25 }. ClientIP pins a client to one endpoint (iptables -m recent, nft sets, ipvs persistence) for sessionAffinityTimeout. Default None.',
  ).default('None'),
  trafficPolicy: policyField(
    ['Cluster', 'Local'] as const,
    ['Local'],
    "spec.internalTrafficPolicy: Cluster, Local (every Service), or the share with Local, e.g. { Local: 0.5 }. Local sends ClusterIP traffic only to endpoints on the client's node, and drops it on a node without one. Default Cluster.",
  ).default('Cluster'),
  trafficDistribution: policyField(
    ['none', 'PreferClose', 'PreferSameZone', 'PreferSameNode'] as const,
    ['PreferClose', 'PreferSameZone', 'PreferSameNode'],
    'spec.trafficDistribution: none (the field unset), PreferClose or PreferSameZone (hints for the endpoint\'s zone), PreferSameNode (for its node, then its zone); or shares of the Services by value, e.g. { PreferClose: 0.5 }. Without cluster.zones no node has a zone, so only PreferSameNode\'s node hints narrow anything. Default none.',
  ).default('none'),
  topologyMode: policyField(
    ['none', 'Auto'] as const,
    ['Auto'],
    'The annotation service.kubernetes.io/topology-mode: Auto (every Service), none (no annotation), or the share with Auto, e.g. { Auto: 0.5 }. The EndpointSlice controller then hints endpoints by zone in proportion to the zones\' CPU, or not at all (fewer endpoints than zones, overload). It wins over trafficDistribution. Without cluster.zones no node has a zone, so Auto never gives hints (insufficient node information). Default none.',
  ).default('none'),
};

const zoneSchema = z
  .strictObject({
    name: z.string().min(1).describe('The zone: the value of the nodes\' topology.kubernetes.io/zone label, e.g. us-east-1a.'),
    nodes: count('Nodes in this zone. Default: cluster.nodes less the nodes other zones name, shared evenly by the zones that name none.').optional(),
    cpusPerNode: count('CPU cores of each node here (its status.allocatable.cpu, what topology-mode Auto shares endpoints by). Default cluster.cpusPerNode.').optional(),
    clients: fraction('Share of the client traffic that comes from pods in this zone. Default: what the other zones leave, by node count (every node alike).').optional(),
    endpoints: fraction('Share of each Service\'s pods that run in this zone. Default: what the other zones leave, by node count (each Service spread over the zones in proportion to their nodes, as the scheduler\'s default topology spread aims for; the nodes of a zone take turns).').optional(),
  })
  .describe('One zone of the cluster.');

export const zonesField = z
  .array(zoneSchema)
  .min(1)
  .optional()
  .describe('Zones of a synthetic cluster, in order: node-0, node-1, ... are the first zone\'s, then the next zone\'s. Each node gets the zone as its topology.kubernetes.io/zone label. Absent: no zones (and connectSetup.zones, if set, places nodes round robin).');

export type ZoneInput = z.output<typeof zoneSchema>;

/** cluster.zones against cluster.nodes: unique names, nodes that add up, shares of at most 1. */
export function checkZones(c: { nodes: number; zones?: ZoneInput[] | undefined }, ctx: z.core.$RefinementCtx): void {
  const zones = c.zones;
  if (!zones) return;
  const issue = (path: (string | number)[], expected: string, found: string) => ctx.addIssue({ code: 'custom', path: ['zones', ...path], input: found, message: issueText({ expected }) });
  const seen = new Set<string>();
  zones.forEach((z, i) => {
    if (seen.has(z.name)) issue([i, 'name'], 'a zone name not used before', z.name);
    seen.add(z.name);
  });
  const named = zones.reduce((a, z) => a + (z.nodes ?? 0), 0);
  const unnamed = zones.filter((z) => z.nodes === undefined).length;
  if (unnamed === 0 && named !== c.nodes) issue([], `zones whose nodes add up to cluster.nodes (${c.nodes})`, `${named} nodes`);
  if (unnamed > 0 && c.nodes - named < unnamed) issue([], `at least one node for each zone without \`nodes\` (cluster.nodes ${c.nodes}, named ${named})`, `${c.nodes - named} left for ${unnamed} zones`);
  for (const key of ['clients', 'endpoints'] as const) {
    const given = zones.filter((z) => z[key] !== undefined);
    const sum = given.reduce((a, z) => a + z[key]!, 0);
    if (sum > 1 + 1e-9 || (given.length === zones.length && Math.abs(sum - 1) > 1e-9))
      issue([], `zones' ${key} shares adding up to 1 (or less, when some zone leaves its share out)`, String(sum));
  }
}

/** Nodes per zone: as given, the rest of cluster.nodes shared evenly (the first zones get one more). */
export function zoneNodeCounts(nodes: number, zones: readonly ZoneInput[]): number[] {
  const named = zones.reduce((a, z) => a + (z.nodes ?? 0), 0);
  const unnamed = zones.filter((z) => z.nodes === undefined).length;
  let k = 0;
  return zones.map((z) => {
    if (z.nodes !== undefined) return z.nodes;
    const rest = nodes - named;
    return Math.floor(rest / unnamed) + (k++ < rest % unnamed ? 1 : 0);
  });
}

/** traffic.requestBytes / responseBytes: the bytes model of crossZone.bytes. */
export const trafficBytesFields = {
  requestBytes: count('Payload bytes of one request, for crossZone.bytes (runs with zones). Default 1024 (assumption: a small API call).').optional(),
  responseBytes: count('Payload bytes of one response, for crossZone.bytes (runs with zones). Default 4096 (assumption).').optional(),
};
