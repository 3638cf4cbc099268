import type { ClusterManifests } from '../k8s/manifests.ts';
import { LABEL_TOPOLOGY_ZONE } from '../k8s/pod-endpoint.ts';
import type { Endpoint } from '../proxy/endpoint.ts';
import type { ServicePort } from '../proxy/service-port.ts';
import type { TopologyPolicy } from './service-policy.ts';
import { hintsEnabled } from '../k8s/topology-hints-reconcile.ts';
import { cpuMilli } from '../k8s/cpu-quantity.ts';

export interface ManifestTopology {
  /** Ports differ in affinity or internalTrafficPolicy, or some Service has topology hints or a topology policy. */
  perService: boolean;
  /** Per port: its Service's topology policy. */
  topology: TopologyPolicy[];
  /** When some node is labelled with a zone: each node's zone ("" without a label) and allocatable CPU (0 without). */
  nodeZones?: string[];
  nodeCpuMilli?: number[];
}

/**
 * What a manifest cluster says of zones and per-Service policy: the nodes' topology.kubernetes.io/zone
 * labels and status.allocatable.cpu (as manifest-live.ts reads them for live clusters), each Service's
 * topology-mode annotation (hintsEnabled: Auto or auto, the deprecated topology-aware-hints winning;
 * kubernetes/endpointslice utils.go) and spec.trafficDistribution, and whether the ports differ in policy.
 */
export function manifestTopology(m: ClusterManifests, ports: readonly ServicePort[], endpoints: readonly Endpoint[][], nodeNames: readonly string[]): ManifestTopology {
  const policyOf = new Map<string, TopologyPolicy>();
  for (const svc of m.services) {
    const td = svc.spec.trafficDistribution;
    const policy: TopologyPolicy = hintsEnabled(svc.metadata.annotations) ? 'Auto' : td === 'PreferClose' || td === 'PreferSameZone' || td === 'PreferSameNode' ? td : 'none';
    policyOf.set(`${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`, policy);
  }
  const topology = ports.map((sp) => policyOf.get(`${sp.portName.namespace}/${sp.portName.name}`) ?? 'none');
  const first = ports[0]!;
  const differ = ports.some((sp) => sp.sessionAffinity !== first.sessionAffinity || sp.stickyMaxAgeSeconds !== first.stickyMaxAgeSeconds || sp.internalPolicyLocal !== first.internalPolicyLocal);
  const hinted = endpoints.some((list) => list.some((e) => e.zoneHints.size > 0 || e.nodeHints.size > 0));
  const byName = new Map(m.nodes.map((n) => [n.metadata.name!, n]));
  const zones = nodeNames.map((n) => byName.get(n)?.metadata.labels?.[LABEL_TOPOLOGY_ZONE] ?? '');
  const out: ManifestTopology = { perService: differ || hinted || topology.some((t) => t !== 'none'), topology };
  if (zones.some((z) => z !== '')) {
    out.nodeZones = zones;
    // status.allocatable.cpu as a resource quantity; 0 when absent or not one.
    out.nodeCpuMilli = nodeNames.map((n) => {
      const q = byName.get(n)?.status?.allocatable?.cpu;
      return q === undefined ? 0 : (cpuMilli(q) ?? 0);
    });
  }
  return out;
}
