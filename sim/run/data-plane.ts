import type { ModeModel } from '../proxy/cost/mode-model.ts';
import type { EndpointTimeline } from '../proxy/sync/endpoint-timeline.ts';
import type { FirstPacketPlane } from '../proxy/walk/first-packet-plane.ts';
import { rulesPlane } from '../proxy/walk/rules-plane.ts';
import { DEFAULT_CLUSTER_CIDR, DEFAULT_SERVICE_CIDR } from '../proxy/walk/walk-setup.ts';
import type { ModelConfig } from './config.ts';
import { servicePosition } from './traffic.ts';

/**
 * The run's side of scenario field `dataPlane`: with `rules`, the walking data plane the traffic
 * model hands its first packets to (sim/proxy/walk/rules-plane.ts), fed the run's endpoint timeline,
 * nodes and the same servicePosition the formula reads, so both tiers put a service port at the
 * same place in KUBE-SERVICES; null for the formula (the traffic model's default).
 */
export function walkingDataPlane(config: ModelConfig, mode: ModeModel, timeline: EndpointTimeline, nodeNames: readonly string[]): FirstPacketPlane | null {
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
  });
}

/** dataPlane.walked: 1 when first packets walked rules, 0 when the mode kept its formula; no column without `dataPlane: rules`. */
export function dataPlaneFigures(plane: FirstPacketPlane | null): Record<string, number> {
  return plane ? { 'dataPlane.walked': plane.walked ? 1 : 0 } : {};
}
