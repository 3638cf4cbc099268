import type { ModeModel } from '../proxy/cost/mode-model.ts';
import type { EndpointTimeline } from '../proxy/sync/endpoint-timeline.ts';
import type { FirstPacketPlane } from '../proxy/walk/first-packet-plane.ts';
import type { WalkHints } from '../proxy/walk/node-groups.ts';
import { rulesPlane } from '../proxy/walk/rules-plane.ts';
import { DEFAULT_CLUSTER_CIDR, DEFAULT_SERVICE_CIDR } from '../proxy/walk/walk-setup.ts';
import type { ModelConfig } from './config.ts';
import { servicePosition, type NodeEndpointView } from './traffic.ts';

/**
 * The run's side of scenario field `dataPlane`: with `rules`, the walking data plane the traffic
 * model hands its first packets to (sim/proxy/walk/rules-plane.ts), fed the run's endpoint timeline,
 * nodes and the same servicePosition the formula reads, so both tiers put a service port at the
 * same place in KUBE-SERVICES; null for the formula (the traffic model's default). With zones and
 * per-Service policies each node's proxier is given the node's zone, and the walk checks its
 * endpoints per node and Service against the run's own (`local`: NodeEndpoints or LocalEndpoints).
 */
export function walkingDataPlane(config: ModelConfig, mode: ModeModel, timeline: EndpointTimeline, nodeNames: readonly string[], local: NodeEndpointView | null = null): FirstPacketPlane | null {
  if (config.dataPlane !== 'rules') return null;
  return rulesPlane(mode, {
    timeline,
    nodeNames,
    costs: config.costs,
    iptablesBackend: config.proxy.iptablesBackend,
    internalLocal: config.cluster.trafficPolicy === 'Local',
    clusterCIDR: config.cluster.clusterCIDR ?? DEFAULT_CLUSTER_CIDR,
    serviceCIDR: config.cluster.serviceCIDR ?? DEFAULT_SERVICE_CIDR,
    order: servicePosition,
    ...(config.cluster.zones ? { nodeZones: config.cluster.zones.nodeZones } : {}),
    hints: walkHints(config),
    ...(local ? { runEndpoints: (node: number, service: number, version: number) => local.at(node, service, version) } : {}),
  });
}

/**
 * The hints the run's Services may carry: node hints with some trafficDistribution PreferSameNode
 * (sim/k8s/traffic-distribution-hints.ts: hints.forNodes), zone hints with topology-mode Auto or
 * another trafficDistribution, none otherwise.
 */
function walkHints(config: ModelConfig): WalkHints {
  const topologies = new Set((config.cluster.policies ?? []).map((p) => p.topology));
  if (topologies.has('PreferSameNode')) return 'node';
  topologies.delete('none');
  return topologies.size > 0 ? 'zone' : 'none';
}

/** dataPlane.walked: 1 when first packets walked rules, 0 when the mode kept its formula; no column without `dataPlane: rules`. */
export function dataPlaneFigures(plane: FirstPacketPlane | null): Record<string, number> {
  return plane ? { 'dataPlane.walked': plane.walked ? 1 : 0 } : {};
}
