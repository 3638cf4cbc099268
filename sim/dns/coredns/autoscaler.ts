/**
 * The dns-autoscaler's linear mode: the replica count cluster-proportional-autoscaler gives the
 * CoreDNS Deployment from the cluster's size.
 *
 * kubernetes-sigs/cluster-proportional-autoscaler pkg/autoscaler/controller/linearcontroller/
 * linear_controller.go (getExpectedReplicasFromParams, getExpectedReplicasFromParam, parseParams):
 * each of cores and nodes gives ceil(resources / perReplica), clamped to [min, max] (max 0: no
 * upper bound; a perReplica of 0 gives 1); preventSinglePointFailure raises the node-based count to
 * 2 when there is more than one node, after the clamp, so it can exceed max; the larger of the two
 * counts wins. min 0 is read as 1.
 */
export interface LinearParams {
  coresPerReplica: number;
  nodesPerReplica: number;
  min: number;
  /** 0: no upper bound. */
  max: number;
  preventSinglePointFailure: boolean;
  /** Count every node and core, not only the schedulable ones. */
  includeUnschedulableNodes: boolean;
}

/**
 * The parameters kubernetes ships for the dns-autoscaler (kubernetes/kubernetes
 * cluster/addons/dns-horizontal-autoscaler/dns-horizontal-autoscaler.yaml, `--default-params`).
 */
export const DNS_AUTOSCALER_DEFAULTS: LinearParams = {
  coresPerReplica: 256,
  nodesPerReplica: 16,
  min: 1,
  max: 0,
  preventSinglePointFailure: true,
  includeUnschedulableNodes: true,
};

export interface ClusterSize {
  schedulableNodes: number;
  schedulableCores: number;
  totalNodes: number;
  totalCores: number;
}

/** The replicas the linear controller asks for. */
export function linearReplicas(params: LinearParams, size: ClusterSize): number {
  const nodes = params.includeUnschedulableNodes ? size.totalNodes : size.schedulableNodes;
  const cores = params.includeUnschedulableNodes ? size.totalCores : size.schedulableCores;
  const min = params.min === 0 ? 1 : params.min;
  const fromCores = fromParam(cores, params.coresPerReplica, min, params.max);
  let fromNodes = fromParam(nodes, params.nodesPerReplica, min, params.max);
  if (params.preventSinglePointFailure && nodes > 1 && fromNodes < 2) fromNodes = 2;
  return Math.max(fromCores, fromNodes);
}

function fromParam(resources: number, perReplica: number, min: number, max: number): number {
  if (perReplica === 0) return 1;
  let n = Math.ceil(resources / perReplica);
  if (max !== 0) n = Math.min(max, n);
  return Math.max(min, n);
}
